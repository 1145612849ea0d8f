"""Credential loading from both layouts, used the way the SM-DP+, eUICC and ES2+ client use them."""

import socket
import ssl
import threading

import pytest
from pki_testdata import SGP26_EID, SGP26_PKIDS, SGP26_TIME, run_openrsp

from openrsp.errors import InputError
from openrsp.hexutil import to_hex
from openrsp.pki.certio import certificate_der
from openrsp.pki.credentials import (
    EuiccCredentials,
    LpaTlsCredentials,
    NoCommonCiError,
    OperatorTlsCredentials,
    SmdpCredentials,
)
from openrsp.pki.curves import curve_of, generate_key
from openrsp.pki.eid import make_eid
from openrsp.pki.issue import issue_euicc_certificate
from openrsp.pki.verify import verify_chain


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str) -> dict:
    """One real TLS connection over loopback; returns what the server saw of the client."""
    seen: dict = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    seen["client_cert"] = tls.getpeercert()
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError) as exc:
                seen["error"] = exc

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            seen["reply"] = tls.recv(2)
            seen["server_cert"] = tls.getpeercert(binary_form=True)
        thread.join(10)
    return seen


def test_smdp_credentials_from_an_init_folder(pki_dir):
    smdp = SmdpCredentials.load(pki_dir)
    assert (smdp.layout, smdp.address, smdp.oid) == ("openrsp", "smdp.openrsp.test", "2.999.10")
    assert [s.curve for s in smdp.sets] == ["nist", "brp"]
    for ci_set in smdp.sets:
        assert verify_chain(ci_set.dpauth_cert, smdp.trusted_cis, role="dpauth").ci_pkid == ci_set.ci_pkid
        assert verify_chain(ci_set.dppb_cert, smdp.trusted_cis, role="dppb").ci == ci_set.ci_cert
        assert ci_set.dpauth_key.public_key() == ci_set.dpauth_cert.public_key()
    assert smdp.tls.chain_file == pki_dir / "tls" / "dptls.chain.pem"


def test_smdp_tls_serves_a_client_that_trusts_the_ci(pki_dir):
    smdp = SmdpCredentials.load(pki_dir)
    client = ssl.create_default_context(cafile=str(smdp.tls.ca_file))
    seen = _handshake(smdp.tls.server_context(), client, smdp.address)
    assert seen["reply"] == b"ok"


def test_operator_client_certificate_authenticates_to_the_smdp(pki_dir):
    smdp = SmdpCredentials.load(pki_dir)
    operator = OperatorTlsCredentials.load(pki_dir)
    server = smdp.tls.server_context()
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(cafile=str(operator.ca_file))
    seen = _handshake(server, operator.client_context(smdp.tls.ca_file), smdp.address)
    assert seen["reply"] == b"ok"
    subject = dict(item for rdn in seen["client_cert"]["subject"] for item in rdn)
    assert subject["commonName"] == "openrsp-operator"


def test_lpa_tls_credentials(pki_dir):
    lpa = LpaTlsCredentials.load(pki_dir)
    assert lpa.cert.issuer == lpa.ca_cert.subject
    assert lpa.key.public_key() == lpa.cert.public_key()
    assert lpa.key_file.name == "client.key.pem"


def test_smdp_credentials_from_sgp26(sgp26_dir, tmp_path):
    smdp = SmdpCredentials.load(sgp26_dir, materialize_dir=tmp_path)
    assert (smdp.layout, smdp.address, smdp.oid) == ("sgp26", "testsmdpplus1.example.com", "2.999.10")
    assert [to_hex(p) for p in smdp.ci_pkids] == [SGP26_PKIDS["NIST"], SGP26_PKIDS["BRP"]]
    assert set(smdp.tls_by_curve) == {"nist", "brp"} and smdp.tls.curve == "nist"
    assert smdp.tls.chain_file.read_text().count("BEGIN CERTIFICATE") == 2
    assert smdp.tls.key_file.name == "SK_S_SM_DP_TLS_NIST.pem"
    for ci_set in smdp.sets:
        verify_chain(ci_set.dpauth_cert, [ci_set.ci_cert], role="dpauth", at=SGP26_TIME)
    for tls in smdp.tls_by_curve.values():
        verify_chain(tls.cert, smdp.trusted_cis, role="dptls", at=SGP26_TIME)
    # lpac does not check the server certificate; the SGP.26 files must still make a working server.
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    seen = _handshake(smdp.tls.server_context(), client, smdp.address)
    assert seen["server_cert"] == certificate_der(smdp.tls.cert)


def test_select_for_pkids(pki_dir, sgp26_dir):
    smdp = SmdpCredentials.load(pki_dir)
    nist, brp = smdp.sets
    assert smdp.select_for_pkids([brp.ci_pkid]) is brp
    assert smdp.select_for_pkids([brp.ci_pkid, nist.ci_pkid]) is nist  # our order decides among shared CIs
    sgp26 = EuiccCredentials.load(sgp26_dir)
    with pytest.raises(NoCommonCiError, match="no common CI"):
        smdp.select_for_pkids(sgp26.ci_pkids)
    assert smdp.set_for_pkid(b"\x00" * 20) is None


@pytest.mark.parametrize("curve", ["nist", "brp"])
def test_euicc_credentials_from_sgp26(sgp26_dir, curve):
    euicc = EuiccCredentials.load(sgp26_dir, curve)
    assert (euicc.layout, euicc.curve, euicc.eid) == ("sgp26", curve, SGP26_EID)
    assert curve_of(euicc.euicc_key) == curve and euicc.eum_key is not None
    assert [to_hex(p) for p in euicc.ci_pkids] == [SGP26_PKIDS["NIST"], SGP26_PKIDS["BRP"]]
    cis = [ci.cert for ci in euicc.trusted_cis]
    assert verify_chain(euicc.euicc_cert, cis, [euicc.eum_cert], at=SGP26_TIME).eid == SGP26_EID


def test_euicc_credentials_issue_more_euiccs(pki_dir):
    euicc = EuiccCredentials.load(pki_dir)
    assert (euicc.curve, euicc.eid) == ("nist", "89001012012341234012345678901224")
    cis = [ci.cert for ci in euicc.trusted_cis]
    for n in range(3):
        eid = make_eid("89001012", 1000 + n)
        cert = issue_euicc_certificate(euicc.eum_cert, euicc.eum_key, eid, generate_key("nist").public_key())
        assert verify_chain(cert, cis, [euicc.eum_cert], role="euicc").eid == eid
    with pytest.raises(InputError, match="outside"):
        issue_euicc_certificate(
            euicc.eum_cert, euicc.eum_key, make_eid("89049032", 1), euicc.euicc_key.public_key()
        )


def test_load_errors(tmp_path, sgp26_dir):
    with pytest.raises(InputError, match="not found"):
        SmdpCredentials.load(tmp_path / "missing")
    with pytest.raises(InputError, match="neither"):
        EuiccCredentials.load(tmp_path)
    with pytest.raises(InputError, match="unknown curve"):
        EuiccCredentials.load(sgp26_dir, "p384")
    with pytest.raises(InputError, match="LPA"):
        LpaTlsCredentials.load(sgp26_dir)
    result = run_openrsp("pki", "init", str(tmp_path / "nist-only"), "--curve", "nist")
    assert result.returncode == 0, result.stderr
    with pytest.raises(InputError, match="no brp eUICC"):
        EuiccCredentials.load(tmp_path / "nist-only", "brp")
    assert [s.curve for s in SmdpCredentials.load(tmp_path / "nist-only").sets] == ["nist"]
