"""Test-side SM-DP+ and LPA for driving the virtual eUICC: signs serverSigned1 and smdpSigned2 with
real DPauth/DPpb keys, binds packages with es8/build.py, and walks a download through ES10 calls."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import bit_string, iccid_to_bytes
from openrsp.asn1.tlv import encode_tlv, read_tlv
from openrsp.crypto.ecdsa import PrivateKey, sign_plain, verify_plain
from openrsp.es8.build import build_bound_profile_package
from openrsp.es8.segments import segments_for_lpa
from openrsp.euicc.store import card_for, open_euicc
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.pki.credentials import SmdpCiSet, SmdpCredentials

Call = Callable[[bytes], bytes]

DEVICE_INFO = {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}


def der(cert: Any) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def store_metadata(
    iccid: str,
    *,
    spn: str = "openrsp test",
    name: str = "Test profile",
    profile_class: int | None = None,
    notifications: list[tuple[tuple[int, ...], str]] = (),
    ppr: tuple[int, ...] = (),
    owner: bytes | None = None,
) -> bytes:
    value: dict[str, Any] = {"iccid": iccid_to_bytes(iccid), "serviceProviderName": spn, "profileName": name}
    if profile_class is not None:
        value["profileClass"] = profile_class
    if notifications:
        value["notificationConfigurationInfo"] = [
            {"profileManagementOperation": bit_string(*events), "notificationAddress": address}
            for events, address in notifications
        ]
    if owner is not None:
        value["profileOwner"] = {"mccMnc": owner}
    if ppr:
        value["profilePolicyRules"] = bit_string(*ppr)
    return rsp().encode("StoreMetadataRequest", value)


@dataclass
class HarnessSmdp:
    """Just enough SM-DP+ to talk ES8+/ES9+ data to an eUICC, with every input overridable."""

    ci_set: SmdpCiSet
    address: str = "smdp.openrsp.test"

    def authenticate_server_request(
        self,
        euicc_challenge: bytes,
        transaction_id: bytes,
        *,
        server_challenge: bytes = b"\x5c" * 16,
        matching_id: str | None = "MATCHING-ID",
        ci_pkid: bytes | None = None,
        certificate: bytes | None = None,
        key: PrivateKey | None = None,
        tamper_signature: bool = False,
    ) -> bytes:
        signed1 = rsp().encode(
            "ServerSigned1",
            {
                "transactionId": transaction_id,
                "euiccChallenge": euicc_challenge,
                "serverAddress": self.address,
                "serverChallenge": server_challenge,
            },
        )
        signature = sign_plain(key or self.ci_set.dpauth_key, signed1)
        if tamper_signature:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        ctx: dict[str, Any] = {"deviceInfo": DEVICE_INFO}
        if matching_id is not None:
            ctx["matchingId"] = matching_id
        body = (
            signed1
            + encode_tlv(0x5F37, signature)
            + encode_tlv(0x04, ci_pkid if ci_pkid is not None else self.ci_set.ci_pkid)
            + (certificate or der(self.ci_set.dpauth_cert))
            + rsp().encode("CtxParams1", ("ctxParamsForCommonAuthentication", ctx))
        )
        return encode_tlv(0xBF38, body)

    def prepare_download_request(
        self,
        transaction_id: bytes,
        euicc_signature1: bytes,
        *,
        cc_required: bool = False,
        hash_cc: bytes | None = None,
        reuse_otpk: bytes | None = None,
        certificate: bytes | None = None,
        key: PrivateKey | None = None,
    ) -> bytes:
        signed2: dict[str, Any] = {"transactionId": transaction_id, "ccRequiredFlag": cc_required}
        if reuse_otpk is not None:
            signed2["bppEuiccOtpk"] = reuse_otpk
        signed2_der = rsp().encode("SmdpSigned2", signed2)
        signature = sign_plain(
            key or self.ci_set.dppb_key, signed2_der + encode_tlv(0x5F37, euicc_signature1)
        )
        body = signed2_der + encode_tlv(0x5F37, signature)
        if hash_cc is not None:
            body += encode_tlv(0x04, hash_cc)
        body += certificate or der(self.ci_set.dppb_cert)
        return encode_tlv(0xBF21, body)

    def bound_profile_package(
        self,
        transaction_id: bytes,
        euicc_otpk: bytes,
        eid: str,
        package: bytes,
        metadata: bytes,
        **options: Any,
    ) -> bytes:
        return build_bound_profile_package(
            transaction_id=transaction_id,
            eid=bytes.fromhex(eid),
            euicc_otpk=euicc_otpk,
            dppb_key=options.pop("dppb_key", self.ci_set.dppb_key),
            profile_package=package,
            store_metadata=metadata,
            **options,
        ).der


def hash_cc(code: str, transaction_id: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(code.encode()).digest() + transaction_id).digest()


@dataclass
class Download:
    """One download's intermediate results, for tests that stop half-way or tamper."""

    transaction_id: bytes
    challenge: bytes = b""
    authenticate_response: Any = None
    euicc_signed1: bytes = b""
    euicc_signature1: bytes = b""
    prepare_response: Any = None
    euicc_otpk: bytes = b""
    segments: list[bytes] = field(default_factory=list)
    answers: list[bytes] = field(default_factory=list)
    result: dict[str, Any] | None = None  # decoded ProfileInstallationResult
    result_der: bytes = b""


def decode_result(der_bytes: bytes) -> dict[str, Any]:
    return rsp().decode("ProfileInstallationResult", der_bytes)


def final_result(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return result["profileInstallationResultData"]["finalResult"]


class Lpa:
    """Runs the ES10 side of a download against `call` (an Es10Client.call or IsdR.handle_es10)."""

    def __init__(self, call: Call, smdp: HarnessSmdp, eid: str) -> None:
        self.call = call
        self.smdp = smdp
        self.eid = eid
        self._counter = 0

    def new_transaction_id(self) -> bytes:
        self._counter += 1
        return self._counter.to_bytes(16, "big")

    def authenticate(self, download: Download, **options: Any) -> Any:
        challenge = rsp().decode("GetEuiccChallengeResponse", self.call(bytes.fromhex("BF2E00")))
        download.challenge = challenge["euiccChallenge"]
        request = self.smdp.authenticate_server_request(
            download.challenge, download.transaction_id, **options
        )
        answer = self.call(request)
        download.authenticate_response = rsp().decode("AuthenticateServerResponse", answer)
        kind, value = download.authenticate_response
        if kind == "authenticateResponseOk":
            ok = read_tlv(read_tlv(answer).value)
            download.euicc_signed1 = read_tlv(ok.value).raw
            download.euicc_signature1 = value["euiccSignature1"]
        return download.authenticate_response

    def prepare(self, download: Download, **options: Any) -> Any:
        request = self.smdp.prepare_download_request(
            download.transaction_id, download.euicc_signature1, **options
        )
        answer = self.call(request)
        download.prepare_response = rsp().decode("PrepareDownloadResponse", answer)
        kind, value = download.prepare_response
        if kind == "downloadResponseOk":
            download.euicc_otpk = value["euiccSigned2"]["euiccOtpk"]
        return download.prepare_response

    def load(self, download: Download, bpp: bytes, *, stop_after: int | None = None) -> dict[str, Any] | None:
        download.segments = segments_for_lpa(bpp)
        for index, segment in enumerate(download.segments):
            if stop_after is not None and index >= stop_after:
                return None
            answer = self.call(segment)
            download.answers.append(answer)
            if answer:
                download.result_der = answer
                download.result = decode_result(answer)
                return download.result
        return None

    def download(
        self,
        package: bytes,
        metadata: bytes,
        *,
        bpp_options: dict[str, Any] | None = None,
        tamper: Callable[[bytes], bytes] | None = None,
    ) -> Download:
        """The whole ES10 side of one download; `tamper` may change the BPP before it is loaded."""
        download = Download(self.new_transaction_id())
        kind, _ = self.authenticate(download)
        assert kind == "authenticateResponseOk", download.authenticate_response
        kind, _ = self.prepare(download)
        assert kind == "downloadResponseOk", download.prepare_response
        bpp = self.smdp.bound_profile_package(
            download.transaction_id, download.euicc_otpk, self.eid, package, metadata, **(bpp_options or {})
        )
        if tamper is not None:
            bpp = tamper(bpp)
        self.load(download, bpp)
        return download


def verify_with_certificate(cert_der: bytes, data: bytes, signature: bytes) -> bool:
    from cryptography import x509

    return verify_plain(x509.load_der_x509_certificate(cert_der).public_key(), data, signature)


class Rig:
    """An eUICC opened from its folder, its card, an LPA-side ES10 client and a test SM-DP+."""

    def __init__(
        self, directory: Path, smdp: HarnessSmdp, credentials: SmdpCredentials | None = None
    ) -> None:
        self.directory = directory
        self.smdp = smdp
        self.smdp_credentials = credentials
        self.smdp_sets = credentials.sets if credentials else (smdp.ci_set,)
        self.reopen()

    def reopen(self) -> None:
        """A power cycle: the process forgets everything but the folder."""
        self.euicc = open_euicc(self.directory)
        self.card = card_for(self.euicc)
        self.client = Es10Client(InProcessTransport(self.card))
        self.lpa = Lpa(self.client.call, self.smdp, self.euicc.state.eid)

    def reset_card(self) -> None:
        """A card reset (same process): channels and everything volatile are gone."""
        self.card.reset()
        self.client = Es10Client(InProcessTransport(self.card))
        self.lpa.call = self.client.call

    @property
    def state_bytes(self) -> bytes:
        return (self.directory / "state.json").read_bytes()
