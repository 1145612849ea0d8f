"""The load generator's eUICC: what a card computes in a download, without the card around it.

A `LoadCard` holds one virtual eUICC's key and certificate and does, with real crypto, the ES10b
work of one download: it checks serverSignature1 and smdpSignature2 against the SM-DP+
certificates (whose chains it verifies once per certificate, under the CI it trusts), signs
euiccSigned1 and euiccSigned2 with SK.EUICC.ECDSA, makes its one-time ECKA key, opens the bound
profile package (smdpSign, ECKA, key derivation, every segment's C-MAC and decryption, the
profile protection keys) and signs the ProfileInstallationResult. It skips what only a card's
file system needs (parsing and installing the profile elements): the eUICC benchmark
(openrsp.bench.euicc_bpp) measures that on the real virtual eUICC.

Every refusal is a `CardRefusal`: the benchmark counts it as a failed download.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import bit_string, iccid_to_bytes
from openrsp.asn1.tlv import encode_tlv, read_single_tlv
from openrsp.bench.fleet import Fleet, VirtualEuicc
from openrsp.crypto.ecdsa import PublicKey, sign_plain, verify_plain
from openrsp.crypto.ecka import generate_one_time_key, shared_secret
from openrsp.crypto.kdf import derive_session_keys
from openrsp.crypto.keys import public_key_to_point
from openrsp.errors import OpenRSPError
from openrsp.es8.bsp import BspReceiver
from openrsp.es8.segments import parse_initialise_secure_channel, smdp_sign_input, split_bpp
from openrsp.euicc.certs import smdp_oid
from openrsp.pki.verify import ChainError, ChainVerifier

TAG_SIGNATURE = 0x5F37
SVN = b"\x02\x02\x02"
DEVICE_INFO = {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}
ISDP_AID = bytes.fromhex("A0000005591010FFFFFFFF8900001000")
SIMA_RESPONSE_OK = bytes.fromhex("3007A0053003800100")  # EUICCResponse { peStatus { { status ok } } }
INSTALL_EVENT = 0  # NotificationEvent.notificationInstall


class CardRefusal(OpenRSPError):
    """The load card would have refused what the SM-DP+ sent."""


def _signature_tlv(signature: bytes) -> bytes:
    return encode_tlv(TAG_SIGNATURE, signature)


def _signature_of(tlv: bytes) -> bytes:
    return read_single_tlv(tlv, TAG_SIGNATURE).value


@dataclass
class FleetContext:
    """What every card of a fleet shares: CI trust, EUICCInfo1/2, verified SM-DP+ certificates."""

    fleet: Fleet
    verifier: ChainVerifier = field(default_factory=lambda: ChainVerifier(cache_size=64))
    info1: bytes = b""
    info2: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pkids = list(self.fleet.ci_pkids)
        self.info1 = rsp().encode(
            "EUICCInfo1",
            {"svn": SVN, "euiccCiPKIdListForVerification": pkids, "euiccCiPKIdListForSigning": pkids},
        )
        self.info2 = {
            "profileVersion": b"\x02\x03\x01",
            "svn": SVN,
            "euiccFirmwareVer": b"\x01\x00\x00",
            "extCardResource": bytes.fromhex("810100820400010000830222FF"),
            "uiccCapability": bit_string(1, 2, 4, 14),
            "rspCapability": bit_string(0, 3),
            "euiccCiPKIdListForVerification": pkids,
            "euiccCiPKIdListForSigning": pkids,
            "ppVersion": b"\x00\x00\x01",
            "sasAcreditationNumber": "OPENRSP-BENCH",
        }
        self._server_key = functools.lru_cache(maxsize=16)(self._verify_server_certificate)

    def server_key(self, der: bytes, role: str) -> tuple[PublicKey, str]:
        """The key and SM-DP+ OID of a CERT.DPauth / CERT.DPpb, once its chain to our CI verified."""
        return self._server_key(der, role)

    def _verify_server_certificate(self, der: bytes, role: str) -> tuple[PublicKey, str]:
        try:
            cert = x509.load_der_x509_certificate(der)
            self.verifier.verify(cert, self.fleet.trusted_cis, role=role)
        except (ValueError, ChainError) as exc:
            raise CardRefusal(f"{role} certificate refused: {exc}") from None
        key = cert.public_key()
        assert isinstance(key, PublicKey)
        return key, smdp_oid(cert) or ""


@dataclass
class LoadCard:
    """One virtual eUICC going through one download."""

    context: FleetContext
    euicc: VirtualEuicc
    rng: Callable[[int], bytes] = os.urandom
    challenge: bytes = b""
    transaction_id: bytes = b""
    signature1_tlv: bytes = b""
    smdp_oid: str = ""
    dppb_key: PublicKey | None = None
    otsk: Any = None
    otpk: bytes = b""

    # ES10b GetEUICCChallenge + GetEUICCInfo1: the initiateAuthentication request
    def initiate_request(self) -> tuple[bytes, bytes]:
        """A fresh euiccChallenge, and EUICCInfo1."""
        self.challenge = self.rng(16)
        return self.challenge, self.context.info1

    # ES10b AuthenticateServer
    def authenticate_server(
        self,
        server_signed1: bytes,
        server_signature1: bytes,
        ci_pkid_tlv: bytes,
        server_certificate: bytes,
        matching_id: str | None,
    ) -> bytes:
        signed1 = rsp().decode("ServerSigned1", server_signed1)
        key, self.smdp_oid = self.context.server_key(server_certificate, "dpauth")
        if read_single_tlv(ci_pkid_tlv, 0x04).value not in self.context.fleet.ci_pkids:
            raise CardRefusal("euiccCiPKIdToBeUsed is not a CI of this eUICC")
        if not verify_plain(key, server_signed1, _signature_of(server_signature1)):
            raise CardRefusal("serverSignature1 does not verify")
        if signed1["euiccChallenge"] != self.challenge:
            raise CardRefusal("serverSigned1 answers another challenge")
        self.transaction_id = signed1["transactionId"]
        ctx: dict[str, Any] = {"deviceInfo": DEVICE_INFO}
        if matching_id is not None:
            ctx["matchingId"] = matching_id
        euicc_signed1 = rsp().encode(
            "EuiccSigned1",
            {
                "transactionId": self.transaction_id,
                "serverAddress": signed1["serverAddress"],
                "serverChallenge": signed1["serverChallenge"],
                "euiccInfo2": self.context.info2,
                "ctxParams1": ("ctxParamsForCommonAuthentication", ctx),
            },
        )
        self.signature1_tlv = _signature_tlv(sign_plain(self.euicc.key, euicc_signed1))
        body = (
            euicc_signed1 + self.signature1_tlv + self.euicc.certificate + self.context.fleet.eum_certificate
        )
        return encode_tlv(0xBF38, encode_tlv(0xA0, body))

    # ES10b PrepareDownload
    def prepare_download(self, smdp_signed2: bytes, smdp_signature2: bytes, smdp_certificate: bytes) -> bytes:
        signed2 = rsp().decode("SmdpSigned2", smdp_signed2)
        self.dppb_key, oid = self.context.server_key(smdp_certificate, "dppb")
        if oid != self.smdp_oid:
            raise CardRefusal("CERT.DPpb belongs to another SM-DP+ than CERT.DPauth")
        if not verify_plain(
            self.dppb_key, smdp_signed2 + self.signature1_tlv, _signature_of(smdp_signature2)
        ):
            raise CardRefusal("smdpSignature2 does not verify")
        if signed2["transactionId"] != self.transaction_id:
            raise CardRefusal("smdpSigned2 names another transaction")
        if signed2["ccRequiredFlag"]:
            raise CardRefusal("the benchmark orders need no confirmation code")
        self.otsk = generate_one_time_key(self.context.fleet.curve)
        self.otpk = public_key_to_point(self.otsk)
        euicc_signed2 = rsp().encode(
            "EUICCSigned2", {"transactionId": self.transaction_id, "euiccOtpk": self.otpk}
        )
        signature = sign_plain(self.euicc.key, euicc_signed2 + smdp_signature2)
        return encode_tlv(0xBF21, encode_tlv(0xA0, euicc_signed2 + _signature_tlv(signature)))

    # ES10b LoadBoundProfilePackage, without installing the profile elements
    def open_package(self, bpp: bytes) -> bytes:
        """Verify and decrypt the whole BPP; the profile package bytes it carried."""
        assert self.dppb_key is not None and self.otsk is not None
        try:
            parts = split_bpp(bpp)
            isc = parse_initialise_secure_channel(parts.initialise_secure_channel)
            if isc.transaction_id != self.transaction_id:
                raise CardRefusal("the package is for another transaction")
            if not verify_plain(self.dppb_key, smdp_sign_input(isc.signed_objects, self.otpk), isc.smdp_sign):
                raise CardRefusal("smdpSign does not verify")
            keys = derive_session_keys(
                shared_secret(self.otsk, isc.smdp_otpk), isc.host_id, bytes.fromhex(self.euicc.eid)
            )
            receiver = BspReceiver(keys)
            for segment in parts.configure_isdp + parts.store_metadata:
                receiver.unprotect(segment)
            for segment in parts.replace_session_keys or []:
                receiver.accept_replace_session_keys(segment)
            profile = b"".join(receiver.unprotect(segment) for segment in parts.profile_segments)
        except OpenRSPError as exc:
            if isinstance(exc, CardRefusal):
                raise
            raise CardRefusal(f"bound profile package refused: {exc}") from None
        if not profile:
            raise CardRefusal("the package carried no profile")
        return profile

    # The signed ProfileInstallationResult the LPA hands to handleNotification
    def install_result(self, iccid: str, notification_address: str) -> bytes:
        data = rsp().encode(
            "ProfileInstallationResultData",
            {
                "transactionId": self.transaction_id,
                "notificationMetadata": {
                    "seqNumber": 1,
                    "profileManagementOperation": bit_string(INSTALL_EVENT),
                    "notificationAddress": notification_address,
                    "iccid": iccid_to_bytes(iccid),
                },
                "smdpOid": self.smdp_oid,
                "finalResult": ("successResult", {"aid": ISDP_AID, "simaResponse": SIMA_RESPONSE_OK}),
            },
        )
        return encode_tlv(0xBF37, data + _signature_tlv(sign_plain(self.euicc.key, data)))

    # ES10b CancelSession
    def cancel_session(self, reason: int) -> bytes:
        signed = rsp().encode(
            "EuiccCancelSessionSigned",
            {"transactionId": self.transaction_id, "smdpOid": self.smdp_oid, "reason": reason},
        )
        body = signed + _signature_tlv(sign_plain(self.euicc.key, signed))
        return encode_tlv(0xBF41, encode_tlv(0xA0, body))
