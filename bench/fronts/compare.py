"""Evaluation only: server CPU per complete download (P-256, 1 worker, 8 devices, SQLite, a new
eUICC and TLS connection per download) with each front, interleaved and repeated.

    .venv/bin/python bench/fronts/compare.py [--downloads 300] [--repeat 3] [--curve nist]

Every process under the server counts (HAProxy included); one line of JSON per run, then the
median per front. Needs `haproxy` (Debian) and `granian` (PyPI) installed for those two fronts.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from openrsp.bench.downloads import DownloadConfig, run_config
from openrsp.bench.fleet import build_fleet
from openrsp.bench.runner import DEFAULT_PACKAGE, bench_pki, default_data_dir, shared_dir
from openrsp.bench.stock import PackageTemplate

HERE = Path(__file__).resolve().parent
FRONTS = {
    "uvicorn": None,  # `openrsp smdp serve` as it is
    "haproxy": (sys.executable, str(HERE / "haproxy_front.py")),
    "granian": (sys.executable, str(HERE / "granian_front.py")),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--downloads", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--curve", default="nist", choices=("nist", "brp"))
    parser.add_argument("--front", action="append", choices=tuple(FRONTS))
    parser.add_argument("--data-dir", type=Path, default=default_data_dir() / "fronts")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    pki = bench_pki(args.data_dir)
    template = PackageTemplate.load(shared_dir() / "profiles" / "ts48" / DEFAULT_PACKAGE)
    warmup = 16
    fleet = build_fleet(pki, args.curve, args.downloads + warmup)
    fronts = args.front or list(FRONTS)
    results: dict[str, list[float]] = {name: [] for name in fronts}
    for repeat in range(args.repeat):
        for index, name in enumerate(fronts):
            command = FRONTS[name]
            config = DownloadConfig(
                args.curve, 1, 8, 60.0, args.downloads, warmup, front=name, command=command
            )
            run = run_config(
                config,
                pki_dir=pki,
                work_dir=args.data_dir / "work",
                template=template,
                fleet=fleet,
                block=500 + 10 * repeat + index,
            )
            keys = ("front", "curve", "downloads", "failures", "server_cpu_ms_per_download")
            row = {key: run[key] for key in keys} | {"by_process": run["server_cpu_ms_by_process"]}
            print(json.dumps(row), flush=True)
            results[name].append(run["server_cpu_ms_per_download"])
    for name, values in results.items():
        print(f"{name}: median {statistics.median(values):.2f} ms of server CPU per download ({values})")


if __name__ == "__main__":
    main()
