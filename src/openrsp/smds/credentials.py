"""What an SM-DS needs from its credentials folder: one CERT.DSauth per CI, the DS TLS chain, the CIs.

Two layouts: an `openrsp pki init` folder (index.json: <curve>/dsauth.*, tls/dstls.*) and an
`openrsp pki issue smds` folder (ci.cert.pem, dsauth.*, dstls.*, dstls.chain.pem).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from openrsp.asn1.tlv import encode_tlv
from openrsp.crypto.ecdsa import PrivateKey
from openrsp.errors import InputError, OpenRSPError
from openrsp.pki import layout as pki_layout
from openrsp.pki import smds_issue
from openrsp.pki.certio import load_certificate, load_private_key
from openrsp.pki.layout import PkiIndex
from openrsp.pki.roles import role_of
from openrsp.pki.verify import ski_of
from openrsp.rspserver.errors import ConfigError

TAG_OCTET_STRING = 0x04


@dataclass(frozen=True)
class DsAuthSet:
    """CERT.DSauth under one CI, ready for initiateAuthentication."""

    ci_cert: x509.Certificate
    ci_pkid: bytes
    key: PrivateKey
    der: bytes

    @property
    def ci_pkid_tlv(self) -> bytes:
        return encode_tlv(TAG_OCTET_STRING, self.ci_pkid)


@dataclass(frozen=True)
class SmdsCredentials:
    source: Path
    sets: tuple[DsAuthSet, ...]
    tls_chain: Path  # DS TLS leaf + CI (PEM)
    tls_key: Path
    ci_files: tuple[Path, ...]  # PEM files of the CIs (peers' TLS certificates chain to them)
    address: str  # the DS TLS certificate's DNS name
    oid: str  # the SM-DS OID (subjectAltName registeredID of CERT.DSauth)

    @classmethod
    def load(cls, folder: Path) -> SmdsCredentials:
        try:
            if (folder / pki_layout.INDEX_FILE).is_file():
                return cls._from_index(folder)
            return cls._from_issued(folder)
        except OpenRSPError as exc:
            raise ConfigError(f"SM-DS credentials {folder}: {exc}") from exc

    @classmethod
    def _from_index(cls, folder: Path) -> SmdsCredentials:
        index = PkiIndex.read(folder)
        sets, ci_files = [], []
        for curve in index.curves:
            if not index.has(curve, "dsauth"):
                raise InputError(
                    f"no {curve}/dsauth certificate (a PKI from before the SM-DS: run pki init again)"
                )
            ci_path = index.cert_path(curve, "ci")
            ci_files.append(ci_path)
            sets.append(_set(ci_path, index.cert_path(curve, "dsauth"), index.key_path(curve, "dsauth")))
        group = pki_layout.TLS_GROUP
        chain = folder / index.entry(group, "dstls")["chain_pem"]
        return cls._finish(folder, sets, chain, index.key_path(group, "dstls"), ci_files)

    @classmethod
    def _from_issued(cls, folder: Path) -> SmdsCredentials:
        ci_path = folder / smds_issue.CI_FILE
        dsauth = folder / f"{smds_issue.DSAUTH}.cert.pem"
        if not ci_path.is_file() or not dsauth.is_file():
            raise InputError("neither an `openrsp pki init` nor an `openrsp pki issue smds` folder")
        sets = [_set(ci_path, dsauth, folder / f"{smds_issue.DSAUTH}.key.pem")]
        chain = folder / smds_issue.DSTLS_CHAIN
        return cls._finish(folder, sets, chain, folder / f"{smds_issue.DSTLS}.key.pem", [ci_path])

    @classmethod
    def _finish(
        cls, folder: Path, sets: list[DsAuthSet], chain: Path, key: Path, ci_files: list[Path]
    ) -> SmdsCredentials:
        tls = load_certificate(chain)
        if role_of(tls) != "dstls":
            raise InputError(f"{chain} is not a DS TLS certificate")
        if load_private_key(key).public_key() != tls.public_key():
            raise InputError(f"{key} is not the private key of {chain}")
        san = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
        dsauth = x509.load_der_x509_certificate(sets[0].der)
        oids = dsauth.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        registered = oids.get_values_for_type(x509.RegisteredID)
        return cls(
            source=folder,
            sets=tuple(sets),
            tls_chain=chain,
            tls_key=key,
            ci_files=tuple(ci_files),
            address=names[0] if names else "",
            oid=registered[0].dotted_string if registered else "",
        )

    def choose(self, for_verification: list[bytes], for_signing: list[bytes]) -> DsAuthSet | None:
        """The set for an eUICC (as SGP.22 §5.6.1 has the SM-DP+ choose): a CI the eUICC signs with
        and can verify our certificate with. None when there is none (the caller names the error)."""
        ours = {s.ci_pkid: s for s in self.sets}
        signable = [ours[p] for p in for_signing if p in ours]
        verifiable = [s for s in signable if s.ci_pkid in for_verification]
        return verifiable[0] if verifiable else None

    def knows_signing_ci(self, for_signing: list[bytes]) -> bool:
        return any(s.ci_pkid in for_signing for s in self.sets)


def _set(ci_path: Path, cert_path: Path, key_path: Path) -> DsAuthSet:
    ci = load_certificate(ci_path)
    cert, key = load_certificate(cert_path), load_private_key(key_path)
    if role_of(cert) != "dsauth":
        raise InputError(f"{cert_path} is not a CERT.DSauth (policy 2.23.146.1.2.1.7)")
    if cert.public_key() != key.public_key():
        raise InputError(f"{key_path} is not the private key of {cert_path}")
    pkid = ski_of(ci)
    if pkid is None:
        raise InputError(f"{ci_path} has no SubjectKeyIdentifier")
    return DsAuthSet(ci, pkid, key, cert.public_bytes(Encoding.DER))
