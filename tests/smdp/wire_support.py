"""A raw TLS client for `openrsp smdp serve`: bytes exactly as a test chooses them, slow or huge."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from smdp_support import SMDP_HOST, SmdpServer, tls_context

ES9_PATH = "/gsma/rsp2/es9plus/initiateAuthentication"
ES2_PATH = "/gsma/rsp2/es2plus/downloadOrder"


def connect(server: SmdpServer, cert: tuple[Path, Path] | None = None) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return tls_context(server.pki_dir, cert).wrap_socket(raw, server_hostname=SMDP_HOST)


def read_until_closed(sock: ssl.SSLSocket, within: float) -> bytes:
    """Everything the server sends until it closes; fails if it is still open after `within` s."""
    sock.settimeout(within)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for more than {within} s; got {data[:200]!r}")
    except (ConnectionResetError, ssl.SSLError):
        pass
    return data


def closed(sock: ssl.SSLSocket, received: bytearray | None = None) -> bool:
    """True when the server has closed the connection (without waiting for it); what it sent
    before (an answer such as 431) goes into `received`."""
    sock.setblocking(False)
    try:
        while chunk := sock.recv(65536):
            if received is not None:
                received += chunk
        return True
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except (ConnectionResetError, ssl.SSLError):
        return True
    finally:
        sock.setblocking(True)


def health_ok(server: SmdpServer) -> bool:
    with server.client() as http:
        return http.get("/openrsp/health", extensions={"sni_hostname": SMDP_HOST}).status_code == 200


def head(path: str, extra: str = "", method: str = "POST") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: {SMDP_HOST}\r\nContent-Type: application/json\r\n"
        f"X-Admin-Protocol: gsma/rsp/v2.2.0\r\n{extra}\r\n"
    ).encode()


def parse_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head_part, _, body = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body
