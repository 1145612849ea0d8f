"""Who may do what at an SM-DS, and the SGP.22 codes when not: ES12 only for trusted SM-DP+ TLS
certificates, ES11 only for eUICCs whose chain and signature verify (real HTTPS, a real card)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from smds_support import Smds, codes, executed

from openrsp.asn1.tlv import encode_tlv, iter_tlvs, read_tlv
from openrsp.euicc.store import create_euicc, open_card
from openrsp.lpa.core.device import DeviceInfo, encode_ctx_params1
from openrsp.lpa.core.discovery import retrieve_events
from openrsp.lpa.core.errors import Es9Failure
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.drivers.es10_client import Es10Client
from openrsp.lpa.drivers.es11_client import Es11Client
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.lpa.ui.connect import https_factory
from openrsp.pki import issue
from openrsp.pki.certio import (
    certificate_pem,
    load_certificate,
    load_private_key,
    write_file,
    write_private_key,
)
from openrsp.pki.curves import generate_key
from openrsp.pki.layout import PkiIndex
from openrsp.pki.testpki import init_pki
from openrsp.rspserver.es12_client import SmdsRefused, SmdsUnreachable

ES12 = "/gsma/rsp2/es12/"


@pytest.fixture(scope="module")
def eid(smds_pki: Path) -> str:
    return PkiIndex.read(smds_pki).eid


@pytest.fixture(scope="module")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("foreign") / "pki"
    init_pki(directory, curves=("nist",), smds_host="127.0.0.1")
    return directory


def _dp(pki: Path) -> tuple[Path, Path]:
    return pki / "tls" / "dptls.chain.pem", pki / "tls" / "dptls.key.pem"


def _body(eid: str, event_id: str, address: str = "smdp.example.test") -> dict:
    return {"eid": eid, "eventId": event_id, "rspServerAddress": address, "forwardingIndicator": False}


# --- ES12 ----------------------------------------------------------------------------------------------


def test_es12_without_a_client_certificate_is_refused(smds: Smds, eid: str) -> None:
    answer = smds.post(ES12 + "registerEvent", _body(eid, "NO-CERT"))
    assert codes(answer) == ("1.1", "1.1")
    assert not [e for e in smds.events() if e["eventId"] == "NO-CERT"]


def test_es12_with_a_certificate_of_another_role_is_refused(smds: Smds, smds_pki: Path, eid: str) -> None:
    ds_tls = (smds_pki / "tls" / "dstls.cert.pem", smds_pki / "tls" / "dstls.key.pem")
    assert codes(smds.post(ES12 + "registerEvent", _body(eid, "WRONG-ROLE"), ds_tls)) == ("1.1", "1.2")
    operator = (smds_pki / "operator-tls" / "client.cert.pem", smds_pki / "operator-tls" / "client.key.pem")
    with pytest.raises(Exception):  # noqa: B017,PT011 - the TLS handshake itself fails: not a trusted CA
        smds.post(ES12 + "registerEvent", _body(eid, "WRONG-ROLE"), operator)
    assert not [e for e in smds.events() if e["eventId"] == "WRONG-ROLE"]


def test_an_smdp_whose_tls_certificate_the_smds_does_not_trust_is_refused(
    smds: Smds, foreign_pki: Path, eid: str
) -> None:
    client, target = smds.es12(*_dp(foreign_pki))
    with pytest.raises(SmdsRefused) as refused:
        client.register_event(target, eid, "FOREIGN", "smdp.example.test", forwarding=False)
    assert (refused.value.subject_code, refused.value.reason_code) == ("1.1", "1.2")
    assert not [e for e in smds.events() if e["eventId"] == "FOREIGN"]


def test_dp_ca_limits_es12_to_the_smdps_it_names(smds_pki: Path, tmp_path: Path, eid: str) -> None:
    only_operators = smds_pki / "operator-tls" / "ca.cert.pem"  # trusts no SM-DP+ of the CI
    smds = Smds(smds_pki, tmp_path / "data", extra=("--dp-ca", str(only_operators))).start()
    try:
        client, target = smds.es12(*_dp(smds_pki))
        with pytest.raises(SmdsRefused) as refused:
            client.register_event(target, eid, "NOT-LISTED", "smdp.example.test", forwarding=False)
        assert (refused.value.subject_code, refused.value.reason_code) == ("1.1", "1.2")
        assert smds.events() == []
    finally:
        smds.stop()


def test_es12_register_is_idempotent_and_conflicts_and_unknown_deletions_have_codes(
    smds: Smds, smds_pki: Path, eid: str, tmp_path: Path
) -> None:
    client, target = smds.es12(*_dp(smds_pki))
    client.register_event(target, eid, "EVT-IDEM", "smdp.example.test", forwarding=False)
    client.register_event(target, eid, "EVT-IDEM", "smdp.example.test", forwarding=False)  # a resend
    assert len([e for e in smds.events() if e["eventId"] == "EVT-IDEM"]) == 1
    with pytest.raises(SmdsRefused) as conflict:
        client.register_event(target, eid, "EVT-IDEM", "other-smdp.example.test", forwarding=False)
    assert (conflict.value.subject_code, conflict.value.reason_code) == ("8.9.5", "3.3")
    with pytest.raises(SmdsRefused) as unknown:
        client.delete_event(target, eid, "EVT-NEVER")
    assert (unknown.value.subject_code, unknown.value.reason_code) == ("8.9.5", "3.9")

    # Another SM-DP+ (its own DP TLS certificate under the same CI) cannot delete this one's event.
    ci, ci_key = (
        load_certificate(smds_pki / "nist" / "ci.cert.pem"),
        load_private_key(smds_pki / "nist" / "ci.key.pem"),
    )
    key = generate_key("nist")
    other = issue.issue_dptls_certificate(ci, ci_key, key.public_key(), "other-smdp.example.test")
    write_file(tmp_path / "other.chain.pem", certificate_pem(other) + certificate_pem(ci))
    write_private_key(tmp_path / "other", key)
    other_client, _ = smds.es12(tmp_path / "other.chain.pem", tmp_path / "other.key.pem")
    with pytest.raises(SmdsRefused) as not_theirs:
        other_client.delete_event(target, eid, "EVT-IDEM")
    assert (not_theirs.value.subject_code, not_theirs.value.reason_code) == ("8.9.5", "3.9")
    assert [e["eventId"] for e in smds.events() if e["eventId"] == "EVT-IDEM"] == ["EVT-IDEM"]
    client.delete_event(target, eid, "EVT-IDEM")
    assert not [e for e in smds.events() if e["eventId"] == "EVT-IDEM"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"eid": "1234", "eventId": "E", "rspServerAddress": "a.b"}, ("8.1.1", "2.1")),
        ({"eid": "8" * 32, "rspServerAddress": "a.b"}, ("1.3.1", "2.2")),
        ({"eid": "8" * 32, "eventId": "E", "rspServerAddress": "not a host"}, ("1.3.1", "2.1")),
        ({"eid": "8" * 32, "eventId": "E" * 300, "rspServerAddress": "a.b"}, ("1.3.1", "2.1")),
        (
            {"eid": "8" * 32, "eventId": "E", "rspServerAddress": "a.b", "forwardingIndicator": "yes"},
            ("1.3.1", "2.1"),
        ),
    ],
)
def test_es12_malformed_requests(smds: Smds, smds_pki: Path, body: dict, expected: tuple[str, str]) -> None:
    answer = smds.post(
        ES12 + "registerEvent",
        body,
        (smds_pki / "tls" / "dptls.cert.pem", smds_pki / "tls" / "dptls.key.pem"),
    )
    assert codes(answer) == expected


def test_an_unreachable_smds_is_told_apart_from_a_refusing_one(
    smds_pki: Path, eid: str, tmp_path: Path
) -> None:
    down = Smds(smds_pki, tmp_path / "never-started")
    client, target = down.es12(*_dp(smds_pki))
    with pytest.raises(SmdsUnreachable):
        client.register_event(target, eid, "E", "smdp.example.test", forwarding=False)


# --- ES11 ----------------------------------------------------------------------------------------------


@pytest.fixture
def es10(smds_pki: Path, tmp_path: Path) -> Iterator[Es10]:
    directory = tmp_path / "euicc"
    create_euicc(directory, pki=smds_pki)
    transport = InProcessTransport(open_card(directory))
    client = Es10Client(transport)
    try:
        yield Es10(client)
    finally:
        client.close()
        transport.close()


def _es11(smds: Smds, smds_pki: Path, address: str | None = None) -> Es11Client:
    settings = https_factory(ci=[smds_pki / "nist" / "ci.cert.pem"])()
    return Es11Client(address or smds.address, settings)


def _authenticated(es10: Es10, client: Es11Client) -> tuple[bytes, bytes]:
    """initiateAuthentication + AuthenticateServer: (transactionId, AuthenticateServerResponse)."""
    info1, challenge = es10.get_euicc_info1(), es10.get_euicc_challenge()
    init = client.initiate_authentication(challenge, info1)
    response = es10.authenticate_server(
        server_signed1=init.server_signed1, server_signature1=init.server_signature1,
        euicc_ci_pkid_to_be_used=init.euicc_ci_pkid_to_be_used, server_certificate=init.server_certificate,
        ctx_params1=encode_ctx_params1(None, DeviceInfo()),
    )  # fmt: skip
    assert es10.authenticate_server_error(response) is None  # the eUICC accepts CERT.DSauth
    return init.transaction_id, response


def _replace_in_response(response: bytes, index: int, new_tlv: bytes) -> bytes:
    """AuthenticateServerResponse with item `index` of authenticateResponseOk replaced."""
    ok = read_tlv(read_tlv(response).value)
    items = [t.raw for t in iter_tlvs(ok.value)]
    items[index] = new_tlv
    return encode_tlv(0xBF38, encode_tlv(0xA0, b"".join(items)))


def test_es11_lists_the_authenticated_euiccs_events(smds: Smds, smds_pki: Path, es10: Es10, eid: str) -> None:
    client, target = smds.es12(*_dp(smds_pki))
    client.register_event(target, eid, "ES11-LIST", "smdp.example.test", forwarding=False)
    with _es11(smds, smds_pki) as es11:
        events = retrieve_events(es10, es11, DeviceInfo())
    assert ("ES11-LIST", "smdp.example.test") in [(e.event_id, e.rsp_server_address) for e in events]
    client.delete_event(target, eid, "ES11-LIST")


def test_es11_refuses_another_smds_address(smds: Smds, smds_pki: Path, es10: Es10) -> None:
    with _es11(smds, smds_pki) as es11, pytest.raises(Es9Failure) as failure:
        es11.initiate_authentication(
            es10.get_euicc_challenge(), es10.get_euicc_info1(), "smds.elsewhere.test"
        )
    assert (failure.value.subject_code, failure.value.reason_code) == ("8.8.1", "3.8")


def test_es11_refuses_an_euicc_whose_chain_fails(
    smds: Smds, smds_pki: Path, foreign_pki: Path, es10: Es10
) -> None:
    foreign_euicc = (foreign_pki / "nist" / "euicc.cert.der").read_bytes()
    with _es11(smds, smds_pki) as es11:
        transaction_id, response = _authenticated(es10, es11)
        with pytest.raises(Es9Failure) as failure:
            es11.retrieve_events(transaction_id, _replace_in_response(response, 2, foreign_euicc))
    assert (failure.value.subject_code, failure.value.reason_code) == ("8.1.3", "6.1")


def test_es11_refuses_a_bad_signature_and_a_replay(smds: Smds, smds_pki: Path, es10: Es10) -> None:
    with _es11(smds, smds_pki) as es11:
        transaction_id, response = _authenticated(es10, es11)
        ok = read_tlv(read_tlv(response).value)
        signature = list(iter_tlvs(ok.value))[1]
        forged = encode_tlv(0x5F37, bytes([signature.value[0] ^ 1]) + signature.value[1:])
        with pytest.raises(Es9Failure) as failure:
            es11.retrieve_events(transaction_id, _replace_in_response(response, 1, forged))
        assert (failure.value.subject_code, failure.value.reason_code) == ("8.1", "6.1")

        transaction_id, response = _authenticated(es10, es11)
        es11.retrieve_events(transaction_id, response)
        with pytest.raises(Es9Failure) as replay:
            es11.retrieve_events(transaction_id, response)
        assert (replay.value.subject_code, replay.value.reason_code) == ("8.10.1", "3.9")


def test_es11_answers_lpac_on_its_es9plus_paths_and_framing_errors_have_codes(smds: Smds) -> None:
    answer = smds.post("/gsma/rsp2/es9plus/initiateAuthentication", {"euiccChallenge": "AAAA"})
    assert codes(answer) == ("1.3.1", "2.2")  # euiccInfo1 missing: an SGP.22 answer, not a 404
    answer = smds.post(
        "/gsma/rsp2/es11/authenticateClient", {"transactionId": "00", "authenticateServerResponse": "!"}
    )
    assert codes(answer) == ("1.3.1", "2.1")
    assert not executed(answer)


def test_an_oversized_body_is_refused_without_reading_it_all(smds: Smds) -> None:
    import httpx

    def endless():  # noqa: ANN202 - a chunked body with no declared length
        chunk = b"{" + b" " * 65535
        for _ in range(64):  # 4 MiB
            yield chunk

    with httpx.Client(verify=smds.trust(), timeout=30) as http:
        answer = http.post(
            f"{smds.url}/gsma/rsp2/es11/initiateAuthentication",
            content=endless(),
            headers={"X-Admin-Protocol": "gsma/rsp/v2.2.0", "Content-Type": "application/json"},
        ).json()
    assert codes(answer) == ("1.3.1", "2.1")


def test_lpac_discovery_shape_is_answered(smds: Smds, smds_pki: Path, es10: Es10, eid: str) -> None:
    """lpac posts its discovery to the ES9+ paths with an `smdpAddress` field: answered as ES11."""
    from openrsp.lpa.drivers.es9_client import Es9Client

    class LpacPaths(Es11Client):
        path = "/gsma/rsp2/es9plus/"

    client, target = smds.es12(*_dp(smds_pki))
    client.register_event(target, eid, "LPAC-1", "smdp.example.test", forwarding=False)
    settings = https_factory(ci=[smds_pki / "nist" / "ci.cert.pem"])()
    with Es9Client(smds.address, settings) as es9, LpacPaths(smds.address, settings) as es11:
        info1, challenge = es10.get_euicc_info1(), es10.get_euicc_challenge()
        init = es9.initiate_authentication(challenge, info1)  # {"smdpAddress": ...}
        response = es10.authenticate_server(
            server_signed1=init.server_signed1, server_signature1=init.server_signature1,
            euicc_ci_pkid_to_be_used=init.euicc_ci_pkid_to_be_used, server_certificate=init.server_certificate,
            ctx_params1=encode_ctx_params1(None, DeviceInfo()),
        )  # fmt: skip
        events = es11.retrieve_events(init.transaction_id, response)
    assert ("LPAC-1", "smdp.example.test") in [(e.event_id, e.rsp_server_address) for e in events]
    client.delete_event(target, eid, "LPAC-1")


def test_an_smds_session_downloads_nothing(smds: Smds, smds_pki: Path, es10: Es10) -> None:
    """After AuthenticateServer with CERT.DSauth, the eUICC refuses PrepareDownload (an SM-DS has no profile)."""
    from openrsp.pki.certio import certificate_der

    with _es11(smds, smds_pki) as es11:
        transaction_id, _response = _authenticated(es10, es11)
    dppb = certificate_der(load_certificate(smds_pki / "nist" / "dppb.cert.pem"))
    signed2 = encode_tlv(0x30, encode_tlv(0x80, transaction_id) + encode_tlv(0x01, b"\x00"))
    answer = es10.prepare_download(
        smdp_signed2=signed2,
        smdp_signature2=encode_tlv(0x5F37, bytes(64)),
        smdp_certificate=dppb,
        hash_cc=None,
    )
    refused = es10.prepare_download_error(answer)
    assert refused is not None and "invalidCertificate" in str(refused)


def test_an_alternative_whose_root_is_down_refuses_for_now_and_stores_nothing(
    smds_pki: Path, tmp_path: Path, eid: str
) -> None:
    from smds_support import free_port

    from openrsp.smdp.outbox import OutboxRetry
    from openrsp.smdp.smds_events import REGISTER, SmdsDeliverer, registration

    alternative = Smds(
        smds_pki, tmp_path / "alt", extra=("--root", f"https://127.0.0.1:{free_port()}")
    ).start()
    try:
        client, target = alternative.es12(*_dp(smds_pki))
        with pytest.raises(SmdsRefused) as refused:
            client.register_event(target, eid, "ROOT-DOWN", "smdp.example.test", forwarding=True)
        assert (refused.value.subject_code, refused.value.reason_code) == ("8.9", "5.1")
        assert alternative.events() == []
        # The SM-DP+'s outbox takes "inaccessible" as "later": the registration stays pending.
        with pytest.raises(OutboxRetry):
            SmdsDeliverer(client)(
                REGISTER, alternative.address, registration(eid, "ROOT-DOWN", "smdp.example.test")
            )
    finally:
        alternative.stop()
