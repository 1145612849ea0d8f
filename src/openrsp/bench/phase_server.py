"""`python -m openrsp.bench.phase_server --snapshot FILE --config smdp.toml`: the SM-DP+ with phase timers.

The same server as `openrsp smdp serve` (same configuration, application, uvicorn protocol and
TLS context), in one process, with openrsp.bench.phases installed. SIGUSR1 writes the CPU
seconds by phase so far to the snapshot file.
"""

from __future__ import annotations

import argparse
import signal
from dataclasses import replace
from pathlib import Path

import sqlalchemy.orm  # noqa: F401  (the timers wrap ORM classes: load them first)

import openrsp.smdp.http.app  # noqa: F401  (and every module the ES9+ path imports)
from openrsp.bench.phases import PhaseTimers, install, write_snapshot
from openrsp.smdp.config import load_config
from openrsp.smdp.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--snapshot", required=True, help="where SIGUSR1 writes the phase totals (JSON)")
    parser.add_argument("--config", required=True, help="SM-DP+ configuration (TOML)")
    args = parser.parse_args(argv)
    timers = PhaseTimers()
    install(timers)
    signal.signal(signal.SIGUSR1, lambda *_: write_snapshot(timers, args.snapshot))
    config = load_config(Path(args.config))
    serve(replace(config, workers=1))  # the timers live in this process: no worker processes


if __name__ == "__main__":
    main()
