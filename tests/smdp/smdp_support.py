"""Helpers for the SM-DP+ tests: PostgreSQL databases, a real `openrsp smdp serve`, client certificates."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ports import free_port

OPENRSP = Path(sys.executable).parent / "openrsp"
PG_ADMIN_URL = os.environ.get("OPENRSP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SMDP_HOST = "smdp.openrsp.test"  # what `openrsp pki init` puts in the SM-DP+ TLS certificate


# -- PostgreSQL --------------------------------------------------------------------------------------


def create_database(prefix: str = "openrsp_smdp") -> str:
    """A new, empty database with a unique name; its psycopg URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_tables(url: str) -> None:
    """Delete every row of every SM-DP+ table (the schema stays: migrating again costs time)."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        tables = [t for t in tables if t != "alembic_version"]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


# -- a clock tests can move ------------------------------------------------------------------------


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# -- certificates ------------------------------------------------------------------------------------


def issue_client_cert(ca_cert: Path, ca_key: Path, common_name: str, out_dir: Path) -> tuple[Path, Path]:
    """A TLS client certificate for `common_name`, issued by the given CA; (cert.pem, key.pem)."""
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    ca_private = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_private, hashes.SHA256())  # type: ignore[arg-type]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / f"{common_name}.cert.pem", out_dir / f"{common_name}.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def self_signed_ca(out_dir: Path, common_name: str) -> tuple[Path, Path]:
    """A CA nobody configured: its certificates must be refused."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / "ca.cert.pem", out_dir / "ca.key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


# -- the real server ---------------------------------------------------------------------------------


def tls_context(pki_dir: Path, client: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """Trusts the SM-DP+ TLS certificate of the test PKI; presents `client` when given."""
    context = ssl.create_default_context(cafile=str(pki_dir / "nist" / "ci.cert.pem"))
    if client is not None:
        context.load_cert_chain(str(client[0]), str(client[1]))
    return context


@dataclass
class SmdpServer:
    process: subprocess.Popen[bytes]
    port: int
    pki_dir: Path
    data_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client(self, cert: tuple[Path, Path] | None = None) -> httpx.Client:
        """An httpx client for this server (checks its certificate; SNI = the SM-DP+ host name)."""
        return httpx.Client(base_url=self.url, verify=tls_context(self.pki_dir, cert), timeout=30)

    def post(self, path: str, *, cert: tuple[Path, Path] | None = None, **kwargs) -> httpx.Response:
        with self.client(cert) as http:
            return http.post(path, extensions={"sni_hostname": SMDP_HOST}, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(pki_dir: Path, data_dir: Path, *args: str, timeout: float = 30) -> SmdpServer:
    """`openrsp smdp serve` on a free port; returns once it answers over TLS."""
    for _ in range(3):  # the port may be taken between our probe and uvicorn's bind: try another
        port = free_port()
        log = data_dir.parent / f"serve-{port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(OPENRSP),
                    "smdp",
                    "serve",
                    "--data",
                    str(data_dir),
                    "--credentials",
                    str(pki_dir),
                    "--port",
                    str(port),
                    *args,
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        server = SmdpServer(process, port, pki_dir, data_dir, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with server.client() as http:
                    if http.get("/openrsp/health", extensions={"sni_hostname": SMDP_HOST}).status_code == 200:
                        return server
            except httpx.HTTPError:
                time.sleep(0.1)
        server.stop()
        if "address already in use" not in log.read_text().lower():
            raise AssertionError(f"openrsp smdp serve did not start:\n{log.read_text()}")
    raise AssertionError("openrsp smdp serve: no free port")


def es2_body(**fields) -> dict:
    return {
        "header": {"functionRequesterIdentifier": "test-operator", "functionCallIdentifier": "1"},
        **fields,
    }


ES_HEADERS = {"X-Admin-Protocol": "gsma/rsp/v2.2.0"}


def status_of(response: httpx.Response) -> dict:
    """header.functionExecutionStatus of an ES2+/ES9+ answer."""
    return response.json()["header"]["functionExecutionStatus"]


def codes_of(response: httpx.Response) -> tuple[str, str]:
    data = status_of(response)
    assert data["status"] == "Failed", data
    return data["statusCodeData"]["subjectCode"], data["statusCodeData"]["reasonCode"]


@dataclass
class Served:
    """A running SM-DP+ with profiles of two operators."""

    server: SmdpServer
    mine: list[str]  # ICCIDs of the default operator (the `pki init` operator certificate)
    theirs: list[str]  # ICCIDs of operator "opB"
    op_b: tuple[Path, Path]  # opB's client certificate and key
    db_url: str = ""  # the server's database, to look at what it stored


# -- the operator's progress endpoint ----------------------------------------------------------------


class CallbackServer:
    """The operator's callback endpoint: records bodies; answers 500 to the first `fail_first` calls,
    and waits for `hold` (when given) before answering anything."""

    def __init__(self, fail_first: int = 0, hold: threading.Event | None = None, port: int = 0) -> None:
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hold is not None:
                    hold.wait(30)
                if outer.fail_first > 0:
                    outer.fail_first -= 1
                    self.send_response(500)
                else:
                    outer.bodies.append(body)
                    outer.headers.append(dict(self.headers))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/gsma/rsp2/es2plus/handleDownloadProgressInfo"

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.bodies

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
