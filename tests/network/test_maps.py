"""The MAPS policy point on real loopback sockets: the SM-DP+ is reachable, nothing else is."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from openrsp.network.events import EventLog
from openrsp.network.maps import MapsPolicy, MapsProxy

SMDP_NAME = "smdp.openrsp.test"


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A TCP server standing in for the SM-DP+: echoes what it gets, upper-cased."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture
def maps(echo_server: int) -> Iterator[MapsProxy]:
    proxy = MapsProxy(
        MapsPolicy([(SMDP_NAME, echo_server)]), resolve={SMDP_NAME: "127.0.0.1"}, events=EventLog()
    )
    with proxy:
        yield proxy


def _request(maps: MapsProxy, head: str) -> tuple[socket.socket, bytes]:
    assert maps.address is not None
    sock = socket.create_connection(maps.address, timeout=5)
    sock.sendall(head.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return sock, answer


def test_connect_to_the_smdp_is_tunnelled(maps: MapsProxy, echo_server: int) -> None:
    sock, answer = _request(maps, f"CONNECT {SMDP_NAME}:{echo_server} HTTP/1.1\r\nHost: x\r\n\r\n")
    with sock:
        assert answer.startswith(b"HTTP/1.1 200")
        sock.sendall(b"initiateAuthentication")
        assert sock.recv(4096) == b"INITIATEAUTHENTICATION"
    allowed = maps.events.of("maps", "connect-allowed")
    assert allowed and allowed[0].fields["target"] == f"{SMDP_NAME}:{echo_server}"


def test_another_host_is_refused_with_a_reason(maps: MapsProxy) -> None:
    sock, answer = _request(maps, "CONNECT www.example.com:443 HTTP/1.1\r\n\r\n")
    sock.close()
    assert answer.startswith(b"HTTP/1.1 403")
    assert b"X-MAPS-Reason: not the SM-DP+" in answer
    refused = maps.events.of("maps", "connect-refused")[-1]
    assert refused.fields["target"] == "www.example.com:443"
    assert "only the SM-DP+" in refused.fields["reason"]


def test_another_port_of_the_smdp_host_is_refused(maps: MapsProxy) -> None:
    sock, answer = _request(maps, f"CONNECT {SMDP_NAME}:22 HTTP/1.1\r\n\r\n")
    sock.close()
    assert answer.startswith(b"HTTP/1.1 403")
    assert "port 22" in maps.events.of("maps", "connect-refused")[-1].fields["reason"]


def test_plain_http_through_the_proxy_is_refused(maps: MapsProxy, echo_server: int) -> None:
    with httpx.Client(proxy=maps.url) as client:
        response = client.get(f"http://{SMDP_NAME}:{echo_server}/")
    assert response.status_code == 403
    assert "only CONNECT" in response.headers["X-MAPS-Reason"]


def test_an_https_client_sees_the_refusal(maps: MapsProxy) -> None:
    with httpx.Client(proxy=maps.url) as client, pytest.raises(httpx.ProxyError, match="403"):
        client.get("https://operator-portal.example:443/")
    assert maps.events.of("maps", "connect-refused")[-1].fields["target"] == "operator-portal.example:443"


def test_policy_decisions() -> None:
    policy = MapsPolicy([("SMDP.example", 443)])
    assert policy.decide("CONNECT", "smdp.example:443").allowed
    assert not policy.decide("CONNECT", "smdp.example").allowed
    assert not policy.decide("GET", "http://smdp.example:443/").allowed
    assert not policy.decide("CONNECT", "[::1]:443").allowed
