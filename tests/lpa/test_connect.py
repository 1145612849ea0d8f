"""How the LPA's front ends turn the user's trust options into HTTPS settings (openrsp.lpa.ui.connect)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from openrsp.euicc.store import read_state
from openrsp.lpa.core.errors import LpaInputError
from openrsp.lpa.ui.connect import https_factory, trusted_cis
from openrsp.pki.layout import PkiIndex


def pki_cis(pki_dir: Path) -> list[x509.Certificate]:
    index = PkiIndex.read(pki_dir)
    return [x509.load_pem_x509_certificate(index.cert_path(c, "ci").read_bytes()) for c in index.curves]


def test_a_pki_folder_gives_its_ci_certificates(pki_dir: Path) -> None:
    assert trusted_cis(pki=pki_dir) == pki_cis(pki_dir)


def test_without_given_cis_the_virtual_euicc_trusts_for_the_lpa(euicc_dir: Path) -> None:
    own = [x509.load_der_x509_certificate(t.certificate) for t in read_state(euicc_dir).trusted_cis]
    assert own and trusted_cis(euicc=euicc_dir) == own


def test_given_cis_win_over_the_euicc_own(pki_dir: Path, euicc_dir: Path) -> None:
    index = PkiIndex.read(pki_dir)
    first = index.cert_path(index.curves[0], "ci")
    assert trusted_cis([first], euicc=euicc_dir) == pki_cis(pki_dir)[:1]


def test_settings_carry_every_option(pki_dir: Path, tmp_path: Path) -> None:
    cert, key = tmp_path / "lpa.pem", tmp_path / "lpa.key"
    make = https_factory(
        pki=pki_dir,
        client_cert=cert,
        client_key=key,
        resolve=["smdp.example:127.0.0.1"],
        proxy="http://127.0.0.1:3128",
        timeout=7.0,
    )
    settings = make()
    assert settings.ca_certificates == tuple(pki_cis(pki_dir))
    assert (settings.client_cert, settings.client_key) == (cert, key)
    assert settings.resolve == {"smdp.example": "127.0.0.1"}
    assert (settings.proxy, settings.timeout) == ("http://127.0.0.1:3128", 7.0)
    assert make() is settings  # read once, kept


def test_cheap_mistakes_are_said_at_once_certificates_read_when_needed(tmp_path: Path) -> None:
    with pytest.raises(LpaInputError, match="--client-cert and --client-key go together"):
        https_factory(client_cert=tmp_path / "lpa.pem")
    with pytest.raises(LpaInputError, match="--resolve"):
        https_factory(resolve=["no-address-here"])
    make = https_factory(ci=[tmp_path / "missing.pem"])  # not read yet: card-only commands work
    with pytest.raises(LpaInputError, match="cannot read CI certificate"):
        make()
