"""Profile protection prepared at import: the same bound profile package as protecting at download."""

import os

from openrsp.crypto.ecka import generate_one_time_key
from openrsp.crypto.keys import generate_private_key, public_key_to_point
from openrsp.es8.bsp import BspReceiver
from openrsp.es8.build import build_bound_profile_package
from openrsp.es8.segments import split_bpp
from openrsp.smdp.prepared_package import PreparedPackage, from_bytes, prepare, to_bytes

EID = bytes.fromhex("89001012012341234012345678901224")


def test_a_prepared_package_round_trips_and_an_old_record_still_opens(ts48_dir):
    der = (ts48_dir / "TS48V2-SAIP2-1-BERTLV-UNIQUE.der").read_bytes()
    prepared = prepare(der)
    stored = from_bytes(to_bytes(prepared))
    assert stored == prepared and stored.der == der  # the record holds the segments, not the DER
    assert len(to_bytes(prepared)) < len(der) + 1500  # so a row stays about the size it was
    assert from_bytes(der) == PreparedPackage(plain=der) and from_bytes(der).der == der  # older record


def test_the_prepared_segments_make_the_same_package_a_download_time_protection_makes(ts48_dir):
    der = (ts48_dir / "TS48V2-SAIP2-3-BERTLV-UNIQUE.der").read_bytes()
    prepared = prepare(der)
    dppb, ot_key = generate_private_key("nist"), generate_one_time_key("nist")
    euicc_otpk = public_key_to_point(generate_one_time_key("nist").public_key())
    common = dict(
        transaction_id=os.urandom(16),
        eid=EID,
        euicc_otpk=euicc_otpk,
        dppb_key=dppb,
        profile_package=der,
        store_metadata=bytes.fromhex("BF2500"),
        smdp_ot_key=ot_key,
        ppk=prepared.ppk,
    )
    now = split_bpp(build_bound_profile_package(**common).der)
    ahead = split_bpp(build_bound_profile_package(**common, protected_profile=prepared.protected).der)
    # everything but smdpSign (ECDSA draws a fresh nonce) is byte for byte the same
    assert ahead.configure_isdp == now.configure_isdp and ahead.store_metadata == now.store_metadata
    assert ahead.replace_session_keys == now.replace_session_keys
    assert ahead.profile_segments == now.profile_segments
    receiver = BspReceiver(prepared.ppk)
    assert b"".join(receiver.unprotect(segment) for segment in ahead.profile_segments) == der
    # and the package builder does not need the DER when the segments are prepared
    without = build_bound_profile_package(
        **{**common, "profile_package": b""}, protected_profile=prepared.protected
    )
    assert split_bpp(without.der).profile_segments == now.profile_segments
