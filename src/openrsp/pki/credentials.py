"""Load the keys and certificates each party needs, from either folder layout:

- an `openrsp pki init` folder (index.json, nist/, brp/, tls/, lpa-tls/, operator-tls/), or
- the GSMA SGP.26 layout (CertificateIssuer/, EUM/, eUICC/, DPauth/, DPpb/, DPtls/), where the
  SM-DP+ TLS certificate is CERT_S_SM_DP_VARO_TLS_<NIST|BRP> with key SK_S_SM_DP_TLS_<NIST|BRP>.
  The second SM-DP+ identity (DP2*) and the DP4/DP8 TLS certificates are not loaded.
"""

import atexit
import os
import shutil
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.errors import InputError, OpenRSPError
from openrsp.hexutil import to_hex
from openrsp.pki import layout as pki_layout
from openrsp.pki.certio import (
    certificate_der,
    certificate_pem,
    load_certificate,
    load_private_key,
    short_digest,
    write_file,
)
from openrsp.pki.curves import check_curve
from openrsp.pki.eid import eid_from_certificate
from openrsp.pki.layout import PkiIndex
from openrsp.pki.verify import ski_of
from openrsp.private_files import PrivateFileError, check_private_file

Layout = Literal["openrsp", "sgp26"]
_SGP26_CURVES = {"nist": "NIST", "brp": "BRP"}


class NoCommonCiError(OpenRSPError):
    """None of the eUICC's CI PKIDs is one the SM-DP+ has credentials for (SGP.22 8.8.2 / 3.1)."""


def detect_layout(path: Path | str) -> Layout:
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"credentials folder not found: {path}")
    if (path / pki_layout.INDEX_FILE).is_file():
        return "openrsp"
    if (path / "CertificateIssuer").is_dir():
        return "sgp26"
    raise InputError(f"{path} is neither an `openrsp pki init` folder (index.json) nor an SGP.26 folder")


def _pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if (key_path.parent.parent / pki_layout.INDEX_FILE).is_file():
        # a key `openrsp pki init` made is a secret of ours (SGP.26's are published test keys)
        try:
            check_private_file(key_path, "private key")
        except PrivateFileError as exc:
            raise InputError(str(exc)) from None
    cert, key = load_certificate(cert_path), load_private_key(key_path)
    if cert.public_key() != key.public_key():
        raise InputError(f"{key_path} is not the private key of {cert_path}")
    return cert, key


def _pkid(cert: x509.Certificate, path: Path) -> bytes:
    pkid = ski_of(cert)
    if pkid is None:
        raise InputError(f"CI certificate {path} has no SubjectKeyIdentifier (its PKID)")
    return pkid


# Where DPauth/DPpb keys come from instead of key files (a PKCS#11 token): (role, curve, cert) -> signer
SigningKeySource = Callable[[str, str, x509.Certificate], Any]


def _signing_pair(
    cert_path: Path, key_path: Path, role: str, curve: str, keys: SigningKeySource | None
) -> tuple[x509.Certificate, Any]:
    if keys is None:
        return _pair(cert_path, key_path)
    cert = load_certificate(cert_path)
    return cert, keys(role, curve, cert)


@dataclass(frozen=True)
class TrustedCi:
    """A CI certificate and its PKID (SubjectKeyIdentifier), as eUICC and SM-DP+ list them."""

    curve: str
    cert: x509.Certificate
    pkid: bytes
    cert_path: Path  # PEM when the layout has one (usable as an ssl CA file)


def _trusted_cis(root: Path, kind: Layout) -> tuple[TrustedCi, ...]:
    found = []
    if kind == "openrsp":
        index = PkiIndex.read(root)
        for curve in index.curves:
            path = index.cert_path(curve, "ci")
            cert = load_certificate(path)
            found.append(TrustedCi(curve, cert, _pkid(cert, path), path))
    else:
        for curve, tag in _SGP26_CURVES.items():
            path = root / "CertificateIssuer" / f"CERT_CI_ECDSA_{tag}.pem"
            if not path.exists():
                path = path.with_suffix(".der")
            if path.exists():
                cert = load_certificate(path)
                found.append(TrustedCi(curve, cert, _pkid(cert, path), path))
    if not found:
        raise InputError(f"no CI certificate in {root}")
    return tuple(found)


@dataclass(frozen=True)
class SmdpCiSet:
    """What the SM-DP+ signs with for eUICCs that trust one CI."""

    curve: str
    ci_cert: x509.Certificate
    ci_pkid: bytes
    dpauth_cert: x509.Certificate
    dpauth_key: ec.EllipticCurvePrivateKey  # or an openrsp.crypto.signer.Signer (key in a token)
    dppb_cert: x509.Certificate
    dppb_key: ec.EllipticCurvePrivateKey  # likewise


@dataclass(frozen=True)
class TlsServerCredentials:
    """The ES9+ HTTPS certificate: files ready for Python's ssl (chain = leaf + CI, PEM)."""

    curve: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain_file: Path
    key_file: Path
    ca_file: Path  # the CI certificate (PEM) a client trusts to verify this server

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.chain_file), str(self.key_file))
        return context


def _san(cert: x509.Certificate) -> list[x509.GeneralName]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def _address_and_oid(tls_cert: x509.Certificate, dpauth_cert: x509.Certificate) -> tuple[str, str]:
    names = _san(tls_cert)
    address = next((str(n.value) for n in names if isinstance(n, x509.DNSName | x509.IPAddress)), None)
    oid = next(
        (n.value.dotted_string for n in names + _san(dpauth_cert) if isinstance(n, x509.RegisteredID)), None
    )
    if address is None or oid is None:
        raise InputError("the SM-DP+ TLS certificate must name the SM-DP+ host and OID in subjectAltName")
    return address, oid


_chain_folder: tuple[int, Path] | None = None  # (pid that made it, folder)


def _private_temp_folder() -> Path:
    """This process's own folder for derived files: tempfile.mkdtemp (0700, unpredictable name),
    removed at exit. A forked child makes its own and leaves its parent's alone."""
    global _chain_folder
    if _chain_folder is None or _chain_folder[0] != os.getpid() or not _chain_folder[1].is_dir():
        folder = Path(tempfile.mkdtemp(prefix="openrsp-tls-"))
        _chain_folder = (os.getpid(), folder)
        atexit.register(_remove_if_mine, os.getpid(), folder)
    return _chain_folder[1]


def _remove_if_mine(pid: int, folder: Path) -> None:
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)


def _materialized_chain(leaf: x509.Certificate, ci: x509.Certificate, directory: Path | None) -> Path:
    """Write leaf + CI as one PEM file (the SGP.26 folder has no such file and may be read-only).

    By default into a private temporary folder of this process, never a predictable shared path;
    the file is created exclusively and renamed into place, so a planted symlink is not followed.
    """
    pem = certificate_pem(leaf) + certificate_pem(ci)
    folder = directory if directory is not None else _private_temp_folder()
    path = folder / f"chain-{short_digest(certificate_der(leaf))}.pem"
    try:
        if not path.is_file() or path.is_symlink() or path.read_bytes() != pem:
            write_file(path, pem)
    except OSError as exc:
        raise InputError(f"cannot write the TLS chain file {path}: {exc.strerror}") from None
    return path


@dataclass(frozen=True)
class SmdpCredentials:
    """Everything an SM-DP+ needs: per-CI DPauth/DPpb sets, TLS, its address and OID."""

    source: Path
    layout: Layout
    sets: tuple[SmdpCiSet, ...]
    tls: TlsServerCredentials
    address: str  # the SM-DP+ address (TLS DNS name) activation codes and serverSigned1 carry
    oid: str  # the SM-DP+ OID (subjectAltName registeredID)
    tls_by_curve: dict[str, TlsServerCredentials] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        path: Path | str,
        *,
        materialize_dir: Path | None = None,
        signing_keys: SigningKeySource | None = None,
    ) -> "SmdpCredentials":
        """Read an init folder or an SGP.26 folder. For SGP.26 the TLS chain PEM is written to
        `materialize_dir` (default: a private temporary folder of this process). With
        `signing_keys`, the DPauth/DPpb keys come from it and their key files are not read."""
        root = Path(path)
        kind = detect_layout(root)
        cis = {ci.curve: ci for ci in _trusted_cis(root, kind)}
        if kind == "openrsp":
            sets, tls_by_curve = cls._from_index(PkiIndex.read(root), cis, signing_keys)
        else:
            sets, tls_by_curve = cls._from_sgp26(root, cis, materialize_dir, signing_keys)
        if not sets or not tls_by_curve:
            raise InputError(f"{root} lacks SM-DP+ DPauth/DPpb or TLS credentials")
        tls = tls_by_curve.get("nist") or next(iter(tls_by_curve.values()))
        address, oid = _address_and_oid(tls.cert, sets[0].dpauth_cert)
        return cls(root, kind, tuple(sets), tls, address, oid, tls_by_curve)

    @staticmethod
    def _from_index(
        index: PkiIndex, cis: dict[str, TrustedCi], keys: SigningKeySource | None = None
    ) -> tuple[list[SmdpCiSet], dict[str, TlsServerCredentials]]:
        sets = []
        for curve in index.curves:
            auth = _signing_pair(
                index.cert_path(curve, "dpauth"), index.key_path(curve, "dpauth"), "dpauth", curve, keys
            )
            pb = _signing_pair(
                index.cert_path(curve, "dppb"), index.key_path(curve, "dppb"), "dppb", curve, keys
            )
            sets.append(SmdpCiSet(curve, cis[curve].cert, cis[curve].pkid, *auth, *pb))
        group = pki_layout.TLS_GROUP
        cert, key = _pair(index.cert_path(group, "dptls"), index.key_path(group, "dptls"))
        curve = index.tls_curve
        tls = TlsServerCredentials(
            curve, cert, key, index.tls_chain_path, index.key_path(group, "dptls"), cis[curve].cert_path
        )
        return sets, {curve: tls}

    @staticmethod
    def _from_sgp26(
        root: Path,
        cis: dict[str, TrustedCi],
        materialize_dir: Path | None,
        keys: SigningKeySource | None = None,
    ) -> tuple[list[SmdpCiSet], dict[str, TlsServerCredentials]]:
        sets, tls_by_curve = [], {}
        for curve, ci in cis.items():
            tag = _SGP26_CURVES[curve]
            auth_cert = root / "DPauth" / f"CERT_S_SM_DPauth_ECDSA_{tag}.der"
            pb_cert = root / "DPpb" / f"CERT_S_SM_DPpb_ECDSA_{tag}.der"
            if auth_cert.exists() and pb_cert.exists():
                auth = _signing_pair(
                    auth_cert, root / "DPauth" / f"SK_S_SM_DPauth_ECDSA_{tag}.pem", "dpauth", curve, keys
                )
                pb = _signing_pair(
                    pb_cert, root / "DPpb" / f"SK_S_SM_DPpb_ECDSA_{tag}.pem", "dppb", curve, keys
                )
                sets.append(SmdpCiSet(curve, ci.cert, ci.pkid, *auth, *pb))
            tls_cert = root / "DPtls" / f"CERT_S_SM_DP_VARO_TLS_{tag}.der"
            if tls_cert.exists():
                key_file = root / "DPtls" / f"SK_S_SM_DP_TLS_{tag}.pem"
                cert, key = _pair(tls_cert, key_file)
                sub_dir = materialize_dir / curve if materialize_dir else None
                chain = _materialized_chain(cert, ci.cert, sub_dir)
                tls_by_curve[curve] = TlsServerCredentials(curve, cert, key, chain, key_file, ci.cert_path)
        return sets, tls_by_curve

    @property
    def trusted_cis(self) -> list[x509.Certificate]:
        """The CIs eUICC certificate chains must lead to."""
        return [s.ci_cert for s in self.sets]

    @property
    def ci_pkids(self) -> list[bytes]:
        return [s.ci_pkid for s in self.sets]

    def set_for_pkid(self, pkid: bytes) -> SmdpCiSet | None:
        return next((s for s in self.sets if s.ci_pkid == pkid), None)

    def select_for_pkids(self, euicc_ci_pkids: list[bytes]) -> SmdpCiSet:
        """The first of our sets whose CI the eUICC supports."""
        wanted = set(euicc_ci_pkids)
        for ci_set in self.sets:
            if ci_set.ci_pkid in wanted:
                return ci_set
        offered = ", ".join(to_hex(p) for p in euicc_ci_pkids) or "none"
        ours = ", ".join(to_hex(p) for p in self.ci_pkids)
        raise NoCommonCiError(f"no common CI: the eUICC offers {offered}; this SM-DP+ has {ours}")


@dataclass(frozen=True)
class EuiccCredentials:
    """What a (virtual) eUICC holds on one curve: its certificate and key, its EUM's certificate
    (and key when present, to issue more eUICCs), its EID, and the CIs it trusts (all curves)."""

    source: Path
    layout: Layout
    curve: str
    eid: str
    euicc_cert: x509.Certificate
    euicc_key: ec.EllipticCurvePrivateKey
    eum_cert: x509.Certificate
    eum_key: ec.EllipticCurvePrivateKey | None
    trusted_cis: tuple[TrustedCi, ...]

    @property
    def ci_pkids(self) -> list[bytes]:
        return [ci.pkid for ci in self.trusted_cis]

    @staticmethod
    def available_curves(path: Path | str) -> list[str]:
        root = Path(path)
        if detect_layout(root) == "openrsp":
            return PkiIndex.read(root).curves
        return [
            c for c, tag in _SGP26_CURVES.items() if (root / "eUICC" / f"CERT_EUICC_ECDSA_{tag}.der").exists()
        ]

    @classmethod
    def load(cls, path: Path | str, curve: str | None = None) -> "EuiccCredentials":
        """Read an init folder or an SGP.26 folder; curve "nist" or "brp" (default: NIST if present)."""
        root = Path(path)
        kind = detect_layout(root)
        curves = cls.available_curves(root)
        if curve is None:
            if not curves:
                raise InputError(f"no eUICC certificate in {root}")
            curve = "nist" if "nist" in curves else curves[0]
        elif check_curve(curve) not in curves:
            raise InputError(
                f"{root} has no {curve} eUICC credentials (it has: {', '.join(curves) or 'none'})"
            )
        if kind == "openrsp":
            index = PkiIndex.read(root)
            euicc_cert, euicc_key = _pair(index.cert_path(curve, "euicc"), index.key_path(curve, "euicc"))
            eum_cert_path, eum_key_path = index.cert_path(curve, "eum"), index.key_path(curve, "eum")
        else:
            tag = _SGP26_CURVES[curve]
            euicc_cert, euicc_key = _pair(
                root / "eUICC" / f"CERT_EUICC_ECDSA_{tag}.der", root / "eUICC" / f"SK_EUICC_ECDSA_{tag}.pem"
            )
            eum_cert_path, eum_key_path = (
                root / "EUM" / f"CERT_EUM_ECDSA_{tag}.der",
                root / "EUM" / f"SK_EUM_ECDSA_{tag}.pem",
            )
        if eum_key_path.exists():
            eum_cert, eum_key = _pair(eum_cert_path, eum_key_path)
        else:
            eum_cert, eum_key = load_certificate(eum_cert_path), None
        eid = eid_from_certificate(euicc_cert)
        return cls(root, kind, curve, eid, euicc_cert, euicc_key, eum_cert, eum_key, _trusted_cis(root, kind))


@dataclass(frozen=True)
class ClientTlsCredentials:
    """A plain TLS CA and the client certificate it issued (files for Python's ssl)."""

    ca_cert: x509.Certificate
    ca_file: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: Path
    key_file: Path

    @classmethod
    def _load_group(cls, path: Path | str, group: str, what: str) -> Self:
        root = Path(path)
        if detect_layout(root) != "openrsp" or not PkiIndex.read(root).has(group, "client"):
            raise InputError(
                f"{root} has no {what} TLS credentials ({group}/); create them with `openrsp pki init`"
            )
        index = PkiIndex.read(root)
        ca_file = index.cert_path(group, "ca")
        cert_file, key_file = index.cert_path(group, "client"), index.key_path(group, "client")
        cert, key = _pair(cert_file, key_file)
        return cls(load_certificate(ca_file), ca_file, cert, key, cert_file, key_file)

    def client_context(self, server_ca_file: Path | str | None = None) -> ssl.SSLContext:
        """A client context presenting this certificate; verifies the server against server_ca_file."""
        context = ssl.create_default_context(cafile=str(server_ca_file) if server_ca_file else None)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


class LpaTlsCredentials(ClientTlsCredentials):
    @classmethod
    def load(cls, path: Path | str) -> Self:
        return cls._load_group(path, pki_layout.LPA_GROUP, "LPA")


class OperatorTlsCredentials(ClientTlsCredentials):
    """ES2+ client authentication: the operator's client certificate and the CA the SM-DP+ trusts."""

    @classmethod
    def load(cls, path: Path | str) -> Self:
        return cls._load_group(path, pki_layout.OPERATOR_GROUP, "operator")
