"""SM-DP+ configuration: a TOML file, command-line options over it, defaults under both.

TOML keys (all optional; relative paths are relative to the TOML file):

    data_dir = "/var/lib/openrsp-smdp" # SQLite file, KEK file (default: $XDG_DATA_HOME/openrsp/smdp)
    db_url = "sqlite:///…"            # or postgresql://user@host/db (psycopg 3)
    credentials = "pki"               # `openrsp pki init` folder or SGP.26 folder
    address = "smdp.example.com"      # SM-DP+ address (default: from the credentials / TLS cert)
    host = "127.0.0.1"
    port = 8443
    workers = 1
    lpa_ca = "lpa-ca.pem"             # when set, ES9+ needs an LPA client certificate from this CA
    operator_ca = "operator-ca.pem"   # default: <credentials>/operator-tls/ca.cert.pem
    kek_file = "kek.key"              # default: <data_dir>/kek.key, created 0600 on first use
    kek_hex = "…64 hex digits…"       # instead of kek_file
    default_operator = "default"      # operator for client certs matching no operator ("" = none)
    cc_max_attempts = 3
    max_download_attempts = 5
    order_ttl_hours = 0               # default order expiry (0 = orders do not expire)
    session_ttl_seconds = 600         # lifetime of an ES9+ RSP session
    callback_ca = "ca.pem"            # CA bundle to verify operator callback servers (default: system)
    log_level = "info"

    [keys]                            # DPauth/DPpb signing keys and the sealing key in a PKCS#11 token
    uri = "pkcs11:token=…;object=…?module-path=…&pin-source=…"   # RFC 7512 (see docs/smdp.md)

    [operators.NAME]
    cert_cn = "CN of the operator's client certificate"
    callback_url = "https://…/gsma/rsp2/es2plus/handleDownloadProgressInfo"

    [limits]                          # what one client may cost: see openrsp.rspserver.limits
    header_timeout_seconds = 10
    body_timeout_seconds = 30
    keep_alive_timeout_seconds = 5
    max_header_bytes = 65536
    max_body_bytes = 1048576
    max_connections = 1000            # per worker
    shutdown_timeout_seconds = 10
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from openrsp.rspserver.configfiles import default_data_dir, read_toml_file
from openrsp.rspserver.database import normalize_url, sqlite_url
from openrsp.rspserver.limits import Limits
from openrsp.rspserver.sealing import load_or_create_kek, parse_kek, read_kek_file
from openrsp.smdp.errors import ConfigError

ENV_CONFIG = "OPENRSP_SMDP_CONFIG_JSON"  # how `serve` hands the resolved config to its workers


@dataclass(frozen=True)
class OperatorConfig:
    name: str
    cert_cn: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class SmdpConfig:
    data_dir: Path
    db_url: str
    credentials_dir: Path | None = None
    address: str | None = None
    host: str = "127.0.0.1"
    port: int = 8443
    workers: int = 1
    lpa_ca: Path | None = None
    operator_ca: Path | None = None
    kek_file: Path | None = None
    kek_hex: str | None = None
    default_operator: str | None = "default"
    cc_max_attempts: int = 3
    max_download_attempts: int = 5
    order_ttl_hours: float = 0
    session_ttl_seconds: int = 600
    callback_ca: Path | None = None
    log_level: str = "info"
    keys_uri: str | None = None  # PKCS#11 URI of the token holding DPauth/DPpb and the sealing key
    operators: tuple[OperatorConfig, ...] = field(default_factory=tuple)
    limits: Limits = field(default_factory=Limits)

    def kek(self) -> bytes:
        """The key-encryption key: kek_hex, else kek_file, else <data_dir>/kek.key (created when missing)."""
        if self.kek_hex:
            return parse_kek(self.kek_hex)
        if self.kek_file is not None:
            if not self.kek_file.exists():
                raise ConfigError(f"kek_file not found: {self.kek_file}")
            return read_kek_file(self.kek_file)
        return load_or_create_kek(self.data_dir / "kek.key")

    def seal_key(self) -> bytes | Any:
        """What seals at rest: the token's AES key when keys_uri is set (made on first use), else the KEK."""
        if self.keys_uri:
            from openrsp.smdp.keystore import open_keystore

            return open_keystore(self.keys_uri).seal_key(create=True)
        return self.kek()

    def to_json(self) -> str:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Path):
                data[key] = str(value)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> SmdpConfig:
        data = json.loads(text)
        data["operators"] = tuple(OperatorConfig(**op) for op in data.get("operators", []))
        data["limits"] = Limits(**data.get("limits", {}))
        for name in _PATH_KEYS:
            if data.get(name) is not None:
                data[name] = Path(data[name])
        return cls(**data)


_PATH_KEYS = ("data_dir", "credentials_dir", "lpa_ca", "operator_ca", "kek_file", "callback_ca")
_TOML_ALIASES = {"credentials": "credentials_dir"}
_INT_KEYS = ("port", "workers", "cc_max_attempts", "max_download_attempts", "session_ttl_seconds")


def load_config(config_file: Path | None = None, **overrides: Any) -> SmdpConfig:
    """Resolve the configuration: options (non-None overrides) > TOML file > defaults."""
    values: dict[str, Any] = {}
    operators: list[OperatorConfig] = []
    if config_file is not None:
        toml, operators = _read_toml(config_file)
        values.update(toml)
    values.update({k: v for k, v in overrides.items() if v is not None})

    known = {f.name for f in fields(SmdpConfig)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
    for key in _PATH_KEYS:
        if values.get(key) is not None:
            values[key] = Path(values[key]).expanduser().resolve()
    if "limits" in values and not isinstance(values["limits"], Limits):  # the [limits] table
        values["limits"] = Limits.from_table(values["limits"], f"{config_file}: [limits]")
    for key in _INT_KEYS:
        if key in values:
            try:
                values[key] = int(values[key])
            except (TypeError, ValueError):
                raise ConfigError(f"{key}: expected a whole number, got {values[key]!r}") from None

    data_dir = values.pop("data_dir", None) or default_data_dir()
    db_url = values.pop("db_url", None) or sqlite_url(data_dir / "smdp.sqlite")
    if values.get("default_operator") == "":
        values["default_operator"] = None
    config = SmdpConfig(data_dir=data_dir, db_url=normalize_url(db_url), operators=tuple(operators), **values)
    return _with_credential_defaults(config)


def _read_toml(path: Path) -> tuple[dict[str, Any], list[OperatorConfig]]:
    data = read_toml_file(path)
    base = path.resolve().parent
    operators = []
    for name, table in (data.pop("operators", None) or {}).items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [operators.{name}] must be a table")
        operators.append(
            OperatorConfig(name=name, cert_cn=table.get("cert_cn"), callback_url=table.get("callback_url"))
        )
    keys = data.pop("keys", None)
    values = {_TOML_ALIASES.get(k, k): v for k, v in data.items()}
    if keys is not None:
        if not isinstance(keys, dict) or set(keys) - {"uri"}:
            raise ConfigError(f'{path}: [keys] takes one key, uri = "pkcs11:…"')
        values["keys_uri"] = keys.get("uri")
    for key in _PATH_KEYS:
        if isinstance(values.get(key), str):
            values[key] = base / os.path.expanduser(values[key])
    return values, operators


def _with_credential_defaults(config: SmdpConfig) -> SmdpConfig:
    """Credentials from the data dir when none are given; the operator CA from the credentials."""
    credentials = config.credentials_dir
    if credentials is None:
        for candidate in (config.data_dir / "credentials", config.data_dir):
            if (candidate / "tls").is_dir() or (candidate / "DPtls").is_dir():
                credentials = candidate
                break
    operator_ca = config.operator_ca
    if operator_ca is None and credentials is not None:
        candidate = credentials / "operator-tls" / "ca.cert.pem"
        if candidate.is_file():
            operator_ca = candidate
    return replace(config, credentials_dir=credentials, operator_ca=operator_ca)
