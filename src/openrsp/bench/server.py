"""The real SM-DP+ for the benchmark: `openrsp smdp serve` in its own process, on a free port.

The configuration is a TOML file (as an operator would write it) in the run's data folder. The
log level is `warning`, so uvicorn writes no access-log line per request, except in the run with the
shipped defaults (`shipped`), which sets nothing but the address, the folders and the workers.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from openrsp.bench.https import Connection, Endpoint, HttpError, client_context
from openrsp.errors import OpenRSPError
from openrsp.pki.layout import PkiIndex
from openrsp.smdp.config import SmdpConfig, load_config


class ServerError(OpenRSPError):
    """The SM-DP+ did not start, or stopped."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openrsp_command() -> list[str]:
    """The installed `openrsp` next to this interpreter, else `python -m openrsp.cli.main`."""
    script = Path(sys.executable).parent / "openrsp"
    if script.exists():
        return [str(script)]
    found = shutil.which("openrsp")
    return [found] if found else [sys.executable, "-m", "openrsp.cli.main"]


def write_config(
    data_dir: Path,
    pki_dir: Path,
    *,
    port: int,
    workers: int = 1,
    db_url: str | None = None,
    shipped: bool = False,
) -> Path:
    """The TOML of a benchmark server. `shipped`: the shipped defaults (log level info, the default
    front), only the address, folders and workers set; otherwise log level warning."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        f'data_dir = "{data_dir}"',
        f'credentials = "{pki_dir}"',
        'host = "127.0.0.1"',
        f"port = {port}",
        f"workers = {workers}",
    ]
    if not shipped:
        lines.append('log_level = "warning"')
    if db_url:
        lines.append(f'db_url = "{db_url}"')
    path = data_dir / "smdp.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def endpoint_for(pki_dir: Path, port: int, *, client_cert: tuple[str, str] | None = None) -> Endpoint:
    """How a device reaches the SM-DP+: 127.0.0.1, with the SM-DP+ host name for TLS."""
    index = PkiIndex.read(pki_dir)
    ca = str(pki_dir / index.data["tls_curve"] / "ci.cert.pem")
    return Endpoint("127.0.0.1", port, index.data["smdp_host"], client_context(ca, client_cert=client_cert))


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    config: SmdpConfig
    endpoint: Endpoint
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def _healthy(endpoint: Endpoint) -> bool:
    connection = Connection(endpoint)
    try:
        response = await connection.request("GET", "/openrsp/health")
        return response.status == 200
    except (OSError, HttpError, asyncio.IncompleteReadError):
        return False
    finally:
        await connection.close()


def wait_healthy(
    endpoint: Endpoint, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the SM-DP+ exited ({process.returncode}):\n{log.read_text()[-2000:]}")
        if asyncio.run(_healthy(endpoint)):
            return
        time.sleep(0.1)
    raise ServerError(f"the SM-DP+ did not answer within {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def start_server(
    data_dir: Path,
    pki_dir: Path,
    *,
    workers: int = 1,
    db_url: str | None = None,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
    shipped: bool = False,
) -> RunningServer:
    """Start `openrsp smdp serve --config` (or `command` + `--config FILE`); return once it answers."""
    port = free_port()
    config_file = write_config(data_dir, pki_dir, port=port, workers=workers, db_url=db_url, shipped=shipped)
    log = data_dir / f"serve-{port}.log"
    argv = [*(command or [*openrsp_command(), "smdp", "serve"]), "--config", str(config_file)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env={**os.environ, **(env or {})}
        )
    endpoint = endpoint_for(pki_dir, port)
    try:
        wait_healthy(endpoint, process, log)
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        raise
    return RunningServer(process, load_config(config_file), endpoint, log)
