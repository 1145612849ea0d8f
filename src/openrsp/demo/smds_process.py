"""The SM-DS as the demo runs it: `openrsp smds serve` in a subprocess, HTTPS on a loopback port."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

from openrsp.demo.smdp_process import OPENRSP_COMMAND, SmdpProcess, _wait_healthy
from openrsp.errors import OpenRSPError


class SmdsStartError(OpenRSPError):
    """`openrsp smds serve` did not come up."""


def start_smds(
    credentials: Path, data_dir: Path, port: int, trust: ssl.SSLContext, *, log_dir: Path
) -> SmdpProcess:
    """Start the SM-DS on 127.0.0.1:`port` (its address; the demo's DS TLS certificate names 127.0.0.1)
    and return once /openrsp/health answers over verified TLS."""
    log = log_dir / "smds-serve.log"
    address = f"127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*OPENRSP_COMMAND, "smds", "serve", "--data", str(data_dir), "--credentials", str(credentials),
             "--address", address, "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    server = SmdpProcess(process, "127.0.0.1", port, log)  # the same shape: a served process on a port
    if _wait_healthy(server, trust):
        return server
    server.stop()
    tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-5:])
    raise SmdsStartError(f"openrsp smds serve did not start:\n{tail}")
