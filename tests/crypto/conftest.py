"""Published BSP / ECKA vectors (see ../shared/docs/bsp-test-vectors.md), shared by the crypto tests."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from openrsp.crypto.kdf import SessionKeys

h = bytes.fromhex

# Vector 1: ECKA on P-256.
EUICC_OTPK = h(
    "0400f7b8d71403f21d84b00cd9e561178d737d3f4d065e62fee279271298dd4f07"
    "4794ab791b9939d4461296efe388aa26731064263af988b7d2c4d77da44801b5"
)
DP_OTPK = h(
    "04a27e2bdbd94dcf67d4c9ae5cb149d9d0f093be7a16dc41ec9db0318e4db72d09"
    "234a7d7631979a5d150eec40afe17ce41673df9d2f2e4246d60051c74eba7964"
)
DP_OTSK = h("fb68a38ccedb69e15cbe03c256228998ac398587e5dc7117f948145c839d61a4")
SHARED_SECRET_A = h("c9a993dd4879a8f7161f2085410edd4f9652f1df37be097ba96ba2ca6be528fe")

HOST_ID = b"\x80" * 8
EID_A = h("89049032123451234512345678901235")
KEYS_A = SessionKeys(
    s_enc=h("472f5bfadd97f21d34f3ce9b51b92751"),
    s_mac=h("9ec07f5b36a13e12a991d66e294e6242"),
    initial_mcv=h("406d507b448a699e7a36a38494debbde"),
)

SHARED_SECRET_B = h("8902dca391bbb22570fe60c176076246f568b1941265dff1d729e63039658089")
EID_B = h("89049032123451234512345678901335")
KEYS_B = SessionKeys(
    s_enc=h("d782d575b22a38334556a3d9a1e2ae6b"),
    s_mac=h("a35addc192ae8f934e2932116c7e89e7"),
    initial_mcv=h("734bc93ddb10c71c5ad13d420dc08b5b"),
)

# Vector 4: one BSP session under KEYS_A, in this order.
CONFIGURE_ISDP = h("bf2400")
CONFIGURE_ISDP_PROTECTED = h("8718f6fe031e4b9cfe87c8e1e62f3fde85c49412d7722a6a2d89")
STORE_METADATA = h(
    "bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f544553545f50524f46494c45950100"
)
STORE_METADATA_PROTECTED = h(
    "8838bf252d5a0a98001032547698103214910947534d415f54455354921147534d415f544553545f50524f46494c45"
    "9501008a62cc9adbb5ccbc"
)
REPLACE_SESSION_KEYS = h(
    "bf26368010000102030405060708090a0b0c0d0e0f8110010102030405060708090a0b0c0d0e0f"
    "8210020102030405060708090a0b0c0d0e0f"
)
REPLACE_SESSION_KEYS_PROTECTED = h(
    "8748a14c800a001992351cd46ad2945654674369701d82b7b46567652bc8fbed234939fc57fba748015525fd6c651e9d"
    "3d1330652d42a0cfad950e912122af4ec5362d3c0bc535729c40"
)

# Vector 5: the profile protection keys ReplaceSessionKeys carries.
PPK = SessionKeys(
    s_enc=h("010102030405060708090A0B0C0D0E0F"),
    s_mac=h("020102030405060708090A0B0C0D0E0F"),
    initial_mcv=h("000102030405060708090A0B0C0D0E0F"),
)


@pytest.fixture(scope="session")
def vec() -> SimpleNamespace:
    """Every vector above by name, plus vector 5's two 1020-byte profile segments (copied verbatim
    from the vectors doc into data/bsp_profile_segments.json)."""
    raw = json.loads((Path(__file__).parent / "data" / "bsp_profile_segments.json").read_text())
    constants = {name: value for name, value in globals().items() if name.isupper()}
    return SimpleNamespace(**constants, **{name: h(value) for name, value in raw.items()})
