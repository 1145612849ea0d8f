"""A test-side eUICC and LPA for the ES9+ tests.

SoftEuicc does, with a real test eUICC key (from `openrsp pki init` or SGP.26), what a card does
in a download: it checks the SM-DP+'s signatures, signs euiccSigned1 / euiccSigned2, makes its
one-time key, and opens the bound profile package back to the profile bytes. Each step takes
knobs to go wrong on purpose, so the tests can drive every refusal of the SM-DP+.

`Es9Call` is the LPA side: one function to call an ES9+ function, in process (the service
object) or over HTTPS (a real `openrsp smdp serve`), answering the JSON the LPA would see.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from smdp_support import OPENRSP, FakeClock
from sqlalchemy import select

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import bit_string, iccid_to_bytes
from openrsp.asn1.tlv import encode_tlv, read_single_tlv
from openrsp.crypto.ecdsa import sign_plain, verify_plain
from openrsp.crypto.ecka import generate_one_time_key, shared_secret
from openrsp.crypto.kdf import SessionKeys, derive_session_keys
from openrsp.crypto.keys import PrivateKey, public_key_to_point
from openrsp.es8.bsp import BspReceiver
from openrsp.es8.segments import parse_initialise_secure_channel, smdp_sign_input, split_bpp
from openrsp.pki.credentials import EuiccCredentials, SmdpCredentials
from openrsp.pki.eid import eid_from_certificate
from openrsp.rspserver.jsonapi import failure, success
from openrsp.smdp.config import SmdpConfig
from openrsp.smdp.context import SmdpContext
from openrsp.smdp.db import events as event_log
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.models import Notification, RspSession
from openrsp.smdp.db.profiles import NewProfile, add_profiles, get_profile
from openrsp.smdp.errors import Es9Error
from openrsp.smdp.es2.service import Es2Service
from openrsp.smdp.es9.service import Es9Service
from ports import free_port

TS48_PROFILE = "TS48V2-SAIP2-1-BERTLV-UNIQUE.der"
ES9_HEADERS = {"X-Admin-Protocol": "gsma/rsp/v2.2.2", "User-Agent": "gsma-rsp-lpad"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def signature_tlv(signature: bytes) -> bytes:
    return encode_tlv(0x5F37, signature)


# -- the LPA's view: call a function, get the JSON answer ----------------------------------------

Es9Call = Callable[[str, dict[str, Any]], dict[str, Any]]


def in_process(service_factory: Callable[[], Any]) -> Es9Call:
    """Call Es9Service directly, framing the answer as the HTTP layer does."""

    def call(function: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return success(getattr(service_factory(), function)(body))
        except Es9Error as exc:
            return failure(exc)

    return call


def over_https(client: httpx.Client, sni: str) -> Es9Call:
    """POST to a real server; handleNotification's 204 becomes an empty success."""

    def call(function: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(
            f"/gsma/rsp2/es9plus/{function}", json=body, headers=ES9_HEADERS, extensions={"sni_hostname": sni}
        )
        assert response.status_code in (200, 204), response.text
        if response.status_code == 204:
            assert function == "handleNotification" and not response.content
            return success()
        return response.json()

    return call


def codes(answer: dict[str, Any]) -> tuple[str, str]:
    status = answer["header"]["functionExecutionStatus"]
    assert status["status"] == "Failed", answer
    return status["statusCodeData"]["subjectCode"], status["statusCodeData"]["reasonCode"]


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    status = answer["header"]["functionExecutionStatus"]
    assert status["status"] == "Executed-Success", status
    return answer


# -- the card --------------------------------------------------------------------------------------


@dataclass
class OpenedPackage:
    """What a bound profile package carried, after MAC checks and decryption."""

    transaction_id: bytes
    configure_isdp: bytes
    store_metadata: bytes
    profile: bytes
    ppk: SessionKeys | None  # the profile protection keys ReplaceSessionKeys carried


@dataclass
class SoftEuicc:
    eid: str
    key: PrivateKey
    certificate: bytes  # CERT.EUICC DER
    eum_certificate: bytes
    ci_pkids: list[bytes]
    eum_key: PrivateKey | None = None
    svn: bytes = b"\x02\x02\x02"
    rng: Callable[[int], bytes] = os.urandom
    forbidden_pprs: tuple[int, ...] = ()  # PprIds bits EUICCInfo2.forbiddenProfilePolicyRules names
    # session state, as a card keeps it
    challenge: bytes = b""
    transaction_id: bytes = b""
    signature1_tlv: bytes = b""
    smdp_signature2_tlv: bytes = b""
    dppb_certificate: x509.Certificate | None = None
    otsk: PrivateKey | None = None
    otpk: bytes = b""
    kept: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, credentials: Path, curve: str | None = None) -> SoftEuicc:
        creds = EuiccCredentials.load(credentials, curve)
        return cls(
            eid=creds.eid,
            key=creds.euicc_key,
            certificate=creds.euicc_cert.public_bytes(Encoding.DER),
            eum_certificate=creds.eum_cert.public_bytes(Encoding.DER),
            ci_pkids=[ci.pkid for ci in creds.trusted_cis if ci.curve == creds.curve],
            eum_key=creds.eum_key,
        )

    def with_certificate(self, certificate: x509.Certificate, key: PrivateKey) -> SoftEuicc:
        """The same card model with another eUICC certificate (and its key)."""
        return replace(
            self,
            certificate=certificate.public_bytes(Encoding.DER),
            key=key,
            eid=eid_from_certificate(certificate),
        )

    # ES10b GetEUICCChallenge / GetEUICCInfo1
    def get_challenge(self) -> bytes:
        self.challenge = self.rng(16)
        return self.challenge

    def info1(
        self,
        *,
        svn: bytes | None = None,
        verification: list[bytes] | None = None,
        signing: list[bytes] | None = None,
    ) -> bytes:
        return rsp().encode(
            "EUICCInfo1",
            {
                "svn": svn or self.svn,
                "euiccCiPKIdListForVerification": self.ci_pkids if verification is None else verification,
                "euiccCiPKIdListForSigning": self.ci_pkids if signing is None else signing,
            },
        )

    def info2(self) -> dict[str, Any]:
        forbidden = (
            {"forbiddenProfilePolicyRules": bit_string(*self.forbidden_pprs)} if self.forbidden_pprs else {}
        )
        return forbidden | {
            "profileVersion": b"\x02\x03\x01",
            "svn": self.svn,
            "euiccFirmwareVer": b"\x01\x00\x00",
            "extCardResource": bytes.fromhex("810100820400010000830222FF"),
            "uiccCapability": bit_string(1, 2, 4, 14),
            "rspCapability": bit_string(0, 3),
            "euiccCiPKIdListForVerification": self.ci_pkids,
            "euiccCiPKIdListForSigning": self.ci_pkids,
            "ppVersion": b"\x00\x00\x01",
            "sasAcreditationNumber": "OPENRSP-TEST-SAS",
        }

    # ES10b AuthenticateServer
    def authenticate_server(
        self,
        answer: dict[str, Any],
        matching_id: str | None,
        *,
        server_challenge: bytes | None = None,
        transaction_id: bytes | None = None,
        break_signature: bool = False,
    ) -> bytes:
        """AuthenticateServerResponse for an initiateAuthentication answer (None: no matchingId)."""
        signed1_der = unb64(answer["serverSigned1"])
        signed1 = rsp().decode("ServerSigned1", signed1_der)
        server_cert = x509.load_der_x509_certificate(unb64(answer["serverCertificate"]))
        signature = read_single_tlv(unb64(answer["serverSignature1"]), 0x5F37).value
        assert verify_plain(server_cert.public_key(), signed1_der, signature), "serverSignature1 is wrong"
        assert signed1["euiccChallenge"] == self.challenge
        assert self.ci_pkid_to_use(answer) in self.ci_pkids
        self.transaction_id = signed1["transactionId"]
        assert answer["transactionId"] == self.transaction_id.hex().upper()
        ctx: dict[str, Any] = {"deviceInfo": {"tac": b"\x35\x29\x06\x11", "deviceCapabilities": {}}}
        if matching_id is not None:
            ctx["matchingId"] = matching_id
        euicc_signed1 = rsp().encode(
            "EuiccSigned1",
            {
                "transactionId": transaction_id or self.transaction_id,
                "serverAddress": signed1["serverAddress"],
                "serverChallenge": server_challenge or signed1["serverChallenge"],
                "euiccInfo2": self.info2(),
                "ctxParams1": ("ctxParamsForCommonAuthentication", ctx),
            },
        )
        signature1 = sign_plain(self.key, euicc_signed1)
        if break_signature:
            signature1 = sign_plain(self.key, euicc_signed1 + b"!")
        self.signature1_tlv = signature_tlv(signature1)
        body = euicc_signed1 + self.signature1_tlv + self.certificate + self.eum_certificate
        return encode_tlv(0xBF38, encode_tlv(0xA0, body))

    @staticmethod
    def ci_pkid_to_use(answer: dict[str, Any]) -> bytes:
        return read_single_tlv(unb64(answer["euiccCiPKIdToBeUsed"]), 0x04).value

    # ES10b PrepareDownload
    def prepare_download(
        self,
        answer: dict[str, Any],
        confirmation_code: str | None = None,
        *,
        new_otpk: bool = False,
        break_signature: bool = False,
        transaction_id: bytes | None = None,
    ) -> bytes:
        smdp_signed2_der = unb64(answer["smdpSigned2"])
        smdp_signed2 = rsp().decode("SmdpSigned2", smdp_signed2_der)
        self.smdp_signature2_tlv = unb64(answer["smdpSignature2"])
        self.dppb_certificate = x509.load_der_x509_certificate(unb64(answer["smdpCertificate"]))
        signature2 = read_single_tlv(self.smdp_signature2_tlv, 0x5F37).value
        assert verify_plain(
            self.dppb_certificate.public_key(), smdp_signed2_der + self.signature1_tlv, signature2
        ), "smdpSignature2 is wrong"
        self.kept["ccRequiredFlag"] = smdp_signed2["ccRequiredFlag"]
        self.kept["bppEuiccOtpk"] = smdp_signed2.get("bppEuiccOtpk")
        reuse = smdp_signed2.get("bppEuiccOtpk")
        if new_otpk or reuse is None or reuse != self.otpk or self.otsk is None:
            curve = "brp" if self.dppb_certificate.public_key().curve.name.startswith("brainpool") else "nist"
            self.otsk = generate_one_time_key(curve)
            self.otpk = public_key_to_point(self.otsk)
        signed2: dict[str, Any] = {
            "transactionId": transaction_id or self.transaction_id,
            "euiccOtpk": self.otpk,
        }
        if confirmation_code is not None:
            signed2["hashCc"] = hash_cc(confirmation_code, self.transaction_id)
        euicc_signed2 = rsp().encode("EUICCSigned2", signed2)
        signed_data = euicc_signed2 + self.smdp_signature2_tlv + (b"!" if break_signature else b"")
        body = euicc_signed2 + signature_tlv(sign_plain(self.key, signed_data))
        return encode_tlv(0xBF21, encode_tlv(0xA0, body))

    # ES10b LoadBoundProfilePackage, all segments at once
    def open_package(self, bpp: bytes) -> OpenedPackage:
        assert self.otsk is not None and self.dppb_certificate is not None
        parts = split_bpp(bpp)
        isc = parse_initialise_secure_channel(parts.initialise_secure_channel)
        assert verify_plain(
            self.dppb_certificate.public_key(), smdp_sign_input(isc.signed_objects, self.otpk), isc.smdp_sign
        ), "smdpSign is wrong"
        keys = derive_session_keys(
            shared_secret(self.otsk, isc.smdp_otpk), isc.host_id, bytes.fromhex(self.eid)
        )
        receiver = BspReceiver(keys)
        configure = b"".join(receiver.unprotect(s) for s in parts.configure_isdp)
        metadata = b"".join(receiver.unprotect(s) for s in parts.store_metadata)
        ppk = None
        for segment in parts.replace_session_keys or []:
            ppk = receiver.accept_replace_session_keys(segment)
        profile = b"".join(receiver.unprotect(s) for s in parts.profile_segments)
        return OpenedPackage(isc.transaction_id, configure, metadata, profile, ppk)

    # notifications and cancel
    def install_result(
        self,
        iccid: str,
        notification_address: str,
        smdp_oid: str,
        *,
        error_reason: int | None = None,
        seq: int = 1,
        transaction_id: bytes | None = None,
        break_signature: bool = False,
    ) -> bytes:
        """ProfileInstallationResult (BF37): success, or an errorResult with this errorReason."""
        if error_reason is None:
            final = (
                "successResult",
                {"aid": bytes.fromhex("A0000005591010FFFFFFFF8900001100"), "simaResponse": b"\x30\x00"},
            )
        else:
            final = ("errorResult", {"bppCommandId": 5, "errorReason": error_reason})
        data = rsp().encode(
            "ProfileInstallationResultData",
            {
                "transactionId": transaction_id or self.transaction_id,
                "notificationMetadata": {
                    "seqNumber": seq,
                    "profileManagementOperation": bit_string(0),
                    "notificationAddress": notification_address,
                    "iccid": iccid_to_bytes(iccid),
                },
                "smdpOid": smdp_oid,
                "finalResult": final,
            },
        )
        signature = sign_plain(self.key, data + (b"!" if break_signature else b""))
        return encode_tlv(0xBF37, data + signature_tlv(signature))

    def other_notification(
        self, event_bit: int, iccid: str, notification_address: str, seq: int = 2
    ) -> bytes:
        tbs = rsp().encode(
            "NotificationMetadata",
            {
                "seqNumber": seq,
                "profileManagementOperation": bit_string(event_bit),
                "notificationAddress": notification_address,
                "iccid": iccid_to_bytes(iccid),
            },
        )
        body = tbs + signature_tlv(sign_plain(self.key, tbs)) + self.certificate + self.eum_certificate
        return encode_tlv(0x30, body)

    def cancel_session(self, reason: int, smdp_oid: str, *, break_signature: bool = False) -> bytes:
        signed = rsp().encode(
            "EuiccCancelSessionSigned",
            {"transactionId": self.transaction_id, "smdpOid": smdp_oid, "reason": reason},
        )
        signature = sign_plain(self.key, signed + (b"!" if break_signature else b""))
        return encode_tlv(0xBF41, encode_tlv(0xA0, signed + signature_tlv(signature)))


def hash_cc(code: str, transaction_id: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(code.encode()).digest() + transaction_id).digest()


# -- a whole download, step by step -------------------------------------------------------------------


@dataclass
class Download:
    """The answers of one run through the ES9+ functions (each may be a failure)."""

    initiate: dict[str, Any] | None = None
    authenticate: dict[str, Any] | None = None
    bpp: dict[str, Any] | None = None

    @property
    def transaction_id(self) -> str:
        assert self.initiate is not None
        return self.initiate["transactionId"]

    @property
    def package(self) -> bytes:
        assert self.bpp is not None
        return unb64(ok(self.bpp)["boundProfilePackage"])


def initiate(call: Es9Call, euicc: SoftEuicc, address: str, **info1: Any) -> dict[str, Any]:
    return call(
        "initiateAuthentication",
        {
            "euiccChallenge": b64(euicc.get_challenge()),
            "euiccInfo1": b64(euicc.info1(**info1)),
            "smdpAddress": address,
        },
    )


def authenticate(
    call: Es9Call, euicc: SoftEuicc, init: dict[str, Any], matching_id: str | None, **knobs: Any
) -> dict[str, Any]:
    response = euicc.authenticate_server(init, matching_id, **knobs)
    return call(
        "authenticateClient",
        {"transactionId": init["transactionId"], "authenticateServerResponse": b64(response)},
    )


def get_bpp(
    call: Es9Call, euicc: SoftEuicc, auth: dict[str, Any], code: str | None = None, **knobs: Any
) -> dict[str, Any]:
    response = euicc.prepare_download(auth, code, **knobs)
    euicc.kept["prepareDownloadResponse"] = response  # an LPA re-sends these bytes on a retry
    return call(
        "getBoundProfilePackage",
        {"transactionId": auth["transactionId"], "prepareDownloadResponse": b64(response)},
    )


def download(
    call: Es9Call, euicc: SoftEuicc, address: str, matching_id: str | None, code: str | None = None
) -> Download:
    """initiateAuthentication → authenticateClient → getBoundProfilePackage, stopping at a failure."""
    run = Download(initiate=initiate(call, euicc, address))
    if run.initiate["header"]["functionExecutionStatus"]["status"] != "Executed-Success":
        return run
    run.authenticate = authenticate(call, euicc, run.initiate, matching_id)
    if run.authenticate["header"]["functionExecutionStatus"]["status"] != "Executed-Success":
        return run
    run.bpp = get_bpp(call, euicc, run.authenticate, code)
    return run


# -- an SM-DP+ in process, on the test database ------------------------------------------------------


@dataclass
class Es9Rig:
    """Es9Service on a real database with real credentials, plus ES2+ to make orders."""

    context: SmdpContext
    clock: Any  # smdp_support.FakeClock
    euicc: SoftEuicc
    package: bytes  # the profile package every test profile carries (a TS.48 one)
    operator: str = "op"
    serial: int = 0

    @property
    def call(self) -> Es9Call:
        return in_process(lambda: Es9Service(self.context))

    @property
    def address(self) -> str:
        return self.context.address

    @property
    def oid(self) -> str:
        return self.context.credentials.oid

    @property
    def es2(self) -> Es2Service:
        return Es2Service(
            self.context.database, operator=self.operator, address=self.address, clock=self.clock
        )

    def add_profile(self, **fields: Any) -> str:
        self.serial += 1
        iccid = fields.pop("iccid", f"89000123456789{self.serial:05d}")
        fields.setdefault("spn", "openrsp")
        fields.setdefault("profile_name", f"Test {self.serial}")
        add_profiles(self.context.database, [NewProfile(iccid, self.package, **fields)], self.operator)
        return iccid

    def order(self, iccid: str, *, eid: str | None = None, release: bool = True, **confirm: Any) -> str:
        """downloadOrder + confirmOrder (+ release); the matchingId ('' when none)."""
        self.es2.download_order({"iccid": iccid, **({"eid": eid} if eid else {})})
        answer = self.es2.confirm_order({"iccid": iccid, "releaseFlag": release, **confirm})
        return answer["matchingId"] or ""

    def released_profile(self, **confirm: Any) -> tuple[str, str]:
        iccid = self.add_profile()
        return iccid, self.order(iccid, **confirm)

    def state(self, iccid: str) -> str:
        return self.es2.profile_status({"iccid": iccid})["state"]

    def order_row(self, iccid: str) -> Any:
        with self.context.database.transaction() as connection:
            profile = get_profile(connection, iccid)
            assert profile is not None and profile.order is not None
            return profile.order

    def events(self, iccid: str) -> list[tuple[str, str | None, str | None, dict[str, Any]]]:
        with self.context.database.transaction() as connection:
            rows = event_log.events(connection, iccid)
            return [(r.event, r.from_state, r.to_state, dict(r.detail)) for r in rows]

    def stored_sessions(self) -> str:
        """Every RSP session row as the database holds it (JSON text), to look for secrets in."""
        with self.context.database.transaction() as connection:
            rows = connection.execute(select(*RspSession.__table__.c)).all()
            return json.dumps([[r.transaction_id, r.state, r.data] for r in rows])

    def notifications(self) -> list[Any]:
        with self.context.database.transaction() as connection:
            return connection.execute(select(*Notification.__table__.c).order_by(Notification.id)).all()


def make_context(
    database: SmdpDatabase, credentials: SmdpCredentials, clock: Any, data_dir: Path
) -> SmdpContext:
    config = SmdpConfig(data_dir=data_dir, db_url="sqlite://", credentials_dir=credentials.source)
    return SmdpContext(
        config=config,
        database=database,
        sealer=database.sealer,
        address=credentials.address,
        credentials=credentials,
        clock=clock,
    )


# -- fixtures (imported by the test_es9_* modules) ------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    """Real time (the test PKI is valid now), movable; overrides conftest's fixed 2026-01-02."""
    return FakeClock(now=datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(scope="session")
def smdp_credentials(pki_dir: Path) -> SmdpCredentials:
    return SmdpCredentials.load(pki_dir)


@pytest.fixture(scope="session")
def ts48_package(ts48_dir: Path) -> bytes:
    return (ts48_dir / TS48_PROFILE).read_bytes()


@pytest.fixture
def rig(
    database: SmdpDatabase,
    smdp_credentials: SmdpCredentials,
    clock: FakeClock,
    pki_dir: Path,
    tmp_path: Path,
    ts48_package: bytes,
) -> Es9Rig:
    context = make_context(database, smdp_credentials, clock, tmp_path)
    return Es9Rig(context, clock, SoftEuicc.load(pki_dir, "nist"), ts48_package)


# -- a real `openrsp smdp serve` ------------------------------------------------------------------------


@dataclass
class RunningSmdp:
    process: subprocess.Popen[bytes]
    port: int
    ca_file: Path  # the CI certificate that issued the server's TLS certificate
    sni: str
    log: Path

    def client(self) -> httpx.Client:
        verify = ssl.create_default_context(cafile=str(self.ca_file))
        return httpx.Client(base_url=f"https://127.0.0.1:{self.port}", verify=verify, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def serve(credentials: Path, data_dir: Path, ca_file: Path, sni: str, *args: str) -> RunningSmdp:
    """`openrsp smdp serve --credentials …` on a free port, once it answers over TLS."""
    for _ in range(3):  # the probed port may be taken before uvicorn binds it: try another
        port = free_port()
        log = data_dir.parent / f"serve-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(OPENRSP), "smdp", "serve", "--data", str(data_dir), "--credentials", str(credentials)]
                + ["--port", str(port), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        server = RunningSmdp(process, port, ca_file, sni, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with server.client() as http:
                    if http.get("/openrsp/health", extensions={"sni_hostname": sni}).status_code == 200:
                        return server
            except httpx.HTTPError:
                time.sleep(0.1)
        server.stop()
        if "address already in use" not in log.read_text().lower():
            raise AssertionError(f"openrsp smdp serve did not start:\n{log.read_text()}")
    raise AssertionError("openrsp smdp serve: no free port")
