"""The `[limits]` table of the SM-DP+ configuration: what one client may cost the server.

Every connection, header and body from outside is bounded in time and size, so idle or slow
clients (slowloris), huge headers or bodies, and floods of connections cannot exhaust a worker:

    [limits]
    header_timeout_seconds = 10       # a request's head (line + headers) must arrive within this
    body_timeout_seconds = 30         # ... and its body within this once the head is in
    keep_alive_timeout_seconds = 5    # an idle keep-alive connection is closed after this
    max_header_bytes = 65536          # request line + headers; more: 431 and the connection closed
    max_body_bytes = 1048576          # request body, counted while reading; more: refused, closed
    max_connections = 1000            # open connections per worker; more: 503 and closed
    shutdown_timeout_seconds = 10     # SIGTERM: requests in flight get this long, then are cancelled

The HTTP layer (`openrsp.rspserver.protocol`) enforces them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from openrsp.rspserver.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    keep_alive_timeout_seconds: float = 5.0
    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 1 << 20
    max_connections: int = 1000
    shutdown_timeout_seconds: float = 10.0

    @classmethod
    def from_table(cls, table: Any, where: str = "[limits]") -> Limits:
        """From a TOML table (or the JSON the workers get): known keys only, positive numbers only."""
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        known = {f.name: f for f in fields(cls)}
        unknown = set(table) - set(known)
        if unknown:
            raise ConfigError(f"{where}: unknown keys: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, value in table.items():
            whole = known[name].type == "int"
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
                kind = "a whole number" if whole else "a number"
                raise ConfigError(f"{where} {name}: expected {kind}, got {value!r}")
            if not 0 < value < 1e9:  # also refuses NaN and infinity
                raise ConfigError(f"{where} {name}: must be above 0, got {value!r}")
            values[name] = value
        return cls(**values)
