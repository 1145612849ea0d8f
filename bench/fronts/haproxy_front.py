"""Evaluation only (docs/benchmarks.md, "Native fronts"): `openrsp smdp serve` behind HAProxy.

    python bench/fronts/haproxy_front.py --config smdp.toml

HAProxy (Debian package `haproxy`) terminates TLS on the SM-DP+'s address, verifies client
certificates against the same CAs as `smdp serve` (optional, verified when sent) and forwards each
request over a Unix socket in a private (0700) folder to uvicorn serving the same ASGI app. It passes
the verified client certificate (DER, base64), the client's address and the connection count at
accept time in headers it sets itself after deleting any a client sent; `proxied_app` puts them
where the app expects them (the ASGI "tls" extension, `scope["client"]`, the 503 of
max_connections).

Not shipped: it measured no cheaper than uvicorn's own TLS on the 2-core machine (HAProxy's
OpenSSL 3.0 handshake costs as much as the Python TLS path it saves), and several of the
`[limits]` behaviours come out different through a proxy (HAProxy answers 400 instead of 431 past
its buffer, 502 instead of a silent close when the app's body timeout fires, drops the app's
`Connection: close`, the SIGTERM bound): 9 of the 13 cases of tests/smdp/test_server_limits.py
fail through it.
"""

from __future__ import annotations

import base64
import ctypes
import functools
import logging
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openrsp.rspserver.limits import Limits
from openrsp.smdp.config import ENV_CONFIG, SmdpConfig
from openrsp.smdp.errors import ConfigError

_log = logging.getLogger("openrsp.smdp.http")

CERT_HEADER = b"x-openrsp-client-cert"
PEER_HEADER = b"x-openrsp-peer"
CONNS_HEADER = b"x-openrsp-connections"
_OURS = (CERT_HEADER, PEER_HEADER, CONNS_HEADER)


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise ConfigError('front = "haproxy" needs HAProxy installed (Debian: apt-get install haproxy)')
    return found


def haproxy_config(
    *,
    host: str,
    port: int,
    pem_file: Path,
    ca_file: Path | None,
    socket_path: Path,
    limits: Limits,
) -> str:
    """The HAProxy configuration of one SM-DP+ front (no logging: the app logs what matters)."""
    # Room for a head of max_header_bytes in one buffer; the app behind answers 431 past the limit.
    bufsize = max(16384, limits.max_header_bytes + 4096)
    verify = f" ca-file {ca_file} verify optional" if ca_file else ""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"""\
global
    maxconn {2 * limits.max_connections + 256}
    nbthread 1
    tune.bufsize {bufsize}
    hard-stop-after {_ms(limits.shutdown_timeout_seconds)}

defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client {_ms(limits.body_timeout_seconds)}
    timeout server 120s
    timeout http-request {_ms(limits.header_timeout_seconds)}
    timeout http-keep-alive {_ms(limits.keep_alive_timeout_seconds)}
    timeout client-fin 1s

frontend smdp
    bind {bind} ssl crt {pem_file}{verify} alpn http/1.1 ssl-min-ver TLSv1.2
    tcp-request session set-var(sess.connections) fe_conn
    http-request del-header {CERT_HEADER.decode()}
    http-request del-header {PEER_HEADER.decode()}
    http-request del-header {CONNS_HEADER.decode()}
    http-request set-header {CERT_HEADER.decode()} %[ssl_c_der,base64] if {{ ssl_c_used }}
    http-request set-header {PEER_HEADER.decode()} %[src]:%[src_port]
    http-request set-header {CONNS_HEADER.decode()} %[var(sess.connections)]
    default_backend app

backend app
    http-reuse always
    server app {socket_path} maxconn {limits.max_connections + 64}
"""


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


class HaproxyFront:
    """A private folder (socket, combined PEM, CA bundle, config) and the HAProxy process."""

    def __init__(
        self,
        config: SmdpConfig,
        *,
        chain_file: str,
        key_file: str,
        client_ca_files: Sequence[str],
    ) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="openrsp-front-"))  # 0700: only us
        self.socket_path = self.folder / "app.sock"
        pem = self.folder / "server.pem"
        _write_private(pem, Path(chain_file).read_bytes().rstrip() + b"\n" + Path(key_file).read_bytes())
        ca_file = None
        if client_ca_files:
            ca_file = self.folder / "client-cas.pem"
            _write_private(
                ca_file, b"\n".join(Path(p).read_bytes().rstrip() for p in client_ca_files) + b"\n"
            )
        self.config_file = self.folder / "haproxy.cfg"
        _write_private(
            self.config_file,
            haproxy_config(
                host=config.host,
                port=config.port,
                pem_file=pem,
                ca_file=ca_file,
                socket_path=self.socket_path,
                limits=config.limits,
            ).encode(),
        )
        self.binary = haproxy_binary()
        self.process: subprocess.Popen[bytes] | None = None

    def check(self) -> None:
        result = subprocess.run(
            [self.binary, "-c", "-q", "-f", str(self.config_file)], capture_output=True, check=False
        )
        if result.returncode != 0:
            raise ConfigError(f"HAProxy refused its configuration: {result.stderr.decode()[-1000:]}")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-db", "-f", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # a killed `smdp serve` leaves no proxy holding its port
        )

    def stop(self, timeout: float) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)  # soft stop: finish what is in flight
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# -- the app side ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _pem_of(b64: bytes) -> str:
    return ssl.DER_cert_to_PEM_cert(base64.b64decode(b64, validate=True))


def proxied_app(app: Any, limits: Limits) -> Any:
    """The app, with what HAProxy passed in its headers put where the Python front puts it."""
    from openrsp.rspserver.protocol import _busy, _refusals

    async def with_front_headers(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        cert = peer = connections = None
        headers = []
        for name, value in scope["headers"]:
            if name in _OURS:
                if name == CERT_HEADER:
                    cert = value
                elif name == PEER_HEADER:
                    peer = value
                else:
                    connections = value
            else:
                headers.append((name, value))
        scope["headers"] = headers
        if peer is not None:
            host, _, port = peer.decode("latin-1").rpartition(":")
            scope["client"] = (host, int(port) if port.isdigit() else 0)
        chain = [_pem_of(cert)] if cert else []
        scope.setdefault("extensions", {})["tls"] = {
            "server_cert": None,
            "client_cert_chain": chain,
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": None,
            "cipher_suite": None,
        }
        if connections is not None and connections.isdigit() and int(connections) > limits.max_connections:
            client = scope.get("client")
            _refusals.warning(
                "503: %d connections open (max_connections); refusing %s",
                int(connections) - 1,
                f"{client[0]}:{client[1]}" if client else "a client",
            )
            await _busy(scope, receive, send)
            return
        await app(scope, receive, send)

    return with_front_headers


def main() -> None:
    import sys
    from dataclasses import replace

    import uvicorn

    from openrsp.rspserver.protocol import limited_protocol
    from openrsp.smdp.config import load_config
    from openrsp.smdp.http.app import create_app_from_env
    from openrsp.smdp.server import prepare

    config, ssl_factory = prepare(load_config(Path(sys.argv[sys.argv.index("--config") + 1])))
    os.environ[ENV_CONFIG] = config.to_json()
    limits = config.limits
    front = HaproxyFront(
        config,
        chain_file=ssl_factory.keywords["chain_file"],
        key_file=ssl_factory.keywords["key_file"],
        client_ca_files=ssl_factory.keywords["client_ca_files"],
    )
    try:
        front.check()
        front.start()
        uvicorn.run(
            proxied_app(create_app_from_env(), limits),
            uds=str(front.socket_path),
            # HAProxy enforces the client's timeouts; the app's own fire later, as a backstop
            http=limited_protocol(
                replace(
                    limits,
                    header_timeout_seconds=limits.header_timeout_seconds + 5,
                    body_timeout_seconds=limits.body_timeout_seconds + 5,
                )
            ),
            timeout_keep_alive=limits.keep_alive_timeout_seconds + 60,  # type: ignore[arg-type]
            timeout_graceful_shutdown=limits.shutdown_timeout_seconds,  # type: ignore[arg-type]
            log_level=config.log_level,
            lifespan="on",
            server_header=False,
        )
    finally:
        front.stop(limits.shutdown_timeout_seconds)


if __name__ == "__main__":
    main()
