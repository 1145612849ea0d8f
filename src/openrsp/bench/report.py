"""The benchmark's outputs: a table on the terminal, the JSON document, the PNG plot, the targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from openrsp.bench.loadgen import FUNCTIONS

SHORT = {
    "initiateAuthentication": "initAuth",
    "authenticateClient": "authClient",
    "getBoundProfilePackage": "getBPP",
    "handleNotification": "notif",
    "download": "download",
}

# The targets on the 2-core machine.
TARGET_CPU_MS = 2.0  # server CPU per complete download, P-256 (issue 16)
TARGET_RATE = 500.0  # complete downloads per second
TARGET_DEVICES = 8  # the CPU targets are for 8 devices at once (issue 16)
TARGET_ORDER_P99_MS = 10.0  # downloadOrder p99 with 1 M profiles


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def download_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="SM-DP+ complete downloads (HTTPS, a new eUICC and TLS connection per download)")
    names = ("curve", "workers", "devices", "downloads", "dl/s", "server CPU ms/dl", "client CPU ms/dl")
    for name in (*names, "server-bound dl/s"):
        table.add_column(name, justify="right")
    for run in runs:
        table.add_row(
            run["curve"] + (" (serve as shipped)" if run.get("shipped_defaults") else ""),
            str(run["workers"]),
            str(run["concurrency"]),
            f"{run['downloads']}" + (f" ({run['failures']} failed)" if run.get("failures") else ""),
            f"{run['downloads_per_second']:.1f}",
            _ms(run["server_cpu_ms_per_download"]),
            _ms(run.get("client_cpu_ms_per_download")),
            f"{run['server_bound_downloads_per_second']:.0f}"
            if run.get("server_bound_downloads_per_second")
            else "-",
        )
    return table


def latency_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Latency seen by the devices, p50 / p99 (ms)")
    for name in ("curve", "workers", "devices"):
        table.add_column(name, justify="right")
    for name in (*FUNCTIONS, "download"):
        table.add_column(SHORT[name], justify="right")
    for run in runs:
        latency = run["latency_ms"]
        table.add_row(
            run["curve"],
            str(run["workers"]),
            str(run["concurrency"]),
            *(f"{_ms(latency[n]['p50'])} / {_ms(latency[n]['p99'])}" for n in (*FUNCTIONS, "download")),
        )
    return table


def phase_table(splits: list[dict[str, Any]]) -> Table:
    table = Table(title="Server CPU per download by phase (ms; timed server, one process)")
    table.add_column("curve")
    table.add_column("total", justify="right")
    names = list(splits[0]["phases_ms_per_download"]) if splits else []
    for name in names:
        table.add_column(name, justify="right")
    for split in splits:
        phases = split["phases_ms_per_download"]
        table.add_row(
            split["curve"], _ms(split["server_cpu_ms_per_download"]), *(_ms(phases[n]) for n in names)
        )
    return table


def euicc_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Virtual eUICC: LoadBoundProfilePackage per TS.48 package (ms)")
    for name in (
        "package",
        "bytes",
        "pieces",
        "86 segments",
        "total",
        "BF23 (ISC)",
        "86 mean",
        "last 86 + install",
    ):
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(
            row["package"].removesuffix(".der"),
            str(row["package_bytes"]),
            str(row["pieces"]),
            str(row["profile_segments"]),
            _ms(row["total_ms"]),
            _ms(row["initialise_secure_channel_ms"]),
            _ms(row["profile_segment_ms_mean"]),
            _ms(row["last_segment_and_install_ms"]),
        )
    return table


def generation_table(result: dict[str, Any]) -> Table:
    table = Table(title="Profile generation from a subscriber CSV")
    for name in (
        "subscribers",
        "database",
        "profiles/s",
        "seconds",
        "read CSV s",
        "build packages s",
        "seal + store s",
    ):
        table.add_column(name, justify="right")
    phases = result["phases_seconds"]
    table.add_row(
        str(result["subscribers"]),
        result["database"],
        f"{result['profiles_per_second']:.0f}",
        f"{result['seconds']:.1f}",
        f"{phases['read_csv']:.2f}",
        f"{phases['build_packages']:.2f}",
        f"{phases['seal_and_store']:.2f}",
    )
    return table


def orders_table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="ES2+ downloadOrder over HTTPS (ms)")
    for name in ("database", "inventory", "by type p50", "by type p99", "by ICCID p50", "by ICCID p99"):
        table.add_column(name, justify="right")
    for result in results:
        table.add_row(
            result["database"],
            f"{result['inventory']:,}",
            _ms(result["by_profile_type_ms"]["p50"]),
            _ms(result["by_profile_type_ms"]["p99"]),
            _ms(result["by_iccid_ms"]["p50"]),
            _ms(result["by_iccid_ms"]["p99"]),
        )
    return table


def targets(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, the best measured value and whether it is met (and by how much not)."""
    found = []
    # The CPU targets are judged at the 8 devices (the best worker count), not at whichever
    # concurrency happened to cost least.
    measured = [
        r
        for r in document.get("runs", [])
        if r["server_cpu_ms_per_download"] and r.get("concurrency") == TARGET_DEVICES
    ]
    nist = [r for r in measured if r["curve"] == "nist" and not r.get("shipped_defaults")]
    if nist:
        best_cpu = min(r["server_cpu_ms_per_download"] for r in nist)
        found.append(
            _target("server CPU per download, P-256 (ms)", best_cpu, TARGET_CPU_MS, lower_is_better=True)
        )
    shipped = [r["server_cpu_ms_per_download"] for r in measured if r.get("shipped_defaults")]
    if shipped:  # `openrsp smdp serve` as shipped: within 25 % of the target
        found.append(
            _target(
                "server CPU per download, P-256, serve as shipped (ms)",
                min(shipped),
                round(TARGET_CPU_MS * 1.25, 3),
                lower_is_better=True,
            )
        )
    floor = document.get("crypto_floor") or {}
    brp = [r for r in measured if r["curve"] == "brp"]
    if brp and "brp" in floor and "nist" in floor:
        # brainpoolP256r1 relative to its crypto floor: the same allowance above the floor as P-256
        goal = floor["brp"]["floor_ms"] + TARGET_CPU_MS - floor["nist"]["floor_ms"]
        best = min(r["server_cpu_ms_per_download"] for r in brp)
        found.append(
            _target(
                "server CPU per download, brainpoolP256r1 (ms)", best, round(goal, 3), lower_is_better=True
            )
        )
    runs = document.get("runs", [])
    if runs:
        best_rate = max(r["downloads_per_second"] for r in runs)
        found.append(_target("complete downloads per second", best_rate, TARGET_RATE, lower_is_better=False))
    for result in document.get("download_order", []):
        worst = max(result["by_profile_type_ms"]["p99"] or 0, result["by_iccid_ms"]["p99"] or 0)
        name = f"downloadOrder p99, {result['database']}, {result['inventory']:,} profiles (ms)"
        found.append(_target(name, worst, TARGET_ORDER_P99_MS, lower_is_better=True))
    return found


def _target(name: str, measured: float, goal: float, *, lower_is_better: bool) -> dict[str, Any]:
    met = measured <= goal if lower_is_better else measured >= goal
    factor = (measured / goal) if lower_is_better else (goal / measured if measured else float("inf"))
    return {
        "target": name,
        "goal": goal,
        "measured": round(measured, 3),
        "met": met,
        "off_by_factor": round(factor, 2),
    }


def targets_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Targets (2-core machine)")
    for name in ("target", "goal", "measured", ""):
        table.add_column(name, justify="right")
    for row in rows:
        verdict = "met" if row["met"] else f"missed ({row['off_by_factor']}×)"
        table.add_row(row["target"], f"{row['goal']:g}", f"{row['measured']:g}", verdict)
    return table


def print_report(document: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(width=max(Console().width, 132))
    host = document.get("machine", {})
    if host:
        commit = host.get("sqlite_commit_ms") or {}
        console.print(
            f"{host.get('cpus')} CPUs, Python {host.get('python')}, {host.get('openssl')}, "
            f"HTTP parser {host.get('http_parser')}, SQLite commit p50/p99 {commit.get('p50')}/{commit.get('p99')} ms, "
            f"load average {host.get('load_average_at_start')} → {host.get('load_average_at_end')}"
        )
    if document.get("runs"):
        console.print(download_table(document["runs"]))
        console.print(latency_table(document["runs"]))
    for curve, floor in (document.get("crypto_floor") or {}).items():
        console.print(
            f"crypto floor, {curve}: {_ms(floor['floor_ms'])} ms per download "
            f"(SGP.22 signatures, verifications, ECKA {_ms(floor['per_download_ms'])} ms; "
            f"one TLS handshake {_ms(floor['tls_handshake_ms'])} ms)"
        )
    cancel = document.get("cancel_session")
    if cancel:
        latency = cancel["latency_ms"]
        console.print(
            f"cancelSession (after initiateAuthentication + authenticateClient, reason postponed): "
            f"p50 {_ms(latency['p50'])} ms, p99 {_ms(latency['p99'])} ms over {latency['n']} sessions"
        )
    if document.get("phases"):
        console.print(phase_table(document["phases"]))
    if document.get("euicc_bpp"):
        console.print(euicc_table(document["euicc_bpp"]))
    if document.get("generation"):
        console.print(generation_table(document["generation"]))
    if document.get("download_order"):
        console.print(orders_table(document["download_order"]))
    for note in document.get("notes", []):
        console.print(f"note: {note}")
    if document.get("targets"):
        console.print(targets_table(document["targets"]))


def write_json(document: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def write_plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Throughput and p99 of a complete download against concurrent devices, per curve × workers."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rate_axes, p99_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    series: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for run in runs:
        if not run.get("shipped_defaults"):  # one extra point of the same curve: left out here
            series.setdefault((run["curve"], run["workers"]), []).append(run)
    for (curve, workers), points in sorted(series.items()):
        points.sort(key=lambda r: r["concurrency"])
        label = f"{'P-256' if curve == 'nist' else 'brainpoolP256r1'}, {workers} worker{'s' if workers > 1 else ''}"
        style = dict(
            linestyle="-" if curve == "nist" else "--",
            marker="o" if workers == 1 else "s",
            color=("tab:blue", "tab:cyan")[workers > 1]
            if curve == "nist"
            else ("tab:red", "tab:orange")[workers > 1],
            label=label,
        )
        x = [r["concurrency"] for r in points]
        rate_axes.plot(x, [r["downloads_per_second"] for r in points], **style)
        p99_axes.plot(x, [r["latency_ms"]["download"]["p99"] for r in points], **style)
    levels = sorted({r["concurrency"] for r in runs})
    for axes, title, unit in (
        (rate_axes, "Complete downloads per second", "downloads/s"),
        (p99_axes, "p99 of a complete download", "ms"),
    ):
        axes.set_xscale("log", base=2)
        axes.set_xticks(levels, [str(level) for level in levels])
        axes.set_xlabel("concurrent devices")
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    rate_axes.set_ylim(bottom=0)
    p99_axes.set_yscale("log")
    p99_axes.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    p99_axes.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    p99_axes.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    figure.suptitle("openrsp SM-DP+ (4 ES9+ calls per download, HTTPS, real crypto both sides)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
