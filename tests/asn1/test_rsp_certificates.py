"""Every SGP.26 certificate decodes with our PKIX types and re-encodes byte for byte, and the
RSP facts inside (PKIDs, role policies, SM-DP+ OIDs, the EID) read back correctly."""

import datetime
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from openrsp.asn1.codec import rsp
from openrsp.asn1.tlv import read_tlv

# the same place tests/conftest.py looks; needed at collection time to list the files
SGP26 = Path(os.environ.get("OPENRSP_SHARED", Path(__file__).resolve().parents[3] / "shared")) / "sgp26"
CERTIFICATES = sorted(SGP26.rglob("*.der"))

EXTENSION_TYPES = {
    "2.5.29.14": "SubjectKeyIdentifier",
    "2.5.29.35": "AuthorityKeyIdentifier",
    "2.5.29.15": "KeyUsage",
    "2.5.29.32": "CertificatePolicies",
    "2.5.29.17": "SubjectAltName",
    "2.5.29.19": "BasicConstraints",
    "2.5.29.31": "CRLDistributionPoints",
    "2.5.29.30": "NameConstraints",
    "2.5.29.37": "ExtKeyUsageSyntax",
}

ROLE_POLICY = {  # folder -> id-rspRole-* certificate policy
    "CertificateIssuer": "2.23.146.1.2.1.0",
    "eUICC": "2.23.146.1.2.1.1",
    "EUM": "2.23.146.1.2.1.2",
    "DPtls": "2.23.146.1.2.1.3",
    "DPauth": "2.23.146.1.2.1.4",
    "DPpb": "2.23.146.1.2.1.5",
}


def extensions(cert: dict) -> dict[str, object]:
    codec = rsp()
    return {
        ext["extnID"]: codec.decode(EXTENSION_TYPES[ext["extnID"]], ext["extnValue"])
        for ext in cert["tbsCertificate"]["extensions"]
    }


def load(relative: str) -> dict:
    return rsp().decode("Certificate", (SGP26 / relative).read_bytes())


def test_the_sgp26_set_is_there(sgp26_dir):
    assert sgp26_dir == SGP26
    assert len(CERTIFICATES) >= 19


@pytest.mark.parametrize("path", CERTIFICATES, ids=lambda p: p.name)
def test_certificate_round_trips_byte_identically(path: Path):
    codec = rsp()
    der = path.read_bytes()
    cert = codec.decode("Certificate", der)
    assert codec.encode("Certificate", cert) == der
    # the signed part too: signatures are checked over exactly these bytes
    tbs = codec.encode("TBSCertificate", cert["tbsCertificate"])
    assert tbs in der


@pytest.mark.parametrize("path", CERTIFICATES, ids=lambda p: p.name)
def test_every_extension_decodes_and_re_encodes(path: Path):
    codec = rsp()
    cert = codec.decode("Certificate", path.read_bytes())
    for ext in cert["tbsCertificate"]["extensions"]:
        type_name = EXTENSION_TYPES[ext["extnID"]]
        value = codec.decode(type_name, ext["extnValue"])
        assert codec.encode(type_name, value) == ext["extnValue"]


@pytest.mark.parametrize("path", CERTIFICATES, ids=lambda p: p.name)
def test_role_policy_matches_the_folder(path: Path):
    cert = rsp().decode("Certificate", path.read_bytes())
    policies = extensions(cert)["2.5.29.32"]
    assert [p["policyIdentifier"] for p in policies] == [ROLE_POLICY[path.parent.name]]


def test_ci_subject_key_identifiers_are_the_pkids():
    nist = extensions(load("CertificateIssuer/CERT_CI_ECDSA_NIST.der"))
    brp = extensions(load("CertificateIssuer/CERT_CI_ECDSA_BRP.der"))
    assert nist["2.5.29.14"].hex().upper() == "F54172BDF98A95D65CBEB88A38A1C11D800A85C3"
    assert brp["2.5.29.14"].hex().upper() == "C0BC70BA36929D43B467FF57570530E57AB8FCD8"
    assert nist["2.5.29.19"] == {"cA": True}


def test_smdp_certificates_name_their_oid():
    auth = extensions(load("DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der"))
    assert auth["2.5.29.17"] == [("registeredID", "2.999.10")]
    assert auth["2.5.29.35"] == {"keyIdentifier": bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3")}
    tls = extensions(load("DPtls/CERT_S_SM_DP_VARO_TLS_NIST.der"))
    assert tls["2.5.29.17"] == [("dNSName", "testsmdpplus1.example.com"), ("registeredID", "2.999.10")]
    assert tls["2.5.29.37"] == ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]


def test_euicc_certificate_carries_the_eid_and_the_eum_restricts_it():
    codec = rsp()
    euicc = load("eUICC/CERT_EUICC_ECDSA_NIST.der")
    subject = dict(
        (atv["type"], atv["value"]) for rdn in euicc["tbsCertificate"]["subject"][1] for atv in rdn
    )
    assert codec.decode("X520SerialNumber", subject["2.5.4.5"]) == "89049032123451234512345678901235"
    assert codec.decode("DirectoryString", subject["2.5.4.3"]) == ("utf8String", "Test eUICC")
    # notAfter 7496 is past 2049, so it is a GeneralizedTime and must stay one
    assert euicc["tbsCertificate"]["validity"]["notAfter"][0] == "generalTime"

    eum = extensions(load("EUM/CERT_EUM_ECDSA_NIST.der"))
    assert eum["2.5.29.19"] == {"cA": True, "pathLenConstraint": 0}
    (subtree,) = eum["2.5.29.30"]["permittedSubtrees"]
    kind, (_, rdns) = subtree["base"]
    assert kind == "directoryName"
    serial = next(atv["value"] for rdn in rdns for atv in rdn if atv["type"] == "2.5.4.5")
    assert codec.decode("X520SerialNumber", serial) == "89049032"


def test_public_key_and_signature_come_out_raw():
    codec = rsp()
    cert = load("DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der")
    spki = cert["tbsCertificate"]["subjectPublicKeyInfo"]
    assert spki["algorithm"]["algorithm"] == "1.2.840.10045.2.1"  # id-ecPublicKey
    assert spki["algorithm"]["parameters"] == bytes.fromhex("06082A8648CE3D030107")  # prime256v1
    point, nbits = spki["subjectPublicKey"]
    assert nbits == 520 and point[0] == 0x04
    assert cert["signatureAlgorithm"] == {"algorithm": "1.2.840.10045.4.3.2"}  # ecdsa-with-SHA256
    sig = codec.decode("ECDSA-Sig-Value", cert["signature"][0])
    assert 0 < sig["r"] < 2**256 and 0 < sig["s"] < 2**256


def test_a_crl_signed_by_the_test_ci_round_trips_and_loads_into_load_crl():
    ci_cert = x509.load_der_x509_certificate(
        (SGP26 / "CertificateIssuer/CERT_CI_ECDSA_NIST.der").read_bytes()
    )
    ci_key = serialization.load_pem_private_key(
        (SGP26 / "CertificateIssuer/SK_CI_ECDSA_NIST.pem").read_bytes(), password=None
    )
    revoked_serial = load("DPauth/CERT_S_SM_DP2auth_ECDSA_NIST.der")["tbsCertificate"]["serialNumber"]
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ci_cert.subject)
        .last_update(when)
        .next_update(when + datetime.timedelta(days=30))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(revoked_serial).revocation_date(when).build()
        )
        .add_extension(x509.CRLNumber(7), critical=False)
        .sign(ci_key, hashes.SHA256())
    )
    der = crl.public_bytes(serialization.Encoding.DER)

    codec = rsp()
    decoded = codec.decode("CertificateList", der)
    assert codec.encode("CertificateList", decoded) == der
    tbs = decoded["tbsCertList"]
    assert [r["userCertificate"] for r in tbs["revokedCertificates"]] == [revoked_serial]
    (number,) = tbs["crlExtensions"]
    assert codec.decode("CRLNumber", number["extnValue"]) == 7

    # LoadCRLRequest has one untagged member, so automatic tagging makes the CRL's SEQUENCE an 'A0'
    request = codec.encode("LoadCRLRequest", {"crl": decoded})
    inner = read_tlv(request).value
    assert read_tlv(request).tag == 0xBF35 and inner[:1] == b"\xa0" and inner[1:] == der[1:]
    assert codec.decode("LoadCRLRequest", request) == {"crl": decoded}
