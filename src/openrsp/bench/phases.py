"""Where the SM-DP+'s CPU goes, by phase: timers around the functions of each phase, bench only.

`install()` wraps a chosen set of functions (TLS record and handshake work, JSON, ASN.1,
signatures and certificate checks, the bound-package build, sealing at rest, database calls) so
each call charges the CPU time of its thread (`time.thread_time_ns`) to its phase. Attribution is
exclusive: a signature made inside the package build is charged to signatures, not twice. The
ES9+ service call is timed as a whole too: what its inner phases do not claim is the ES9+ logic
itself. The rest of the process's CPU (HTTP parsing, routing, the event loop, thread hand-offs) is
what is left of the process total.

Nothing here is imported by the SM-DP+ itself: only the benchmark's own server launcher
(openrsp.bench.phase_server) installs the timers, so normal serving pays nothing for them.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

PHASES = ("tls", "json", "asn1", "signatures", "bpp_build", "sealing", "db", "es9_logic")

# (module, attribute path, phase). Functions are replaced in every module that imported them.
TARGETS: tuple[tuple[str, str, str], ...] = (
    # Outermost: the ES9+ service call; what its inner phases do not claim is ES9+ logic.
    ("openrsp.smdp.http.app", "SmdpApp._call_es9", "es9_logic"),
    ("ssl", "SSLObject.do_handshake", "tls"),
    ("ssl", "SSLObject.read", "tls"),
    ("ssl", "SSLObject.write", "tls"),
    ("ssl", "SSLObject.unwrap", "tls"),
    ("ssl", "SSLObject.getpeercert", "tls"),
    ("json", "loads", "json"),
    ("json", "dumps", "json"),
    ("openrsp.asn1.codec", "Codec.encode", "asn1"),
    ("openrsp.asn1.codec", "Codec.decode", "asn1"),
    ("openrsp.asn1.codec", "Codec.decode_with_length", "asn1"),
    ("openrsp.rspserver.messages", "parse_authenticate_server_response", "asn1"),
    ("openrsp.rspserver.messages", "parse_prepare_download_response", "asn1"),
    ("openrsp.rspserver.messages", "parse_pending_notification", "asn1"),
    ("openrsp.rspserver.messages", "parse_cancel_session_response", "asn1"),
    ("openrsp.crypto.ecdsa", "sign_plain", "signatures"),
    ("openrsp.crypto.ecdsa", "verify_plain", "signatures"),
    ("openrsp.rspserver.verify", "verify_euicc_chain", "signatures"),
    ("openrsp.rspserver.verify", "load_certificate", "signatures"),
    ("openrsp.es8.build", "build_bound_profile_package", "bpp_build"),
    ("openrsp.smdp.es9.binding", "new_binding", "bpp_build"),
    ("openrsp.rspserver.sealing", "Sealer.seal", "sealing"),
    ("openrsp.rspserver.sealing", "Sealer.open", "sealing"),
    ("sqlalchemy.orm.session", "Session.execute", "db"),
    ("sqlalchemy.orm.session", "Session.scalars", "db"),
    ("sqlalchemy.orm.session", "Session.scalar", "db"),
    ("sqlalchemy.orm.session", "Session.get", "db"),
    ("sqlalchemy.orm.session", "Session.flush", "db"),
    ("sqlalchemy.orm.session", "Session.commit", "db"),
    ("sqlalchemy.orm.session", "Session.rollback", "db"),
    ("sqlalchemy.orm.session", "Session.close", "db"),
    ("sqlalchemy.orm.session", "SessionTransaction.commit", "db"),
    ("sqlalchemy.orm.session", "SessionTransaction.rollback", "db"),
    ("sqlalchemy.orm.session", "SessionTransaction.close", "db"),
    ("sqlalchemy.orm.strategies", "_LazyLoader._load_for_state", "db"),
    ("sqlalchemy.engine.base", "Engine.connect", "db"),
    ("sqlalchemy.engine.base", "Engine.raw_connection", "db"),
    ("openrsp.smdp.db.transactions", "Cursor.execute", "db"),
    ("openrsp.smdp.db.transactions", "Cursor.rows", "db"),
    ("openrsp.smdp.db.transactions", "Transaction.__enter__", "db"),
    ("openrsp.smdp.db.transactions", "Transaction.__exit__", "db"),
    # A single SQLite worker's ES9+ transactions: the statements are the Cursor's (above); the WAL's
    # fsync runs in the loop writer's own thread (its CPU is counted there, not left to HTTP).
    ("openrsp.smdp.db.loop_writer", "LoopWriter._sync", "db"),
    ("sqlalchemy.engine.base", "Connection.begin", "db"),
    ("sqlalchemy.engine.base", "Connection.execute", "db"),
    ("sqlalchemy.engine.base", "Transaction.commit", "db"),
    ("sqlalchemy.engine.base", "Transaction.rollback", "db"),
    ("sqlalchemy.engine.base", "Transaction.close", "db"),
    ("sqlalchemy.engine.base", "Connection.exec_driver_sql", "db"),
    ("sqlalchemy.engine.base", "Connection.close", "db"),
)


class PhaseTimers:
    """Per-thread CPU nanoseconds by phase; a thread's innermost timed call gets the time."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[dict[str, int]] = []
        self._lock = threading.Lock()

    def _state(self) -> tuple[list[list[Any]], dict[str, int]]:
        local = self._local
        stack = getattr(local, "stack", None)
        if stack is None:
            stack = local.stack = []
            local.totals = dict.fromkeys(PHASES, 0)
            with self._lock:
                self._all.append(local.totals)
        return stack, local.totals

    def wrap(self, function: Callable[..., Any], phase: str) -> Callable[..., Any]:
        clock = time.thread_time_ns

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack, totals = self._state()
            now = clock()
            if stack:
                outer = stack[-1]
                totals[outer[0]] += now - outer[1]
            stack.append([phase, now])
            try:
                return function(*args, **kwargs)
            finally:
                now = clock()
                inner = stack.pop()
                totals[inner[0]] += now - inner[1]
                if stack:
                    stack[-1][1] = now

        timed.__wrapped_phase__ = phase  # type: ignore[attr-defined]
        return timed

    def snapshot(self) -> dict[str, float]:
        """CPU seconds by phase so far, all threads together."""
        with self._lock:
            tables = list(self._all)
        return {phase: sum(t.get(phase, 0) for t in tables) / 1e9 for phase in PHASES}


def _resolve(module_name: str, path: str) -> tuple[Any, str, Any]:
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, name, getattr(owner, name)


def install(timers: PhaseTimers, targets: tuple[tuple[str, str, str], ...] = TARGETS) -> int:
    """Wrap every target (once); functions imported by name elsewhere are replaced there too.

    Import the application's modules first, so that their `from x import f` references exist.
    Returns how many references were replaced.
    """
    replaced = 0
    for module_name, path, phase in targets:
        owner, name, original = _resolve(module_name, path)
        if hasattr(original, "__wrapped_phase__"):
            continue
        timed = timers.wrap(original, phase)
        setattr(owner, name, timed)
        replaced += 1
        if isinstance(owner, type):
            continue
        for module in list(sys.modules.values()):
            namespace = getattr(module, "__dict__", None)
            if not namespace:
                continue
            for attribute, value in list(namespace.items()):
                if value is original:
                    setattr(module, attribute, timed)
                    replaced += 1
    return replaced


def write_snapshot(timers: PhaseTimers, path: str) -> None:
    data = {"phases": timers.snapshot(), "written_at": time.time()}
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)  # the reader never sees half a file
