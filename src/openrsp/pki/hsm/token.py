"""A PKCS#11 token (python-pkcs11): ECDSA signing and AES-GCM with keys that never leave it.

One logged-in session per process and token URI; calls on it are serialised by a lock (a PKCS#11
session runs one operation at a time). Private and secret keys are created sensitive and not
extractable: the token signs and encrypts, it never hands a key out.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from typing import Any

from openrsp.crypto.keys import CurveName, PrivateKey, PublicKey, curve_of, public_key_from_point
from openrsp.errors import OpenRSPError
from openrsp.pki.hsm.uri import Pkcs11Uri, parse_pkcs11_uri

# EC_PARAMS: the DER namedCurve OID of each SGP.22 curve
EC_PARAMS = {
    "nist": bytes.fromhex("06082A8648CE3D030107"),  # 1.2.840.10045.3.1.7 prime256v1
    "brp": bytes.fromhex("06092B2403030208010107"),  # 1.3.36.3.3.2.8.1.1.7 brainpoolP256r1
}
_CURVE_BY_PARAMS = {v: k for k, v in EC_PARAMS.items()}
AES_KEY_BITS = 256
GCM_TAG_BITS = 128


class TokenError(OpenRSPError):
    """The PKCS#11 module, token, PIN or object is missing or refuses an operation."""


@dataclass(frozen=True)
class TokenObject:
    """One object as `keys list` shows it."""

    kind: str  # "private key", "public key", "secret key"
    key_type: str  # "EC nist", "EC brp", "AES-256", …
    label: str


_LIBS: dict[str, Any] = {}
_TOKENS: dict[tuple[int, str], Token] = {}
_OPEN_LOCK = threading.Lock()


def open_token(uri: str | Pkcs11Uri) -> Token:
    """The logged-in token for this URI, one per process (a forked child opens its own)."""
    parsed = parse_pkcs11_uri(uri) if isinstance(uri, str) else uri
    key = (os.getpid(), repr(parsed))
    with _OPEN_LOCK:
        token = _TOKENS.get(key)
        if token is None:
            token = _TOKENS[key] = Token(parsed)
        return token


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:  # pragma: no cover - the dependency is pinned
        raise TokenError("PKCS#11 support needs the python-pkcs11 package") from None
    return pkcs11


class Token:
    def __init__(self, uri: Pkcs11Uri) -> None:
        pkcs11 = _pkcs11()
        self.uri = uri
        self._lock = threading.RLock()
        try:
            lib = _LIBS.get(uri.module_path)
            if lib is None:
                lib = _LIBS[uri.module_path] = pkcs11.lib(uri.module_path)
        except (RuntimeError, OSError, pkcs11.PKCS11Error) as exc:
            raise TokenError(f"cannot load the PKCS#11 module {uri.module_path}: {exc}") from None
        try:
            token = lib.get_token(
                token_label=uri.token, token_serial=uri.serial.encode() if uri.serial else None
            )
        except pkcs11.NoSuchToken:
            raise TokenError(f"no PKCS#11 token {uri.token or uri.serial!r} in {uri.module_path}") from None
        except pkcs11.MultipleTokensReturned:
            raise TokenError(f"several tokens match {uri.redacted()}: name it by serial=") from None
        try:
            self._session = token.open(user_pin=uri.pin(), rw=True)
        except pkcs11.PinIncorrect:
            raise TokenError(f"wrong PIN for PKCS#11 token {token.label!r}") from None
        except pkcs11.PKCS11Error as exc:
            raise TokenError(
                f"cannot log in to PKCS#11 token {token.label!r}: {type(exc).__name__}"
            ) from None
        self.label = token.label

    # -- lookup ----------------------------------------------------------------------------------

    def _find(self, label: str, object_class: Any) -> Any | None:
        pkcs11 = _pkcs11()
        with self._lock:
            found = list(
                self._session.get_objects(
                    {pkcs11.Attribute.LABEL: label, pkcs11.Attribute.CLASS: object_class}
                )
            )
        if len(found) > 1:
            raise TokenError(
                f"token {self.label!r} holds several {object_class.name} objects labelled {label!r}"
            )
        return found[0] if found else None

    def has_key(self, label: str) -> bool:
        pkcs11 = _pkcs11()
        return any(
            self._find(label, cls) is not None
            for cls in (pkcs11.ObjectClass.PRIVATE_KEY, pkcs11.ObjectClass.SECRET_KEY)
        )

    def objects(self) -> list[TokenObject]:
        pkcs11 = _pkcs11()
        kinds = {
            pkcs11.ObjectClass.PRIVATE_KEY: "private key",
            pkcs11.ObjectClass.PUBLIC_KEY: "public key",
            pkcs11.ObjectClass.SECRET_KEY: "secret key",
        }
        rows = []
        with self._lock:
            for obj in self._session.get_objects():
                kind = kinds.get(obj.object_class)
                if kind is None:
                    continue
                if obj.key_type == pkcs11.KeyType.EC:
                    params = bytes(obj[pkcs11.Attribute.EC_PARAMS])
                    key_type = f"EC {_CURVE_BY_PARAMS.get(params, params.hex())}"
                elif obj.key_type == pkcs11.KeyType.AES:
                    key_type = f"AES-{obj.key_length}"
                else:
                    key_type = obj.key_type.name
                rows.append(TokenObject(kind, key_type, obj.label))
        return sorted(rows, key=lambda row: (row.label, row.kind))

    # -- EC keys -----------------------------------------------------------------------------------

    def import_ec_key(self, label: str, key: PrivateKey) -> None:
        """Store a private key (sensitive, not extractable) and its public key under `label`."""
        pkcs11 = _pkcs11()
        from asn1crypto.core import OctetString

        curve = curve_of(key)
        point = key.public_key().public_bytes(_x962(), _uncompressed())
        attr = pkcs11.Attribute
        common = {attr.KEY_TYPE: pkcs11.KeyType.EC, attr.EC_PARAMS: EC_PARAMS[curve], attr.LABEL: label}
        common[attr.TOKEN] = True
        common[attr.ID] = hashlib.sha1(point).digest()  # the usual CKA_ID: links the key pair
        private = {
            **common,
            attr.CLASS: pkcs11.ObjectClass.PRIVATE_KEY,
            attr.VALUE: key.private_numbers().private_value.to_bytes(32, "big"),
            attr.SIGN: True,
            attr.SENSITIVE: True,
            attr.EXTRACTABLE: False,
            attr.PRIVATE: True,
        }
        public = {
            **common,
            attr.CLASS: pkcs11.ObjectClass.PUBLIC_KEY,
            attr.EC_POINT: OctetString(point).dump(),
            attr.VERIFY: True,
        }
        with self._lock:
            for cls in (pkcs11.ObjectClass.PRIVATE_KEY, pkcs11.ObjectClass.PUBLIC_KEY):
                old = self._find(label, cls)
                if old is not None:
                    old.destroy()
            try:
                self._session.create_object(private)
                self._session.create_object(public)
            except pkcs11.PKCS11Error as exc:
                raise TokenError(
                    f"token {self.label!r} refused the {curve} key {label!r}: {type(exc).__name__}"
                ) from None

    def signer(self, label: str) -> TokenSigner:
        pkcs11 = _pkcs11()
        private = self._find(label, pkcs11.ObjectClass.PRIVATE_KEY)
        public = self._find(label, pkcs11.ObjectClass.PUBLIC_KEY)
        if private is None or public is None:
            raise TokenError(f"token {self.label!r} has no EC key pair labelled {label!r}")
        with self._lock:
            params = bytes(public[pkcs11.Attribute.EC_PARAMS])
            point = _point_of(bytes(public[pkcs11.Attribute.EC_POINT]))
        curve = _CURVE_BY_PARAMS.get(params)
        if curve is None:
            raise TokenError(f"key {label!r} is not on P-256 or brainpoolP256r1")
        return TokenSigner(self, private, label, curve, public_key_from_point(curve, point))  # type: ignore[arg-type]

    # -- AES keys ----------------------------------------------------------------------------------

    def generate_aes_key(self, label: str) -> TokenAesKey:
        pkcs11 = _pkcs11()
        attr = pkcs11.Attribute
        with self._lock:
            try:
                key = self._session.generate_key(
                    pkcs11.KeyType.AES,
                    AES_KEY_BITS,
                    label=label,
                    store=True,
                    template={attr.SENSITIVE: True, attr.EXTRACTABLE: False, attr.PRIVATE: True},
                )
            except pkcs11.PKCS11Error as exc:
                raise TokenError(
                    f"token {self.label!r} cannot make an AES key: {type(exc).__name__}"
                ) from None
        return TokenAesKey(self, key, label)

    def aes_key(self, label: str) -> TokenAesKey | None:
        key = self._find(label, _pkcs11().ObjectClass.SECRET_KEY)
        return TokenAesKey(self, key, label) if key is not None else None

    def destroy(self, label: str) -> None:
        """Destroy every key object labelled `label`."""
        pkcs11 = _pkcs11()
        for cls in (
            pkcs11.ObjectClass.PRIVATE_KEY,
            pkcs11.ObjectClass.PUBLIC_KEY,
            pkcs11.ObjectClass.SECRET_KEY,
        ):
            obj = self._find(label, cls)
            if obj is not None:
                with self._lock:
                    obj.destroy()

    def relabel(self, old: str, new: str) -> None:
        key = self._find(old, _pkcs11().ObjectClass.SECRET_KEY)
        if key is None:
            raise TokenError(f"token {self.label!r} has no secret key labelled {old!r}")
        with self._lock:
            key[_pkcs11().Attribute.LABEL] = new

    def run(self, operation: Any) -> Any:
        """Run `operation()` under the session lock, PKCS#11 errors as TokenError."""
        pkcs11 = _pkcs11()
        with self._lock:
            try:
                return operation()
            except pkcs11.PKCS11Error as exc:
                raise TokenError(f"token {self.label!r}: {type(exc).__name__}") from exc


class TokenSigner:
    """ECDSA-SHA256 by a private key inside the token (CKM_ECDSA over our SHA-256 gives r || s)."""

    def __init__(self, token: Token, key: Any, label: str, curve: CurveName, public: PublicKey) -> None:
        self._token, self._key, self.label = token, key, label
        self._curve, self._public = curve, public

    @property
    def curve(self) -> CurveName:
        return self._curve

    def public_key(self) -> PublicKey:
        return self._public

    def sign_plain(self, data: bytes) -> bytes:
        mechanism = _pkcs11().Mechanism.ECDSA
        digest = hashlib.sha256(data).digest()
        signature = self._token.run(lambda: self._key.sign(digest, mechanism=mechanism))
        if len(signature) != 64:
            raise TokenError(f"token key {self.label!r} gave a {len(signature)}-byte signature, not r || s")
        return bytes(signature)


class TokenAesKey:
    """AES-256-GCM with a key inside the token: nonce and AAD in, ciphertext || tag out."""

    def __init__(self, token: Token, key: Any, label: str) -> None:
        self._token, self._key, self.label = token, key, label

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        pkcs11 = _pkcs11()
        from pkcs11.mechanisms import GCMParams

        param = GCMParams(nonce, aad, GCM_TAG_BITS)
        return bytes(
            self._token.run(
                lambda: self._key.encrypt(
                    plaintext, mechanism=pkcs11.Mechanism.AES_GCM, mechanism_param=param
                )
            )
        )

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes | None:
        """The plaintext, or None when the tag does not verify (wrong key or damaged data)."""
        pkcs11 = _pkcs11()
        from pkcs11.mechanisms import GCMParams

        param = GCMParams(nonce, aad, GCM_TAG_BITS)
        try:
            return bytes(
                self._token.run(
                    lambda: self._key.decrypt(
                        ciphertext, mechanism=pkcs11.Mechanism.AES_GCM, mechanism_param=param
                    )
                )
            )
        except TokenError as exc:
            if isinstance(exc.__cause__, pkcs11.PKCS11Error) and not isinstance(
                exc.__cause__, pkcs11.exceptions.DeviceError | pkcs11.exceptions.SessionClosed
            ):
                return None
            raise


def _point_of(ec_point: bytes) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING around 04||X||Y (some modules give the bare point)."""
    if len(ec_point) == 67 and ec_point[:2] == b"\x04\x41":
        return ec_point[2:]
    return ec_point


def _x962() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.X962


def _uncompressed() -> Any:
    from cryptography.hazmat.primitives.serialization import PublicFormat

    return PublicFormat.UncompressedPoint
