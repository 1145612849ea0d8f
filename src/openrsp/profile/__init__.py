"""Subscriptions and SAIP profile packages: reading, writing and generating them."""

from openrsp.profile.errors import ProfileError
from openrsp.profile.filesystem import ProfileFile
from openrsp.profile.generate import generate_package
from openrsp.profile.identifiers import (
    decode_header_iccid,
    decode_iccid,
    decode_imsi,
    encode_header_iccid,
    encode_iccid,
    encode_imsi,
    luhn_check_digit,
    luhn_valid,
)
from openrsp.profile.package import AkaParameters, ProfilePackage
from openrsp.profile.subscription import Subscription, complete_iccid, generate_subscriptions

__all__ = [
    "AkaParameters",
    "ProfileError",
    "ProfileFile",
    "ProfilePackage",
    "Subscription",
    "complete_iccid",
    "decode_header_iccid",
    "decode_iccid",
    "decode_imsi",
    "encode_header_iccid",
    "encode_iccid",
    "encode_imsi",
    "generate_package",
    "generate_subscriptions",
    "luhn_check_digit",
    "luhn_valid",
]
