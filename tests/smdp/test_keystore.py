"""PKCS#11 URIs, the SM-DP+'s keys in a SoftHSM2 token (both curves), sealing inside the token, and
rotating a file sealing key in place."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from openrsp.crypto.ecdsa import verify_plain
from openrsp.errors import InputError
from openrsp.pki.credentials import SmdpCredentials
from openrsp.pki.hsm.uri import parse_pkcs11_uri
from openrsp.pki.testpki import init_pki
from openrsp.profile import Subscription
from openrsp.rspserver.sealing import Sealer, SealError, parse_kek
from openrsp.smdp.config import load_config
from openrsp.smdp.context import open_database
from openrsp.smdp.db.models import RspSession
from openrsp.smdp.db.profiles import list_profiles, open_package, open_secrets
from openrsp.smdp.errors import ConfigError
from openrsp.smdp.inventory import generate_profiles
from openrsp.smdp.keystore import import_credentials, open_keystore
from openrsp.smdp.rotation import rotate_seal
from openrsp.smdp.tlsfiles import load_credentials


def test_pkcs11_uris_parse_and_bad_ones_are_named(tmp_path):
    pin = tmp_path / "pin"
    pin.write_text("1234\nignored\n")
    uri = parse_pkcs11_uri(
        f"pkcs11:token=My%20HSM;object=dp1?module-path=/usr/lib/x.so&pin-source=file:{pin}"
    )
    assert (uri.token, uri.object, uri.module_path, uri.pin()) == ("My HSM", "dp1", "/usr/lib/x.so", "1234")
    inline = parse_pkcs11_uri("pkcs11:token=t?module-path=/m.so&pin-value=99")
    assert inline.pin() == "99" and "99" not in inline.redacted()
    for bad, reason in [
        ("token=t?module-path=/m.so", "must start with"),
        ("pkcs11:token=t", "module-path"),
        ("pkcs11:object=o?module-path=/m.so", "name the token"),
        ("pkcs11:token=t;colour=red?module-path=/m.so", "unknown attribute 'colour'"),
        ("pkcs11:token=t?module-path=/m.so&pin-value=1&pin-source=/p", "not both"),
        ("pkcs11:token=t;token=u?module-path=/m.so", "given twice"),
    ]:
        with pytest.raises(InputError, match=reason):
            parse_pkcs11_uri(bad)


def test_keys_imported_into_the_token_sign_r_s_on_both_curves(tmp_path, hsm_uri):
    pki = tmp_path / "pki"
    init_pki(pki)
    labels = import_credentials(pki, hsm_uri)
    assert "smdp/dpauth-brp" in labels and "smdp/seal" in labels
    from_files = SmdpCredentials.load(pki)
    from_token = load_credentials(pki, hsm_uri)
    assert sorted(s.curve for s in from_token.sets) == ["brp", "nist"]
    for in_token, on_disk in zip(from_token.sets, from_files.sets, strict=True):
        for role in ("dpauth", "dppb"):
            signer = getattr(in_token, f"{role}_key")
            assert signer.curve == in_token.curve
            signature = signer.sign_plain(b"serverSigned1 bytes")
            assert len(signature) == 64
            public = getattr(on_disk, f"{role}_cert").public_key()
            assert verify_plain(public, b"serverSigned1 bytes", signature)
            assert not verify_plain(public, b"other bytes", signature)
    # The token never hands a private or secret key out.
    store = open_keystore(hsm_uri)
    for obj in store.objects():
        assert obj.label.startswith("smdp/")
    import pkcs11

    private = store.token._find("smdp/dppb-nist", pkcs11.ObjectClass.PRIVATE_KEY)
    assert private[pkcs11.Attribute.SENSITIVE] and not private[pkcs11.Attribute.EXTRACTABLE]
    seal = store.token._find("smdp/seal", pkcs11.ObjectClass.SECRET_KEY)
    assert seal[pkcs11.Attribute.SENSITIVE] and not seal[pkcs11.Attribute.EXTRACTABLE]


def test_sealing_in_the_token(hsm_uri, softhsm_pool):
    from softhsm_fixture import next_token

    sealer = Sealer(open_keystore(hsm_uri).seal_key())
    blob = sealer.seal(b"Ki and OPc", "secrets/8999")
    assert b"Ki and OPc" not in blob
    assert sealer.open(blob, "secrets/8999") == b"Ki and OPc"
    with pytest.raises(SealError):
        sealer.open(blob, "secrets/8998")  # another row
    other = Sealer(open_keystore(next_token(softhsm_pool)).seal_key())
    with pytest.raises(SealError):
        other.open(blob, "secrets/8999")  # another token's key
    assert sealer.subkey("es9-transaction") == Sealer(open_keystore(hsm_uri).seal_key()).subkey(
        "es9-transaction"
    )
    assert sealer.subkey("es9-transaction") != other.subkey("es9-transaction")


def test_a_missing_token_or_wrong_pin_is_one_clear_error(hsm_uri):
    query = hsm_uri.split("?", 1)[1]
    with pytest.raises(ConfigError, match="no PKCS#11 token 'nope'"):
        open_keystore(f"pkcs11:token=nope?{query}")
    with pytest.raises(ConfigError, match="wrong PIN"):
        open_keystore(hsm_uri.split("?")[0] + "?" + query.split("&")[0] + "&pin-value=0000")
    with pytest.raises(ConfigError, match="cannot load the PKCS#11 module"):
        open_keystore("pkcs11:token=t?module-path=/nonexistent/libpkcs11.so&pin-value=1")


def test_rotating_a_file_sealing_key_reseals_in_place(tmp_path, db_url):
    data = tmp_path / "data"
    config = load_config(data_dir=data, db_url=db_url)
    database = open_database(config)
    sub = Subscription(
        iccid="8999001000000000017", imsi="001010000000017", ki=bytes(range(16)), opc=bytes(16)
    )
    generate_profiles(database, [sub], operator="op")
    # a download under way: its one-time key and PPK sealed in the session row
    session_secret = bytes(range(80))
    with database.transaction() as connection:
        now = database.clock()
        binding = {
            "euicc_otpk": "04",
            "secret": database.sealer.seal(session_secret, f"es9-binding/{sub.iccid}").hex(),
        }
        connection.execute(
            insert(RspSession.__table__),
            {"transaction_id": "AB" * 16, "iccid": sub.iccid, "state": "bound", "data": {"binding": binding},
             "created_at": now, "updated_at": now},
        )  # fmt: skip
    database.engine.dispose()
    old_kek = parse_kek((data / "kek.key").read_bytes())

    report = rotate_seal(config)
    assert (report.profiles, report.sessions) == (1, 1)
    new_kek = parse_kek((data / "kek.key").read_bytes())
    assert new_kek != old_kek
    assert oct((data / "kek.key").stat().st_mode & 0o777) == oct(0o600)
    assert not (data / "kek.key.next").exists()

    database = open_database(config)  # only the new key is around
    try:
        with database.transaction() as connection:
            (profile,) = list_profiles(connection)
            data = connection.execute(select(RspSession.__table__.c.data)).scalar_one()
        assert open_secrets(database.sealer, profile).ki == bytes(range(16))
        assert open_package(database, profile.iccid)
        with pytest.raises(SealError):
            Sealer(old_kek).open(profile.secrets, f"secrets/{profile.iccid}")
        sealed = bytes.fromhex(data["binding"]["secret"])
        assert database.sealer.open(sealed, f"es9-binding/{sub.iccid}") == session_secret
    finally:
        database.engine.dispose()


def test_data_sealed_under_a_file_key_is_not_given_a_new_token_key(tmp_path, hsm_uri):
    data = tmp_path / "data"
    database = open_database(load_config(data_dir=data))
    sub = Subscription(iccid="8999001000000000017", imsi="001010000000017", ki=bytes(16), opc=bytes(16))
    generate_profiles(database, [sub], operator="op")
    database.engine.dispose()
    with pytest.raises(ConfigError, match="has no 'smdp/seal'"):
        open_database(load_config(data_dir=data, keys_uri=hsm_uri))
    assert open_keystore(hsm_uri).objects() == []  # nothing made in the token

    # the way to move sealing into the token: rotate-seal --to
    report = rotate_seal(load_config(data_dir=data), to_uri=hsm_uri)
    assert report.profiles == 1
    database = open_database(load_config(data_dir=data, keys_uri=hsm_uri))
    try:
        with database.transaction() as connection:
            (profile,) = list_profiles(connection)
            assert open_secrets(database.sealer, profile).ki == bytes(16)
    finally:
        database.engine.dispose()
