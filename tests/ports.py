"""Ports for servers the tests start as separate processes.

Binding port 0, closing and handing the number to a child races under `pytest -n auto`: another
worker's child (or the kernel, for an outgoing connection) may take it first. Each xdist worker
therefore draws from its own block below the kernel's ephemeral range, and skips ports in use.
"""

from __future__ import annotations

import itertools
import os
import socket

_BLOCK = 500
_FIRST = 20000  # below Linux's ephemeral range (32768-60999), so outgoing connections never take them


def _worker_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = name.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


_start = _FIRST + (_worker_index() % 24) * _BLOCK
_candidates = itertools.cycle(range(_start, _start + _BLOCK))


def free_port() -> int:
    """A port on 127.0.0.1 that no other test worker hands out and that is free right now."""
    for _ in range(_BLOCK):
        port = next(_candidates)
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port left in this worker's block")
