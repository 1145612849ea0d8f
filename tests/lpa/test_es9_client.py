"""The ES9+ client over real HTTPS: headers, JSON binding, TLS trust in the CI, failures by kind."""

import base64
import socket

import pytest
from cryptography import x509
from https_peer import https_peer

from openrsp.lpa.core.errors import Es9Failure, Es9ProtocolError, NoTrustError, SmdpTlsError, SmdpUnreachable
from openrsp.lpa.drivers.es9_client import Es9Client
from openrsp.lpa.drivers.https import HttpsSettings, load_ca_certificates, parse_resolve
from openrsp.pki.testpki import init_pki

HOST = "smdp.openrsp.test"  # the name in the test PKI's SM-DP+ TLS certificate
TID = bytes(range(16))
OK = {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def settings(pki_dir, **more) -> HttpsSettings:
    cas = load_ca_certificates([pki_dir / "nist" / "ci.cert.pem", pki_dir / "brp" / "ci.cert.der"])
    return HttpsSettings(tuple(cas), resolve={HOST: "127.0.0.1"}, **more)


def failed(subject: str, reason: str, message: str) -> dict:
    data = {"subjectCode": subject, "reasonCode": reason, "message": message}
    return {"header": {"functionExecutionStatus": {"status": "Failed", "statusCodeData": data}}}


def test_request_framing_and_answer(pki_dir):
    signed1 = bytes.fromhex("3003800101")
    answer = OK | {
        "transactionId": TID.hex().upper(),
        "serverSigned1": b64(signed1),
        "serverSignature1": b64(bytes.fromhex("5F3740") + bytes(64)),
        "euiccCiPKIdToBeUsed": b64(bytes.fromhex("0414") + bytes(20)),
        "serverCertificate": b64(bytes.fromhex("3000")),
    }
    with https_peer(pki_dir, lambda function, body: (200, answer)) as peer:
        address = f"{HOST}:{peer.port}"
        with Es9Client(address, settings(pki_dir)) as client:
            result = client.initiate_authentication(b"C" * 16, bytes.fromhex("BF2000"), address)
    assert result.transaction_id == TID and result.server_signed1 == signed1
    [seen] = peer.seen
    assert seen.path == "/gsma/rsp2/es9plus/initiateAuthentication"
    assert seen.headers["user-agent"] == "gsma-rsp-lpad"
    assert seen.headers["x-admin-protocol"] == "gsma/rsp/v2.2.2"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["host"] == address  # the name, not the address it resolved to
    assert seen.sni == HOST
    assert seen.body == {
        "euiccChallenge": b64(b"C" * 16),
        "euiccInfo1": b64(bytes.fromhex("BF2000")),
        "smdpAddress": address,
    }


def test_failed_status_carries_the_codes(pki_dir):
    answer = failed("8.2.7", "3.8", "confirmation code is refused")
    with (
        https_peer(pki_dir, lambda f, b: (200, answer)) as peer,
        Es9Client(f"{HOST}:{peer.port}", settings(pki_dir)) as client,
        pytest.raises(Es9Failure) as caught,
    ):
        client.get_bound_profile_package(TID, bytes.fromhex("BF2100"))
    error = caught.value
    assert (error.function, error.subject_code, error.reason_code) == (
        "getBoundProfilePackage",
        "8.2.7",
        "3.8",
    )
    assert "Confirmation Code - Refused" in str(error) and "confirmation code is refused" in str(error)
    assert error.step == "es9p_get_bound_profile_package"


def test_notification_and_cancel_accept_any_2xx(pki_dir):
    answers = {"handleNotification": (204, None), "cancelSession": (200, OK)}
    with (
        https_peer(pki_dir, lambda f, b: answers[f]) as peer,
        Es9Client(f"{HOST}:{peer.port}", settings(pki_dir)) as client,
    ):
        client.handle_notification(bytes.fromhex("BF3700"))
        client.cancel_session(TID, bytes.fromhex("BF4100"))
    assert [s.body for s in peer.seen] == [
        {"pendingNotification": b64(bytes.fromhex("BF3700"))},
        {"transactionId": TID.hex().upper(), "cancelSessionResponse": b64(bytes.fromhex("BF4100"))},
    ]


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ((500, b"oops"), "HTTP 500"),
        ((200, b"not json"), "no JSON body"),
        ((200, OK), "transactionId is missing"),
        (
            (200, OK | {"transactionId": "00" * 16, "boundProfilePackage": b64(b"\xbf\x36\x00")}),
            "not this session",
        ),
        ((200, OK | {"transactionId": TID.hex(), "boundProfilePackage": "***"}), "not base64"),
        (
            (200, OK | {"transactionId": TID.hex(), "boundProfilePackage": b64(b"\x30\x00")}),
            "expected tag BF36",
        ),
    ],
)
def test_malformed_answers(pki_dir, answer, complaint):
    with (
        https_peer(pki_dir, lambda f, b: answer) as peer,
        Es9Client(f"{HOST}:{peer.port}", settings(pki_dir)) as client,
        pytest.raises(Es9ProtocolError, match=complaint),
    ):
        client.get_bound_profile_package(TID, bytes.fromhex("BF2100"))


def test_tls_is_verified_against_the_ci(pki_dir, tmp_path):
    other = init_pki(tmp_path / "other-pki", curves=["nist"])
    strangers = HttpsSettings(
        tuple(load_ca_certificates([other.cert_path("nist", "ci")])), resolve={HOST: "127.0.0.1"}
    )
    with https_peer(pki_dir, lambda f, b: (204, None)) as peer:
        with (
            Es9Client(f"{HOST}:{peer.port}", strangers) as client,
            pytest.raises(SmdpTlsError, match="not trusted"),
        ):
            client.handle_notification(b"\x30\x00")
        # The right CI, but the name the certificate does not carry.
        wrong_name = HttpsSettings(settings(pki_dir).ca_certificates, resolve={"other.example": "127.0.0.1"})
        with Es9Client(f"other.example:{peer.port}", wrong_name) as client, pytest.raises(SmdpTlsError):
            client.handle_notification(b"\x30\x00")
        assert peer.seen == []


def test_unreachable_and_no_trust(pki_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens there once closed
    with Es9Client(f"{HOST}:{port}", settings(pki_dir)) as client, pytest.raises(SmdpUnreachable) as caught:
        client.handle_notification(b"\x30\x00")
    assert caught.value.address == f"{HOST}:{port}" and not caught.value.timeout
    with pytest.raises(NoTrustError, match="--ci"):
        HttpsSettings().ssl_context()


def test_resolve_entries():
    assert parse_resolve(["a.example:127.0.0.1", "B.example:443:10.0.0.1", "c.example:[::1]"]) == {
        "a.example": "127.0.0.1",
        "b.example": "10.0.0.1",
        "c.example": "::1",
    }
    with pytest.raises(Exception, match="HOST:IP"):
        parse_resolve(["just-a-name"])
    resolving = HttpsSettings(resolve={"a.example": "127.0.0.1", "v6.example": "::1"})
    assert resolving.target("a.example:8443") == ("127.0.0.1:8443", "a.example")
    assert resolving.target("v6.example") == ("[::1]", "v6.example")
    assert resolving.target("elsewhere.example") == ("elsewhere.example", None)
    proxied = HttpsSettings(resolve={"a.example": "127.0.0.1"}, proxy="http://127.0.0.1:3128")
    assert proxied.target("a.example:8443") == ("a.example:8443", None)  # the proxy resolves names


def test_ca_files_pem_der_and_garbage(pki_dir, tmp_path):
    certs = load_ca_certificates([pki_dir / "nist" / "ci.cert.pem", pki_dir / "tls" / "dptls.chain.pem"])
    assert len(certs) == 3 and all(isinstance(c, x509.Certificate) for c in certs)
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(Exception, match="not a certificate"):
        load_ca_certificates([junk])
    with pytest.raises(Exception, match="cannot read"):
        load_ca_certificates([tmp_path / "missing.pem"])


def test_only_the_ci_certificates_are_trusted(pki_dir):
    context = settings(pki_dir).ssl_context()
    assert context.cert_store_stats()["x509_ca"] == 2  # the two CIs, no system web CA
    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"
