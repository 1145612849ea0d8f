"""The SM-DP+ as the demo runs it: `openrsp smdp serve` in a subprocess, HTTPS on a free loopback port."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from openrsp.errors import OpenRSPError

# Runs the same `openrsp` entry point with this interpreter, whether or not the script is on PATH.
OPENRSP_COMMAND = [sys.executable, "-c", "from openrsp.cli.main import run; run()"]
START_TIMEOUT = 30.0


class SmdpStartError(OpenRSPError):
    """`openrsp smdp serve` did not come up."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SmdpProcess:
    process: subprocess.Popen[bytes]
    host: str  # the name in its TLS certificate
    port: int
    log: Path

    @property
    def address(self) -> str:
        """The SM-DP+ address as activation codes carry it."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_smdp(
    credentials: Path,
    data_dir: Path,
    host: str,
    trust: ssl.SSLContext,
    *,
    log_dir: Path,
    lpa_ca: Path | None = None,
) -> SmdpProcess:
    """Start the server and return once /openrsp/health answers over verified TLS. With `lpa_ca`,
    ES9+ requires LPA TLS client certificates from that CA (mutual TLS)."""
    last_log = ""
    for _ in range(3):  # the port may be taken between the probe and the bind: try another one
        port = free_port()
        log = log_dir / "smdp-serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    *OPENRSP_COMMAND,
                    "smdp",
                    "serve",
                    "--data",
                    str(data_dir),
                    "--credentials",
                    str(credentials),
                    "--address",
                    f"{host}:{port}",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    *(["--lpa-ca", str(lpa_ca)] if lpa_ca else []),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        server = SmdpProcess(process, host, port, log)
        if _wait_healthy(server, trust):
            return server
        server.stop()
        last_log = log.read_text(errors="replace")
        if "address already in use" not in last_log.lower():
            break
    tail = "\n".join(last_log.strip().splitlines()[-5:])
    raise SmdpStartError(f"openrsp smdp serve did not start:\n{tail}")


def _wait_healthy(server: SmdpProcess, trust: ssl.SSLContext) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(verify=trust, timeout=5) as http:
        while time.monotonic() < deadline and server.process.poll() is None:
            try:
                answer = http.get(f"{server.url}/openrsp/health", extensions={"sni_hostname": server.host})
                if answer.status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    return False
