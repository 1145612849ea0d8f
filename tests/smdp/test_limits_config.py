"""The [limits] table of the SM-DP+ TOML: defaults, values, refusals, and the hand-over to workers."""

from __future__ import annotations

import pytest

from openrsp.rspserver.limits import Limits
from openrsp.smdp.config import SmdpConfig, load_config
from openrsp.smdp.errors import ConfigError


def _load(tmp_path, text: str) -> SmdpConfig:
    path = tmp_path / "smdp.toml"
    path.write_text(text)
    return load_config(path, data_dir=tmp_path / "data")


def test_defaults_hold_when_the_table_is_absent(tmp_path):
    limits = _load(tmp_path, "port = 9443\n").limits
    assert limits == Limits()
    assert (limits.header_timeout_seconds, limits.max_body_bytes, limits.max_connections) == (
        10,
        1 << 20,
        1000,
    )


def test_values_from_the_table_reach_the_workers_unchanged(tmp_path):
    config = _load(tmp_path, "[limits]\nheader_timeout_seconds = 2.5\nmax_connections = 7\n")
    assert config.limits == Limits(header_timeout_seconds=2.5, max_connections=7)
    assert SmdpConfig.from_json(config.to_json()).limits == config.limits


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[limits]\nmax_conections = 5\n", "unknown keys: max_conections"),
        ("[limits]\nmax_connections = 0\n", "must be above 0"),
        ("[limits]\nmax_header_bytes = 1.5\n", "expected a whole number"),
        ('[limits]\nbody_timeout_seconds = "30"\n', "expected a number"),
        ("[limits]\nshutdown_timeout_seconds = nan\n", "must be above 0"),
        ("[limits]\nkeep_alive_timeout_seconds = true\n", "expected a number"),
        ("limits = 5\n", "must be a table"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)
