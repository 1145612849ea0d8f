"""Server misbehaviour the lab scripts around the real SM-DP+, without touching it: each fault
rewrites, delays or cuts one ES9+ answer on its way out (see layer.py).

The rewrites are real cryptography: serverSigned1 re-signed with a DPauth key from another CI,
or with a serverAddress that is not this SM-DP+'s (signed with the right key), or the right
signature with one bit flipped. A conformant eUICC or LPA must refuse each of them.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from typing import Any

from openrsp.asn1.codec import rsp
from openrsp.asn1.tlv import encode_tlv
from openrsp.crypto.signer import Signer

TAG_SIGNATURE = 0x5F37


@dataclass
class Fault:
    """No misbehaviour: the answer goes out as the SM-DP+ made it."""

    description: str = ""

    def delay(self, function: str) -> float:
        return 0.0

    def rewrite(self, function: str, body: dict[str, Any]) -> str | None:
        """Change `body` in place; what was done (for the trace), or None when untouched."""
        return None

    def cut(self, function: str) -> bool:
        """Close the connection half-way through this answer."""
        return False


NO_FAULT = Fault()


@dataclass
class Slow(Fault):
    """Every answer (or those of `functions`) held back `seconds`."""

    seconds: float = 2.0
    functions: tuple[str, ...] = ()

    def delay(self, function: str) -> float:
        return self.seconds if not self.functions or function in self.functions else 0.0


@dataclass
class CutOnce(Fault):
    """The first answer to `function` is cut after half its bytes; later ones go through."""

    function: str = "getBoundProfilePackage"
    _done: threading.Event = field(default_factory=threading.Event)

    def cut(self, function: str) -> bool:
        if function != self.function or self._done.is_set():
            return False
        self._done.set()
        return True


@dataclass
class DpAuthKey:
    key: Signer  # signs serverSigned1 (a key file's or a token's)
    certificate: bytes  # its CERT.DPauth DER


@dataclass
class ResignServerSigned1(Fault):
    """initiateAuthentication answered with a serverSigned1 the eUICC or LPA must refuse.

    `signer(certificate DER) -> DpAuthKey` gives the key to sign with, from the certificate the
    SM-DP+ chose (so a two-curve campaign signs on the right curve).
    """

    signer: Any = None
    server_address: str | None = None  # put this address into serverSigned1
    flip_signature: bool = False  # the right signature, one bit flipped

    def rewrite(self, function: str, body: dict[str, Any]) -> str | None:
        if function != "initiateAuthentication" or "serverSigned1" not in body:
            return None
        signed1_der = base64.b64decode(body["serverSigned1"])
        certificate = base64.b64decode(body["serverCertificate"])
        if self.server_address is not None:
            value = rsp().decode("ServerSigned1", signed1_der)
            value["serverAddress"] = self.server_address
            signed1_der = rsp().encode("ServerSigned1", value)
            body["serverSigned1"] = base64.b64encode(signed1_der).decode()
        signing = self.signer(certificate)
        signature = signing.key.sign_plain(signed1_der)
        if self.flip_signature:
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        body["serverSignature1"] = base64.b64encode(encode_tlv(TAG_SIGNATURE, signature)).decode()
        body["serverCertificate"] = base64.b64encode(signing.certificate).decode()
        return self.description
