"""Where a server keeps its data by default, and reading its TOML configuration file."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from openrsp.rspserver.errors import ConfigError


def default_data_dir(role: str = "smdp") -> Path:
    """Where a user's server (SM-DP+, SM-DS) keeps its data when neither TOML nor --data names a
    folder: the XDG data directory ($XDG_DATA_HOME/openrsp/ROLE, else ~/.local/share/openrsp/ROLE),
    never the working folder."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "openrsp" / role


def read_toml_file(path: Path) -> dict[str, Any]:
    """A server's TOML configuration file as a dict, or one ConfigError line saying what is wrong."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror or exc}") from None
