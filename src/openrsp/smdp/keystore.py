"""The SM-DP+'s keys in a PKCS#11 token: how they are named, imported, listed and used.

The URI names the token and, with `object=`, the SM-DP+'s key set (default "openrsp-smdp"), so
several SM-DP+ instances can share a token. In it:

    <set>/dpauth-nist  <set>/dppb-nist    EC key pairs (SK.DPauth.ECDSA, SK.DPpb.ECDSA) per CI curve
    <set>/dpauth-brp   <set>/dppb-brp
    <set>/seal                            AES-256: seals Ki/OPc and profile packages at rest

The TLS key stays a file (the credentials folder's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from openrsp.crypto.signer import Signer
from openrsp.errors import InputError
from openrsp.pki.hsm.token import Token, TokenAesKey, TokenError, TokenObject, open_token
from openrsp.pki.hsm.uri import parse_pkcs11_uri
from openrsp.smdp.errors import ConfigError

DEFAULT_KEY_SET = "openrsp-smdp"
SIGNING_ROLES = ("dpauth", "dppb")
SEAL = "seal"
SEAL_NEXT = "seal.next"  # the new key during a rotation


@dataclass(frozen=True)
class SmdpKeyStore:
    token: Token
    key_set: str

    def label(self, name: str) -> str:
        return f"{self.key_set}/{name}"

    def signer_for(self, role: str, curve: str, cert: x509.Certificate) -> Signer:
        """The token's key for a DPauth/DPpb certificate; refused when it is not that certificate's key."""
        label = self.label(f"{role}-{curve}")
        try:
            signer = self.token.signer(label)
        except TokenError as exc:
            raise ConfigError(f"{exc}: import it with `openrsp smdp keys import`") from None
        if signer.public_key() != cert.public_key():
            raise ConfigError(f"token key {label!r} is not the key of the {role} certificate ({curve})")
        return signer

    def seal_key(self, *, create: bool = True) -> TokenAesKey:
        key = self.token.aes_key(self.label(SEAL))
        if key is None:
            if not create:
                raise ConfigError(f"token {self.token.label!r} has no sealing key {self.label(SEAL)!r}")
            key = self.token.generate_aes_key(self.label(SEAL))
        return key

    def objects(self) -> list[TokenObject]:
        prefix = self.key_set + "/"
        return [o for o in self.token.objects() if o.label.startswith(prefix)]


def open_keystore(uri: str) -> SmdpKeyStore:
    try:
        parsed = parse_pkcs11_uri(uri)
        return SmdpKeyStore(open_token(parsed), parsed.object or DEFAULT_KEY_SET)
    except (InputError, TokenError) as exc:
        raise ConfigError(str(exc)) from None


def import_credentials(credentials_dir: Path, uri: str) -> list[str]:
    """Copy the DPauth/DPpb private keys of a credentials folder into the token (and make its
    sealing key when missing); the labels written. The key files are left for the operator to delete."""
    from openrsp.pki.credentials import SmdpCredentials

    store = open_keystore(uri)
    try:
        credentials = SmdpCredentials.load(credentials_dir)
    except InputError as exc:
        raise ConfigError(f"credentials {credentials_dir}: {exc}") from None
    written = []
    for ci_set in credentials.sets:
        for role, key in (("dpauth", ci_set.dpauth_key), ("dppb", ci_set.dppb_key)):
            if not hasattr(key, "private_numbers"):
                raise ConfigError(f"{role} ({ci_set.curve}) of {credentials_dir} is not a key file")
            label = store.label(f"{role}-{ci_set.curve}")
            store.token.import_ec_key(label, key)  # type: ignore[arg-type]
            written.append(label)
    store.seal_key(create=True)
    written.append(store.label(SEAL))
    return written
