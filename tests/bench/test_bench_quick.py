"""`openrsp bench --quick`: the benchmark runs end to end and reports numbers in its JSON contract.

Speed is not asserted (the machine may be busy): only that every measurement produced numbers,
and that the JSON has the keys the issue names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from openrsp.bench.report import targets

OPENRSP = Path(sys.executable).parent / "openrsp"

FUNCTIONS = ("initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification")
RUN_KEYS = {
    "curve",
    "workers",
    "concurrency",
    "downloads",
    "downloads_per_second",
    "server_cpu_ms_per_download",
    "latency_ms",
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    work = tmp_path_factory.mktemp("bench")
    command = [
        str(OPENRSP),
        "bench",
        "--quick",
        "--no-postgres",
        "--data-dir",
        str(work / "data"),
        "--json",
        str(work / "bench.json"),
        "--plot",
        str(work / "bench.png"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    return json.loads((work / "bench.json").read_text()), work, result.stdout


def test_every_download_run_has_the_contract_keys_and_numbers(quick):
    document, _, _ = quick
    runs = document["runs"]
    assert {(r["curve"], r["concurrency"]) for r in runs} >= {("nist", 1), ("brp", 1)}
    for run in runs:
        assert set(run) >= RUN_KEYS
        assert run["downloads"] > 0 and run["failures"] == 0
        assert run["downloads_per_second"] > 0 and run["server_cpu_ms_per_download"] > 0
        for function in FUNCTIONS:
            latency = run["latency_ms"][function]
            assert 0 < latency["p50"] <= latency["p99"]
        # every server-side process is counted, and the parts add up to the total
        by_process = run["server_cpu_ms_by_process"]
        assert by_process and sum(by_process.values()) == pytest.approx(
            run["server_cpu_ms_per_download"], abs=0.01
        )


def test_serve_with_its_shipped_defaults_is_measured_against_the_target(quick):
    document, _, _ = quick
    [shipped] = [run for run in document["runs"] if run["shipped_defaults"]]
    assert (shipped["curve"], shipped["workers"], shipped["front"]) == ("nist", 1, "openrsp smdp serve")
    assert shipped["downloads"] > 0 and shipped["failures"] == 0
    [target] = [t for t in document["targets"] if "serve as shipped" in t["target"]]
    assert target["goal"] == 2.5 and target["measured"] == shipped["server_cpu_ms_per_download"]


def test_each_curve_is_compared_with_its_crypto_floor(quick):
    document, _, stdout = quick
    floor = document["crypto_floor"]
    # brainpoolP256r1 has no fast OpenSSL implementation: its floor is the higher one
    assert 0 < floor["nist"]["floor_ms"] < floor["brp"]["floor_ms"]
    for curve in ("nist", "brp"):
        assert floor[curve]["floor_ms"] == pytest.approx(
            floor[curve]["per_download_ms"] + floor[curve]["tls_handshake_ms"], abs=0.002
        )
    [brp] = [t for t in document["targets"] if "brainpoolP256r1" in t["target"]]
    assert brp["goal"] == pytest.approx(floor["brp"]["floor_ms"] + 2.0 - floor["nist"]["floor_ms"], abs=0.002)
    assert "crypto floor, brp" in stdout


def test_the_cpu_targets_are_judged_at_eight_devices():
    """The issue's CPU targets are for 8 devices: the figure reported against each is the best
    8-device run of its curve, even when another concurrency measured less."""

    def run(curve: str, devices: int, cpu: float, shipped: bool = False) -> dict:
        return {
            "curve": curve,
            "concurrency": devices,
            "workers": 1,
            "server_cpu_ms_per_download": cpu,
            "downloads_per_second": 100.0,
            "shipped_defaults": shipped,
        }

    document = {
        "runs": [
            run("nist", 1, 4.0),
            run("nist", 8, 3.5),
            run("nist", 64, 3.1),
            run("nist", 8, 3.6, shipped=True),
            run("brp", 8, 5.3),
            run("brp", 64, 4.4),
        ],
        "crypto_floor": {"nist": {"floor_ms": 0.5}, "brp": {"floor_ms": 2.2}},
    }
    found = {t["target"]: t["measured"] for t in targets(document)}
    assert found["server CPU per download, P-256 (ms)"] == 3.5
    assert found["server CPU per download, brainpoolP256r1 (ms)"] == 5.3
    assert found["server CPU per download, P-256, serve as shipped (ms)"] == 3.6


def test_the_other_measurements_produce_numbers(quick):
    document, _, _ = quick
    for split in document["phases"]:
        phases = split["phases_ms_per_download"]
        assert {"tls", "json", "asn1", "signatures", "bpp_build"} <= set(phases)
        assert split["server_cpu_ms_per_download"] > 0 and phases["signatures"] > 0
    for row in document["euicc_bpp"]:
        assert row["profile_segments"] > 0 and row["total_ms"] > 0 and row["profile_segment_ms_mean"] > 0
    assert document["generation"]["profiles_per_second"] > 0
    [orders] = document["download_order"]
    assert orders["database"] == "sqlite" and orders["by_profile_type_ms"]["p99"] > 0
    assert document["cancel_session"]["latency_ms"]["p50"] > 0
    assert {t["target"].split(",")[0] for t in document["targets"]} >= {"complete downloads per second"}


def test_a_table_is_printed_and_a_png_plot_is_drawn(quick):
    _, work, stdout = quick
    assert "downloads" in stdout and "Targets" in stdout
    assert (work / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_section_is_a_clear_error(cli):
    result = cli("bench", "--section", "nonsense")
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown section nonsense")
