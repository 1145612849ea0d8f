"""SM-DP+ configuration: TOML keys, options over them, defaults from the data and credentials folders."""

from pathlib import Path

import pytest

from openrsp.smdp.config import SmdpConfig, load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db import operators
from openrsp.smdp.errors import ConfigError
from openrsp.smdp.tlsfiles import load_credentials, resolve_address, tls_server_files


def test_toml_keys_options_and_defaults(tmp_path):
    toml = tmp_path / "conf" / "smdp.toml"
    toml.parent.mkdir()
    toml.write_text(
        """
data_dir = "state"
db_url = "postgres://postgres@127.0.0.1:5432/smdp"
port = 9443
workers = 2
address = "rsp.example.com"
kek_hex = "%s"
default_operator = ""

[operators.acme]
cert_cn = "ACME ES2+ client"
callback_url = "https://bss.acme.example/gsma/rsp2/es2plus/handleDownloadProgressInfo"
"""
        % ("AB" * 32)
    )
    config = load_config(toml, port=10443)
    assert config.data_dir == toml.parent / "state"  # relative to the TOML file
    assert config.db_url == "postgresql+psycopg://postgres@127.0.0.1:5432/smdp"
    assert (config.port, config.workers, config.address) == (10443, 2, "rsp.example.com")  # option wins
    assert config.kek() == bytes.fromhex("AB" * 32)
    assert config.default_operator is None
    (acme,) = config.operators
    assert (acme.name, acme.cert_cn) == ("acme", "ACME ES2+ client")
    assert SmdpConfig.from_json(config.to_json()) == config  # how `serve` hands it to its workers


def test_defaults_live_in_the_xdg_data_folder_not_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    config = load_config()
    assert config.data_dir == tmp_path / "xdg" / "openrsp" / "smdp"
    assert config.db_url == f"sqlite:///{tmp_path / 'xdg' / 'openrsp' / 'smdp' / 'smdp.sqlite'}"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_config().data_dir == tmp_path / "home" / ".local" / "share" / "openrsp" / "smdp"
    assert (config.host, config.port, config.workers) == ("127.0.0.1", 8443, 1)


def test_unknown_keys_and_bad_files_are_configuration_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("prot = 8443\n")
    with pytest.raises(ConfigError, match="prot"):
        load_config(bad)
    bad.write_text("port = [\n")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad.write_text('port = "many"\n')
    with pytest.raises(ConfigError, match="port"):
        load_config(bad)


def test_credentials_give_tls_files_address_and_operator_ca(pki_dir, tmp_path):
    config = load_config(data_dir=tmp_path, credentials_dir=pki_dir)
    assert config.operator_ca == pki_dir / "operator-tls" / "ca.cert.pem"
    credentials = load_credentials(config.credentials_dir)
    chain, key = tls_server_files(config, credentials)
    assert chain.is_file() and key.is_file()
    assert resolve_address(config, credentials) == "smdp.openrsp.test"


def test_sgp26_credentials_serve_too(sgp26_dir, tmp_path):
    config = load_config(data_dir=tmp_path, credentials_dir=sgp26_dir)
    credentials = load_credentials(config.credentials_dir)
    chain, key = tls_server_files(config, credentials)
    assert chain.is_file() and key.name == "SK_S_SM_DP_TLS_NIST.pem"
    assert resolve_address(config, credentials) == "testsmdpplus1.example.com"


def test_no_credentials_is_a_clear_error(tmp_path):
    config = load_config(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="--credentials"):
        tls_server_files(config, None)


def test_operators_from_the_configuration_are_stored(tmp_path):
    toml = tmp_path / "smdp.toml"
    toml.write_text('[operators.acme]\ncert_cn = "acme-client"\ncallback_url = "https://bss.example/cb"\n')
    database = open_database(load_config(toml, data_dir=tmp_path / "d"))
    try:
        with database.transaction() as connection:
            operator = operators.operator_for_certificate(connection, "acme-client", None, database.clock())
            assert (operator.name, operator.callback_url) == ("acme", "https://bss.example/cb")
            assert operators.operator_for_certificate(connection, "stranger", None, database.clock()) is None
            assert (
                operators.operator_for_certificate(connection, "stranger", "default", database.clock()).name
                == "default"
            )
    finally:
        database.engine.dispose()


def test_a_serve_without_credentials_says_what_is_missing(cli, tmp_path):
    result = cli("smdp", "serve", "--data", str(tmp_path), "--port", "1")
    assert result.returncode == 1 and "--credentials" in result.stderr and "Traceback" not in result.stderr


def test_paths_in_the_toml_may_use_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    toml = tmp_path / "smdp.toml"
    toml.write_text('data_dir = "~/here"\n')
    assert load_config(toml).data_dir == Path(tmp_path / "here")
