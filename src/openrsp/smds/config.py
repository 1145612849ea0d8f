"""SM-DS configuration: a TOML file, command-line options over it, defaults under both.

TOML keys (all optional; relative paths are relative to the TOML file):

    data_dir = "smds"                 # SQLite file, the transactionId key (default $XDG_DATA_HOME/openrsp/smds)
    db_url = "sqlite:///…"            # or postgresql://user@host/db
    credentials = "pki"               # `openrsp pki init` folder, or an `openrsp pki issue smds` folder
    address = "smds.example.com"      # the SM-DS address (default: the DS TLS certificate's DNS name)
    host = "127.0.0.1"
    port = 8444
    workers = 1
    dp_ca = ["ci.pem"]                # CAs of SM-DP+ TLS client certificates allowed on ES12
                                      # (default: the credentials' CI certificates)
    root = "https://root-smds:8444"   # set: this is an alternative SM-DS forwarding to that root (ES15)
    root_address = "root.example"     # the root's TLS name, when the URL names an IP (default: URL host)
    session_ttl_seconds = 600
    log_level = "info"
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from openrsp.rspserver.configfiles import default_data_dir, read_toml_file
from openrsp.rspserver.database import normalize_url, sqlite_url
from openrsp.rspserver.errors import ConfigError
from openrsp.rspserver.sealing import load_or_create_kek

ENV_CONFIG = "OPENRSP_SMDS_CONFIG_JSON"  # how `serve` hands the resolved config to its workers
DEFAULT_PORT = 8444


@dataclass(frozen=True)
class SmdsConfig:
    data_dir: Path
    db_url: str
    credentials_dir: Path | None = None
    address: str | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    dp_ca: tuple[Path, ...] = ()
    root: str | None = None
    root_address: str | None = None
    session_ttl_seconds: int = 600
    log_level: str = "info"

    def token_key(self) -> bytes:
        """The key under which transactionIds are MACed (the same in every worker; created 0600)."""
        return load_or_create_kek(self.data_dir / "es11-token.key")

    def to_json(self) -> str:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Path):
                data[key] = str(value)
        data["dp_ca"] = [str(p) for p in self.dp_ca]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> SmdsConfig:
        data = json.loads(text)
        for name in ("data_dir", "credentials_dir"):
            if data.get(name) is not None:
                data[name] = Path(data[name])
        data["dp_ca"] = tuple(Path(p) for p in data.get("dp_ca") or ())
        return cls(**data)


_INT_KEYS = ("port", "workers", "session_ttl_seconds")


def load_config(config_file: Path | None = None, **overrides: Any) -> SmdsConfig:
    """Options (non-None overrides) > TOML file > defaults."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(_read_toml(config_file))
    values.update({k: v for k, v in overrides.items() if v is not None and v != ()})
    unknown = set(values) - {f.name for f in fields(SmdsConfig)}
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
    for key in ("data_dir", "credentials_dir"):
        if values.get(key) is not None:
            values[key] = Path(values[key]).expanduser().resolve()
    if "dp_ca" in values:
        cas = values["dp_ca"]
        values["dp_ca"] = tuple(
            Path(p).expanduser().resolve() for p in ([cas] if isinstance(cas, str) else cas)
        )
    for key in _INT_KEYS:
        if key in values:
            try:
                values[key] = int(values[key])
            except (TypeError, ValueError):
                raise ConfigError(f"{key}: expected a whole number, got {values[key]!r}") from None
    root = values.get("root")
    if root is not None and not str(root).startswith("https://"):
        raise ConfigError(f"root: the root SM-DS URL must start with https:// (got {root!r})")
    data_dir = values.pop("data_dir", None) or default_data_dir("smds")
    db_url = values.pop("db_url", None) or sqlite_url(data_dir / "smds.sqlite")
    config = SmdsConfig(data_dir=data_dir, db_url=normalize_url(db_url), **values)
    if config.credentials_dir is None:
        candidate = config.data_dir / "credentials"
        if candidate.is_dir():
            config = replace(config, credentials_dir=candidate)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    data = read_toml_file(path)
    base = path.resolve().parent
    values = {("credentials_dir" if k == "credentials" else k): v for k, v in data.items()}
    for key in ("data_dir", "credentials_dir"):
        if isinstance(values.get(key), str):
            values[key] = base / os.path.expanduser(values[key])
    if "dp_ca" in values:
        cas = values["dp_ca"]
        values["dp_ca"] = [base / os.path.expanduser(p) for p in ([cas] if isinstance(cas, str) else cas)]
    return values
