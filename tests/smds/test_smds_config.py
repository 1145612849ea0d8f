"""`openrsp smds serve --config FILE.toml`: keys, relative paths, options over the file, bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from openrsp.smdp.errors import ConfigError
from openrsp.smds.config import DEFAULT_PORT, SmdsConfig, load_config


def test_toml_keys_paths_relative_to_the_file_and_options_win(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    toml = tmp_path / "conf" / "smds.toml"
    toml.write_text(
        'data_dir = "data"\ncredentials = "pki"\ndp_ca = ["a.pem", "b.pem"]\nport = 9444\n'
        'root = "https://root.example:8444"\nworkers = 2\n'
    )
    config = load_config(toml, port=9555)
    assert config.data_dir == (tmp_path / "conf" / "data").resolve()
    assert config.credentials_dir == (tmp_path / "conf" / "pki").resolve()
    assert config.dp_ca == ((tmp_path / "conf" / "a.pem").resolve(), (tmp_path / "conf" / "b.pem").resolve())
    assert (config.port, config.workers, config.root) == (9555, 2, "https://root.example:8444")
    assert config.db_url.startswith("sqlite:///") and config.db_url.endswith("smds.sqlite")
    assert SmdsConfig.from_json(config.to_json()) == config  # what the workers receive


def test_defaults(tmp_path: Path) -> None:
    config = load_config(data_dir=tmp_path)
    assert (config.port, config.workers, config.root, config.dp_ca) == (DEFAULT_PORT, 1, None, ())


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('colour = "blue"\n', "unknown configuration keys: colour"),
        ('root = "http://plain.example"\n', "must start with https://"),
        ('port = "many"\n', "port: expected a whole number"),
        ("port = [\n", "not valid TOML"),
    ],
)
def test_bad_configuration_is_one_clear_error(tmp_path: Path, text: str, words: str) -> None:
    toml = tmp_path / "smds.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_config(toml)
