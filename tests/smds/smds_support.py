"""Helpers for the SM-DS tests: `openrsp smds serve` in its own process, ES12 calls, CLI runs."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from openrsp.rspserver.es12_client import SmdsClient, SmdsTarget, ssl_context

OPENRSP = Path(sys.executable).parent / "openrsp"
HEADERS = {"X-Admin-Protocol": "gsma/rsp/v2.2.0", "Content-Type": "application/json"}


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`openrsp ARGS...` as a user runs it."""
    return subprocess.run(
        [str(OPENRSP), *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Smds:
    """`openrsp smds serve` on 127.0.0.1 (the test PKI's DS TLS certificate names that address)."""

    pki: Path
    data: Path
    port: int = field(default_factory=free_port)
    extra: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.address}"

    @property
    def log(self) -> Path:
        return self.data.parent / f"smds-{self.port}.log"

    def start(self, timeout: float = 60) -> Smds:
        self.data.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(OPENRSP), "smds", "serve", "--data", str(self.data), "--credentials", str(self.pki),
                 "--port", str(self.port), "--address", self.address, *self.extra],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"openrsp smds serve exited:\n{self.log.read_text()}")
            try:
                with httpx.Client(verify=self.trust(), timeout=5) as http:
                    if http.get(f"{self.url}/openrsp/health").status_code == 200:
                        return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"openrsp smds serve did not answer:\n{self.log.read_text()}")

    def stop(self) -> None:
        """SIGKILL, as when the machine dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self.process = None

    def trust(self, client: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "nist" / "ci.cert.pem"))
        if client is not None:
            context.load_cert_chain(str(client[0]), str(client[1]))
        return context

    def post(
        self, path: str, body: dict[str, Any], client: tuple[Path, Path] | None = None
    ) -> dict[str, Any]:
        """One raw JSON call (to check framing and status codes); the answer's JSON."""
        with httpx.Client(verify=self.trust(client), timeout=30) as http:
            return http.post(f"{self.url}{path}", json=body, headers=HEADERS).json()

    def es12(self, chain: Path, key: Path) -> tuple[SmdsClient, SmdsTarget]:
        """An ES12 client presenting `chain`/`key`, aimed at this SM-DS."""
        return SmdsClient(ssl_context(chain, key, [self.pki / "nist" / "ci.cert.pem"])), SmdsTarget(
            self.address
        )

    def events(self) -> list[dict[str, Any]]:
        import json

        result = run("smds", "events", "list", "--data", str(self.data), "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


def codes(answer: dict[str, Any]) -> tuple[str, str]:
    status = answer["header"]["functionExecutionStatus"]
    assert status["status"] == "Failed", status
    return status["statusCodeData"]["subjectCode"], status["statusCodeData"]["reasonCode"]


def executed(answer: dict[str, Any]) -> bool:
    return answer["header"]["functionExecutionStatus"]["status"] == "Executed-Success"


def wait_for(condition, timeout: float = 60, what: str = "condition") -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")
