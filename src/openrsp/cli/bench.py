"""`openrsp bench`: measured speed of the SM-DP+, the virtual eUICC and profile generation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openrsp.errors import InputError


def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="A small version of every measurement (< 1 min).")
    ] = False,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON here [DATA_DIR/results/…].")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="Draw throughput and p99 against concurrency (PNG) [DATA_DIR/results/…]."
        ),
    ] = None,
    section: Annotated[
        list[str] | None,
        typer.Option(
            "--section", help="Run only these: downloads, phases, euicc, generation, orders (repeatable)."
        ),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(help="Seconds of measured load per download configuration.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Keeps the test PKI and the large inventories [~/.cache/openrsp/bench]."
        ),
    ] = None,
    pg_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL server for the downloadOrder test (a database is created on it)."),
    ] = None,
    no_postgres: Annotated[
        bool, typer.Option("--no-postgres", help="Measure downloadOrder on SQLite only.")
    ] = False,
    download_db: Annotated[
        list[str] | None,
        typer.Option(
            "--download-db", help="Database of the download runs: sqlite, postgresql (repeatable) [sqlite]."
        ),
    ] = None,
) -> None:
    """Measure complete downloads per second and server CPU per download, the eUICC's time per BPP
    segment, profile generation and downloadOrder with a million profiles; print, and save JSON and a plot."""
    from openrsp.extras import require

    require("matplotlib", "bench", "openrsp bench")  # the plots
    require("psycopg", "bench", "openrsp bench")  # downloadOrder on PostgreSQL
    from openrsp.bench.report import print_report, write_json, write_plot
    from openrsp.bench.runner import (
        PG_ADMIN_URL,
        SECTIONS,
        Bench,
        Plan,
        default_data_dir,
        log_to_stderr,
        shared_dir,
    )

    chosen = tuple(section or SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        raise InputError(f"unknown section {', '.join(unknown)} (use {', '.join(SECTIONS)})")
    if plot is not None and plot.suffix.lower() != ".png":
        raise InputError("--plot writes a PNG: give a file name ending in .png")
    if duration is not None and duration <= 0:
        raise InputError("--duration must be more than 0 seconds")
    changes: dict[str, object] = {"duration": duration} if duration is not None else {}
    if no_postgres:
        changes["postgres"] = False
    if download_db:
        wrong = [name for name in download_db if name not in ("sqlite", "postgresql")]
        if wrong:
            raise InputError(f"--download-db: {', '.join(wrong)}? (use sqlite or postgresql)")
        changes["download_databases"] = tuple(dict.fromkeys(download_db))
    plan = Plan.small(**changes) if quick else Plan.full(**changes)
    ts48 = shared_dir() / "profiles" / "ts48"
    if not ts48.is_dir():
        raise InputError(f"TS.48 packages not found in {ts48} (set OPENRSP_SHARED to the shared folder)")
    folder = data_dir or default_data_dir()
    runner = Bench(plan, data_dir=folder, ts48_dir=ts48, pg_url=pg_url or PG_ADMIN_URL, log=log_to_stderr)
    document = runner.run(chosen)
    print_report(document)
    # Without --json / --plot (`make bench`), both go next to the other results in the data folder.
    stem = folder / "results" / f"{'quick' if quick else 'full'}-{document['started_at'].replace(':', '')}"
    json_file = json_file or stem.with_suffix(".json")
    write_json(document, json_file)
    typer.echo(f"JSON written to {json_file}")
    if document["runs"]:
        plot = plot or stem.with_suffix(".png")
        write_plot(document["runs"], plot)
        typer.echo(f"plot written to {plot}")
