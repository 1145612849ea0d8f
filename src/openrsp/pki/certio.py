"""Certificates and keys in and out of files: PEM or DER in, both out, private keys mode 0600."""

import functools
import hashlib
import os
import re
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from openrsp.errors import InputError
from openrsp.private_files import ensure_private_dir, write_private_file

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
# Names as openssl prints them (cryptography would show serialNumber as a bare OID).
_ATTRIBUTE_NAMES = {NameOID.SERIAL_NUMBER: "serialNumber"}


def _read(path: Path | str, what: str) -> bytes:
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{what} path is a directory, not a file: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} file {path}: {exc.strerror}") from None


def parse_certificates(data: bytes, source: str = "input") -> list[x509.Certificate]:
    """All certificates in PEM data (in order), or the one certificate in DER data."""
    blocks = _PEM_CERT.findall(data)
    try:
        if blocks:
            return [x509.load_pem_x509_certificate(block) for block in blocks]
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise InputError(f"{source}: not an X.509 certificate (PEM or DER)") from None


def load_certificates(path: Path | str) -> list[x509.Certificate]:
    return parse_certificates(_read(path, "certificate"), str(path))


def load_certificate(path: Path | str) -> x509.Certificate:
    """The first (or only) certificate in a PEM or DER file."""
    return load_certificates(path)[0]


def load_private_key(path: Path | str) -> ec.EllipticCurvePrivateKey:
    """An unencrypted EC private key from PEM (PKCS#8 or SEC1, EC PARAMETERS block allowed) or DER."""
    data = _read(path, "private key")
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InputError(f"{path}: not an unencrypted private key (PEM or DER)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"{path}: not an elliptic-curve private key")
    return key


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@functools.lru_cache(maxsize=1024)
def fingerprint(cert: x509.Certificate) -> bytes:
    """SHA-256 over the DER certificate: the identity used for caching and matching.

    Remembered per certificate (certificates hash and compare by their DER): the chain checks ask
    for the same CI and EUM fingerprints on every verification.
    """
    return cert.fingerprint(hashes.SHA256())


def display_name(name: x509.Name) -> str:
    """A distinguished name in certificate order, the way `openssl x509 -text` shows it."""
    return ", ".join(rdn.rfc4514_string(_ATTRIBUTE_NAMES) for rdn in name.rdns)


def write_file(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write atomically (temp file + rename, never through a symlink); private files are 0600 from
    the start and their folder 0700. New folders are 0700 either way (a PKI folder holds keys)."""
    if private:
        ensure_private_dir(path.parent)
        write_private_file(path, data)
        return
    if not path.parent.exists():
        ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_certificate(base: Path, cert: x509.Certificate) -> tuple[Path, Path]:
    """Write <base>.cert.pem and <base>.cert.der; return both paths."""
    pem, der = base.with_name(base.name + ".cert.pem"), base.with_name(base.name + ".cert.der")
    write_file(pem, certificate_pem(cert))
    write_file(der, certificate_der(cert))
    return pem, der


def write_private_key(base: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    """Write <base>.key.pem (PKCS#8, unencrypted, mode 0600)."""
    path = base.with_name(base.name + ".key.pem")
    write_file(path, private_key_pem(key), private=True)
    return path


def short_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
