"""Where the SM-DP+ finds its TLS server files, its credentials, its address and its client CAs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from openrsp.errors import OpenRSPError
from openrsp.smdp.config import SmdpConfig
from openrsp.smdp.errors import ConfigError

# `openrsp pki init DIR` layout
PKI_TLS_CHAIN = Path("tls") / "dptls.chain.pem"
PKI_TLS_KEY = Path("tls") / "dptls.key.pem"


def load_credentials(folder: Path | None, keys_uri: str | None = None) -> Any | None:
    """SmdpCredentials for the folder (pki init or SGP.26), or None when there is none to load.
    With a PKCS#11 URI the DPauth/DPpb keys are the token's (the folder's key files are not read)."""
    if folder is None:
        return None
    try:
        from openrsp.pki.credentials import SmdpCredentials
    except ImportError:
        return None  # PKI part not installed: TLS files are still found by layout below
    try:
        if keys_uri:
            from openrsp.smdp.keystore import open_keystore

            return SmdpCredentials.load(folder, signing_keys=open_keystore(keys_uri).signer_for)
        return SmdpCredentials.load(folder)
    except OpenRSPError as exc:
        raise ConfigError(f"credentials {folder}: {exc}") from exc


def tls_server_files(config: SmdpConfig, credentials: Any | None) -> tuple[Path, Path]:
    """(certificate chain PEM, private key PEM) of the SM-DP+ TLS server."""
    folder = config.credentials_dir
    if folder is not None and (folder / PKI_TLS_CHAIN).is_file() and (folder / PKI_TLS_KEY).is_file():
        return folder / PKI_TLS_CHAIN, folder / PKI_TLS_KEY
    tls = getattr(credentials, "tls", None)
    if tls is not None:
        return Path(tls.chain_file), Path(tls.key_file)
    raise ConfigError(
        "no TLS server certificate: give --credentials DIR (an `openrsp pki init` folder or an SGP.26 folder)"
    )


def resolve_address(config: SmdpConfig, credentials: Any | None) -> str:
    """The SM-DP+ address: configured, else the credentials', else the TLS certificate's DNS name."""
    if config.address:
        return config.address
    address = getattr(credentials, "address", None)
    if address:
        return str(address)
    folder = config.credentials_dir
    if folder is not None and (folder / PKI_TLS_CHAIN).is_file():
        return dns_name_of(folder / PKI_TLS_CHAIN) or ""
    return ""


def dns_name_of(chain_pem: Path) -> str | None:
    """The first DNS subjectAltName (else the CN) of the first certificate in a PEM file."""
    cert = x509.load_pem_x509_certificates(chain_pem.read_bytes())[0]
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = names.get_values_for_type(x509.DNSName)
        if dns:
            return dns[0]
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


def load_ca_certificates(path: Path | None) -> list[x509.Certificate]:
    """The CA certificates of a PEM bundle (empty when no path)."""
    if path is None:
        return []
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"CA file not found: {path}") from None
    except ValueError:
        raise ConfigError(f"{path}: not a PEM certificate bundle") from None
