"""What binds a profile to one eUICC's one-time key (SGP.22 §2.5.4), and how it is kept.

A binding is otPK.EUICC.ECKA plus the SM-DP+'s otSK.DP.ECKA and the profile protection keys.
With them the SM-DP+ rebuilds an equivalent bound profile package when the LPA asks again, or when
a retry session gets the eUICC to reuse its one-time key. The secret half is stored sealed under
the KEK, never in clear: in the RSP session's JSON data (the LPA asking again within the session)
and on the order (`orders.retry_binding`, for a retry in a later session, SGP.22 §3.1.3).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from openrsp.crypto.ecka import generate_one_time_key
from openrsp.crypto.kdf import KEY_LENGTH, SessionKeys
from openrsp.crypto.keys import (
    FIELD_SIZE,
    PrivateKey,
    PublicKey,
    private_key_from_scalar,
    private_key_to_scalar,
)
from openrsp.es8.build import build_bound_profile_package
from openrsp.hexutil import to_hex
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp.es9.credentials import SigningSet
from openrsp.smdp.prepared_package import PreparedPackage


@dataclass(frozen=True)
class Binding:
    euicc_otpk: bytes  # otPK.EUICC.ECKA, uncompressed point
    otsk: bytes  # otSK.DP.ECKA scalar
    ppk: SessionKeys  # profile protection keys (ReplaceSessionKeys)
    # otSK.DP.ECKA as a key, when at hand (a new binding): rebuilding it from the scalar costs a
    # scalar multiplication
    ot_key: PrivateKey | None = field(default=None, compare=False, repr=False)
    # otPK.EUICC.ECKA as a key, when at hand (a new binding: getBoundProfilePackage parsed it to
    # check the point is on the curve)
    euicc_key: PublicKey | None = field(default=None, compare=False, repr=False)

    def one_time_key(self, curve: str) -> PrivateKey:
        return self.ot_key if self.ot_key is not None else private_key_from_scalar(curve, self.otsk)


def new_binding(
    curve: str,
    euicc_otpk: bytes,
    rng: Callable[[int], bytes] = os.urandom,
    ppk: SessionKeys | None = None,
    *,
    euicc_key: PublicKey | None = None,
) -> Binding:
    """A fresh SM-DP+ one-time key for this otPK.EUICC; the profile's own PPK when it has one
    (prepared at import), else fresh profile protection keys. `euicc_key`: otPK.EUICC parsed
    already (the point `euicc_otpk`, as a key)."""
    ot_key = generate_one_time_key(curve, rng=None if rng is os.urandom else rng)
    if ppk is None:
        keys = rng(3 * KEY_LENGTH)
        ppk = SessionKeys(
            s_enc=keys[:KEY_LENGTH],
            s_mac=keys[KEY_LENGTH : 2 * KEY_LENGTH],
            initial_mcv=keys[2 * KEY_LENGTH :],
        )
    return Binding(euicc_otpk, private_key_to_scalar(ot_key), ppk, ot_key, euicc_key)


def _context(iccid: str) -> str:
    return f"es9-binding/{iccid}"


def seal(binding: Binding, sealer: Sealer, iccid: str) -> dict[str, str]:
    """The JSON form kept in the RSP session: the otPK in clear, the secrets sealed to this profile."""
    ppk = binding.ppk
    secret = binding.otsk + ppk.s_enc + ppk.s_mac + ppk.initial_mcv
    return {"euicc_otpk": to_hex(binding.euicc_otpk), "secret": to_hex(sealer.seal(secret, _context(iccid)))}


def unseal(stored: dict[str, str], sealer: Sealer, iccid: str) -> Binding:
    secret = sealer.open(bytes.fromhex(stored["secret"]), _context(iccid))
    keys = [secret[FIELD_SIZE + i * KEY_LENGTH : FIELD_SIZE + (i + 1) * KEY_LENGTH] for i in range(3)]
    ppk = SessionKeys(s_enc=keys[0], s_mac=keys[1], initial_mcv=keys[2])
    return Binding(bytes.fromhex(stored["euicc_otpk"]), secret[:FIELD_SIZE], ppk)


def retry_offer(kept: dict[str, str] | None, eid: str) -> bytes | None:
    """The otPK.EUICC to offer back as bppEuiccOtpk (SGP.22 §5.6.2), when the order keeps a binding
    made for this eUICC by an earlier attempt; None otherwise."""
    if not kept or kept.get("eid") != eid or not kept.get("euicc_otpk"):
        return None
    return bytes.fromhex(kept["euicc_otpk"])


def bound_package(
    binding: Binding,
    *,
    transaction_id: bytes,
    eid: str,
    signing: SigningSet,
    profile_package: PreparedPackage,
    store_metadata: bytes,
) -> bytes:
    """The BF36 for this session: the same keys give an equivalent package every time."""
    # the profile's segments protected at import, when this binding uses the profile's own PPK
    prepared = profile_package.protected if profile_package.ppk == binding.ppk else None
    return build_bound_profile_package(
        transaction_id=transaction_id,
        eid=bytes.fromhex(eid),
        euicc_otpk=binding.euicc_otpk,
        euicc_ot_key=binding.euicc_key,
        dppb_key=signing.dppb_key,
        profile_package=b"" if prepared is not None else profile_package.der,
        store_metadata=store_metadata,
        smdp_ot_key=binding.one_time_key(signing.curve),
        ppk=binding.ppk,
        protected_profile=prepared,
    ).der
