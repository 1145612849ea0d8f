"""LoadBoundProfilePackage through the card's APDUs: every TS.48 package installs, and every way a
package can be wrong ends with the exact ProfileInstallationResult and nothing half-installed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rsp_harness import Download, decode_result, final_result, store_metadata, verify_with_certificate

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import iccid_from_bytes
from openrsp.asn1.tlv import encode_tlv, read_tlv
from openrsp.crypto.ecdsa import generate_private_key, public_key_to_point, sign_plain
from openrsp.crypto.ecka import generate_one_time_key
from openrsp.crypto.kdf import SessionKeys
from openrsp.es8.segments import (
    encode_bpp,
    encode_initialise_secure_channel,
    encode_isc_signed_objects,
    segments_for_lpa,
    smdp_sign_input,
    split_bpp,
)
from openrsp.lpa.drivers.es10_client import Es10TransportError
from openrsp.pki.oids import DEFAULT_SMDP_OID
from openrsp.profile.package import ProfilePackage

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TS48 = sorted((SHARED / "profiles" / "ts48").glob("*.der"))
UNIQUE = [p for p in TS48 if "UNIQUE" in p.name]
PACKAGE = SHARED / "profiles" / "ts48" / "TS48V1-A-UNIQUE.der"


def _package(path: Path = PACKAGE) -> tuple[bytes, str]:
    der = path.read_bytes()
    return der, ProfilePackage.from_der(der).iccid


def _profiles(rig) -> list[dict]:
    kind, items = rsp().decode("ProfileInfoListResponse", rig.client.call(bytes.fromhex("BF2D00")))
    assert kind == "profileInfoListOk"
    return items


def _without_notifications(state_bytes: bytes) -> dict:
    state = json.loads(state_bytes)
    state.pop("notifications")
    state.pop("nextSeqNumber")
    return state


def _error(download: Download) -> tuple[int, int]:
    kind, value = final_result(download.result)
    assert kind == "errorResult", download.result
    return value["bppCommandId"], value["errorReason"]


def _assert_only_an_error_result_was_kept(rig, before: bytes, download: Download) -> None:
    """Nothing of the profile was kept: same state but for the stored error result."""
    assert _without_notifications(rig.state_bytes) == _without_notifications(before)
    stored = json.loads(rig.state_bytes)["notifications"][-1]
    assert stored["event"] == "install"
    rig.reopen()
    pending = rig.client.call(bytes.fromhex("BF2B00"))
    assert download.result_der in pending  # the error result is what the LPA hands the SM-DP+


# --- success ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", TS48, ids=lambda p: p.stem)
def test_every_ts48_package_installs_and_shows_its_iccid(rig, path):
    package, iccid = _package(path)
    download = rig.lpa.download(package, store_metadata(iccid, spn="TS.48", name=path.stem))
    kind, success = final_result(download.result)
    assert kind == "successResult"
    [profile] = _profiles(rig)
    assert iccid_from_bytes(profile["iccid"]) == iccid
    assert profile["isdpAid"] == success["aid"]
    assert profile["profileState"] == 0 and profile["profileName"] == path.stem


def test_install_result_is_signed_by_the_euicc_and_kept_as_notification(rig):
    package, iccid = _package()
    download = rig.lpa.download(package, store_metadata(iccid))
    data = download.result["profileInstallationResultData"]
    assert data["transactionId"] == download.transaction_id
    assert data["notificationMetadata"]["notificationAddress"] == rig.smdp.address
    assert iccid_from_bytes(data["notificationMetadata"]["iccid"]) == iccid
    assert data["smdpOid"] == DEFAULT_SMDP_OID  # the OID in the test PKI's DPpb certificate
    data_der = read_tlv(read_tlv(download.result_der).value).raw
    identity = rig.euicc.state.identities[0]
    assert verify_with_certificate(identity.euicc_certificate, data_der, download.result["euiccSignPIR"])
    kind, items = rsp().decode("ListNotificationResponse", rig.client.call(bytes.fromhex("BF2800")))
    assert [(n["seqNumber"], n["profileManagementOperation"]) for n in items] == [(1, (b"\x80", 1))]


def test_the_unique_packages_install_side_by_side_and_survive_a_power_cycle(rig):
    iccids = []
    for path in UNIQUE:
        package, iccid = _package(path)
        download = rig.lpa.download(package, store_metadata(iccid))
        assert final_result(download.result)[0] == "successResult", path.name
        iccids.append(iccid)
    assert len(set(iccids)) == 18
    rig.reopen()
    profiles = _profiles(rig)
    assert sorted(iccid_from_bytes(p["iccid"]) for p in profiles) == sorted(iccids)
    assert len({p["isdpAid"] for p in profiles}) == 18


def test_a_second_profile_with_an_iccid_already_present_is_refused(rig):
    first, iccid = _package(SHARED / "profiles" / "ts48" / "TS48v1_A.der")
    second, same = _package(SHARED / "profiles" / "ts48" / "TS48v1_B.der")
    assert iccid == same
    rig.lpa.download(first, store_metadata(iccid))
    before = rig.state_bytes
    download = rig.lpa.download(second, store_metadata(same))
    assert _error(download) == (2, 9)  # storeMetadata, installFailedDueToIccidAlreadyExistsOnEuicc
    _assert_only_an_error_result_was_kept(rig, before, download)
    assert len(_profiles(rig)) == 1


def test_profile_protection_keys_replace_the_session_keys(rig):
    package, iccid = _package()
    ppk = SessionKeys(bytes(range(16)), bytes(range(1, 17)), bytes(range(2, 18)))
    download = rig.lpa.download(package, store_metadata(iccid), bpp_options={"ppk": ppk})
    assert final_result(download.result)[0] == "successResult"
    assert any(s[0] == 0xA2 for s in download.segments)


def test_a_retry_reuses_the_one_time_key_and_installs_an_equivalent_package(rig):
    package, iccid = _package()
    metadata = store_metadata(iccid)
    first = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(first)
    rig.lpa.prepare(first)
    smdp_key = generate_one_time_key("nist")
    bpp = rig.smdp.bound_profile_package(
        first.transaction_id, first.euicc_otpk, rig.lpa.eid, package, metadata, smdp_ot_key=smdp_key
    )
    assert rig.lpa.load(first, bpp, stop_after=3) is None  # the connection drops half-way

    retry = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(retry)
    rig.lpa.prepare(retry, reuse_otpk=first.euicc_otpk)
    assert retry.euicc_otpk == first.euicc_otpk
    bpp = rig.smdp.bound_profile_package(
        retry.transaction_id, retry.euicc_otpk, rig.lpa.eid, package, metadata, smdp_ot_key=smdp_key
    )
    assert final_result(rig.lpa.load(retry, bpp))[0] == "successResult"

    # once installed, that key is gone: asking for it again gets a fresh one
    again = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(again)
    rig.lpa.prepare(again, reuse_otpk=first.euicc_otpk)
    assert again.euicc_otpk != first.euicc_otpk


# --- failures, each with its bppCommandId and errorReason -------------------------------------------
def _flip_in(segment: bytes, position: int = -12) -> bytes:
    data = bytearray(segment)
    data[position] ^= 0x01
    return bytes(data)


def _tamper_part(bpp: bytes, part: str, index: int = 0) -> bytes:
    parts = split_bpp(bpp)
    items = list(getattr(parts, part))
    items[index] = _flip_in(items[index])
    return encode_bpp(parts.__class__(**{**parts.__dict__, part: items}))


@pytest.mark.parametrize(
    ("part", "index", "expected"),
    [
        ("configure_isdp", 0, (1, 8)),  # configureISDP, scp03tSecurityError
        ("store_metadata", 0, (2, 8)),  # storeMetadata
        ("profile_segments", 0, (5, 8)),  # loadProfileElements
        ("profile_segments", 5, (5, 8)),
    ],
)
def test_a_tampered_segment_fails_its_mac_and_installs_nothing(rig, part, index, expected):
    package, iccid = _package()
    before = rig.state_bytes
    download = rig.lpa.download(
        package, store_metadata(iccid), tamper=lambda bpp: _tamper_part(bpp, part, index)
    )
    assert _error(download) == expected
    _assert_only_an_error_result_was_kept(rig, before, download)
    assert _profiles(rig) == []


def test_tampered_replace_session_keys_is_a_security_error(rig):
    package, iccid = _package()
    ppk = SessionKeys(bytes(16), bytes(16), bytes(16))
    download = rig.lpa.download(
        package,
        store_metadata(iccid),
        bpp_options={"ppk": ppk},
        tamper=lambda bpp: _tamper_part(bpp, "replace_session_keys"),
    )
    assert _error(download) == (4, 8)  # replaceSessionKeys, scp03tSecurityError


def test_after_a_failed_segment_the_rest_of_the_package_is_refused(rig):
    package, iccid = _package()
    download = rig.lpa.download(
        package, store_metadata(iccid), tamper=lambda bpp: _tamper_part(bpp, "profile_segments", 1)
    )
    assert _error(download) == (5, 8)
    remaining = download.segments[len(download.answers) :]
    with pytest.raises(Es10TransportError) as refused:
        rig.client.call(remaining[0])
    assert refused.value.sw == 0x6985


def _resigned_isc(
    rig, download: Download, bpp: bytes, *, transaction_id=None, key_type=0x88, remote_op=1, key=None
):
    """A BF23 with changed fields, signed correctly over what it now says."""
    isc = rsp().decode("BoundProfilePackage", bpp)["initialiseSecureChannelRequest"]
    signed = encode_isc_signed_objects(
        transaction_id or download.transaction_id,
        isc["controlRefTemplate"]["hostId"],
        isc["smdpOtpk"],
        key_type=key_type,
    )
    if remote_op != 1:
        signed = encode_tlv(0x82, bytes([remote_op])) + signed[3:]
    signature = sign_plain(key or rig.smdp.ci_set.dppb_key, smdp_sign_input(signed, download.euicc_otpk))
    parts = split_bpp(bpp)
    return encode_bpp(
        parts.__class__(
            **{
                **parts.__dict__,
                "initialise_secure_channel": encode_initialise_secure_channel(signed, signature),
            }
        )
    )


def _download_with(rig, rewrite, metadata=None, package=None):
    der, iccid = _package()
    package = package or der
    download = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(download)
    rig.lpa.prepare(download)
    bpp = rig.smdp.bound_profile_package(
        download.transaction_id, download.euicc_otpk, rig.lpa.eid, package, metadata or store_metadata(iccid)
    )
    rig.lpa.load(download, rewrite(download, bpp))
    return download


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"transaction_id": b"\x99" * 16}, (0, 3)),  # invalidTransactionId
        ({"key_type": 0x80}, (0, 4)),  # unsupportedCrtValues
        ({"remote_op": 2}, (0, 5)),  # unsupportedRemoteOperationType
        ({"key": generate_private_key("nist")}, (0, 2)),  # invalidSignature
    ],
)
def test_initialise_secure_channel_checks(rig, change, expected):
    before = rig.state_bytes
    download = _download_with(rig, lambda d, bpp: _resigned_isc(rig, d, bpp, **change))
    assert _error(download) == expected
    _assert_only_an_error_result_was_kept(rig, before, download)


def test_smdp_sign_over_another_one_time_key_is_refused(rig):
    other = public_key_to_point(generate_one_time_key("nist"))

    def rewrite(download, bpp):
        download.euicc_otpk, real = other, download.euicc_otpk
        try:
            return _resigned_isc(rig, download, bpp)
        finally:
            download.euicc_otpk = real

    assert _error(_download_with(rig, rewrite)) == (0, 2)


def test_metadata_iccid_other_than_the_package_is_a_data_mismatch(rig):
    download = _download_with(rig, lambda d, bpp: bpp, metadata=store_metadata("89000123456789012341"))
    assert _error(download) == (5, 13)  # installFailedDueToDataMismatch
    assert _profiles(rig) == []


def test_a_package_that_is_not_saip_is_a_pe_processing_error(rig):
    _der, iccid = _package()
    junk = encode_tlv(0xA0, b"\x00" * 50) * 30
    download = _download_with(rig, lambda d, bpp: bpp, metadata=store_metadata(iccid), package=junk)
    assert _error(download) == (5, 12)  # installFailedDueToPEProcessingError
    assert _profiles(rig) == []


def test_segments_out_of_order_are_a_structure_error(rig):
    package, iccid = _package()
    download = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(download)
    rig.lpa.prepare(download)
    bpp = rig.smdp.bound_profile_package(
        download.transaction_id, download.euicc_otpk, rig.lpa.eid, package, store_metadata(iccid)
    )
    segments = segments_for_lpa(bpp)
    assert rig.client.call(segments[0]) == b""
    result = decode_result(rig.client.call(segments[2]))  # the A1 header before A0
    kind, error = final_result(result)
    assert (kind, error["bppCommandId"], error["errorReason"]) == ("errorResult", 1, 7)
    assert _profiles(rig) == []


def test_unsupported_profile_class(rig):
    _der, iccid = _package()
    download = _download_with(rig, lambda d, bpp: bpp, metadata=store_metadata(iccid, profile_class=9))
    assert _error(download) == (2, 6)


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (
            {"ppr": (1,), "profile_class": 0, "owner": bytes.fromhex("00F110")},
            (2, 15),
        ),  # PPR on a test profile
        ({"ppr": (2,)}, (2, 15)),  # PPR without a profile owner
    ],
)
def test_profile_policy_rules_not_allowed(rig, metadata, expected):
    _der, iccid = _package()
    download = _download_with(rig, lambda d, bpp: bpp, metadata=store_metadata(iccid, **metadata))
    assert _error(download) == expected


def test_ppr_refused_when_the_rat_does_not_allow_the_owner(rig):
    with rig.euicc.transaction() as state:
        state.rat[0].allowed_operators[0].mcc_mnc = bytes.fromhex("13F031")  # only MCC 310 MNC 130
    _der, iccid = _package()
    metadata = store_metadata(iccid, ppr=(1,), owner=bytes.fromhex("00F110"))
    assert _error(_download_with(rig, lambda d, bpp: bpp, metadata=metadata)) == (2, 15)


def test_not_enough_memory(rig):
    with rig.euicc.transaction() as state:
        state.info.nvm_capacity = 1000
    assert _error(_download_with(rig, lambda d, bpp: bpp)) == (5, 10)


# --- order, resets, kills ---------------------------------------------------------------------------
def test_a_package_without_prepared_session_gets_an_error_result_and_is_not_stored(rig):
    package, iccid = _package()
    download = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(download)  # no PrepareDownload
    before = rig.state_bytes
    bpp = rig.smdp.bound_profile_package(
        download.transaction_id,
        public_key_to_point(generate_one_time_key("nist")),
        rig.lpa.eid,
        package,
        store_metadata(iccid),
    )
    rig.lpa.load(download, bpp)
    assert _error(download) == (0, 3)
    assert rig.state_bytes == before
    with pytest.raises(Es10TransportError) as refused:
        rig.client.call(download.segments[1])  # a stray A0
    assert refused.value.sw == 0x6985


@pytest.mark.parametrize("stop_after", [1, 2, 4, 7])
def test_a_card_reset_between_segments_leaves_no_trace(rig, stop_after):
    package, iccid = _package()
    before = rig.state_bytes
    download = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(download)
    rig.lpa.prepare(download)
    bpp = rig.smdp.bound_profile_package(
        download.transaction_id, download.euicc_otpk, rig.lpa.eid, package, store_metadata(iccid)
    )
    assert rig.lpa.load(download, bpp, stop_after=stop_after) is None
    rig.reset_card()
    with pytest.raises(Es10TransportError) as refused:
        rig.client.call(download.segments[stop_after])
    assert refused.value.sw == 0x6985
    assert rig.state_bytes == before
    assert _profiles(rig) == []
    # and the eUICC is ready for a fresh download
    assert final_result(rig.lpa.download(package, store_metadata(iccid)).result)[0] == "successResult"


KILLED_LOADER = r"""
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from rsp_harness import Download, HarnessSmdp, Rig, store_metadata
from openrsp.pki.credentials import SmdpCredentials
rig = Rig(Path(sys.argv[2]), HarnessSmdp(SmdpCredentials.load(sys.argv[3]).sets[0]))
package = Path(sys.argv[4]).read_bytes()
from openrsp.profile.package import ProfilePackage
download = Download(rig.lpa.new_transaction_id())
rig.lpa.authenticate(download)
rig.lpa.prepare(download)
bpp = rig.smdp.bound_profile_package(download.transaction_id, download.euicc_otpk, rig.lpa.eid, package,
                                     store_metadata(ProfilePackage.from_der(package).iccid))
rig.lpa.load(download, bpp, stop_after=int(sys.argv[5]))
print("loaded", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("stop_after", [3, 9])
def test_a_killed_process_between_segments_leaves_no_trace(rig, pki_dir, stop_after):
    before = rig.state_bytes
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_LOADER,
            str(Path(__file__).parent),
            str(rig.directory),
            str(pki_dir),
            str(PACKAGE),
            str(stop_after),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert "loaded" in result.stdout
    assert rig.state_bytes == before
    # nothing of the profile; only the otSK kept for the SM-DP+'s retry (SGP.22 §3.1.3)
    assert sorted(os.listdir(rig.directory)) == sorted(
        [
            ".state.lock",
            "state.json",
            "state.key",
            "euicc-nist.key.pem",
            "euicc-brp.key.pem",
            "retry-otsk.key.pem",
        ]
    )
    rig.reopen()
    assert _profiles(rig) == []


def test_a_new_challenge_abandons_a_package_half_loaded(rig):
    package, iccid = _package()
    download = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(download)
    rig.lpa.prepare(download)
    bpp = rig.smdp.bound_profile_package(
        download.transaction_id, download.euicc_otpk, rig.lpa.eid, package, store_metadata(iccid)
    )
    rig.lpa.load(download, bpp, stop_after=5)
    rig.client.call(bytes.fromhex("BF2E00"))
    with pytest.raises(Es10TransportError):
        rig.client.call(download.segments[5])
    assert _profiles(rig) == []


def test_whole_package_in_one_call_also_installs(rig):
    package, iccid = _package()
    download = Download(rig.lpa.new_transaction_id())
    rig.lpa.authenticate(download)
    rig.lpa.prepare(download)
    bpp = rig.smdp.bound_profile_package(
        download.transaction_id, download.euicc_otpk, rig.lpa.eid, package, store_metadata(iccid)
    )
    result = decode_result(rig.client.call(bpp))
    assert final_result(result)[0] == "successResult"
