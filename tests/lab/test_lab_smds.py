"""The lab's SM-DS: made from the lab's own test PKI (its DS TLS certificate names 127.0.0.1), and
absent, with the reason the discovery case reports, when the credentials cannot run one."""

from __future__ import annotations

from pathlib import Path

from openrsp.lab.smds import LabSmds
from openrsp.pki.testpki import init_pki


def test_credentials_without_smds_certificates_give_no_smds(sgp26_dir: Path, tmp_path: Path) -> None:
    smds, why = LabSmds.create(sgp26_dir, tmp_path / "smds")
    assert smds is None and "no SM-DS certificates" in why
    assert not (tmp_path / "smds").exists()  # nothing made for an SM-DS that cannot run


def test_a_ds_certificate_for_another_host_gives_no_smds(tmp_path: Path) -> None:
    init_pki(tmp_path / "pki", curves=("nist",), smds_host="smds.example.test")
    smds, why = LabSmds.create(tmp_path / "pki", tmp_path / "smds")
    assert smds is None
    assert why == "the DS TLS certificate names ['smds.example.test'], the lab's SM-DS listens on 127.0.0.1"
