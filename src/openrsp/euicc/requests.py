"""Decoding an ES10 request the way the card must: all of it understood, or refused with 6A80.

asn1tools answers an alternative of an extensible CHOICE that the schema does not know with
(None, None), and does not enforce SIZE constraints. A card function that goes on with such a
value would fail somewhere inside with a Python exception (6F00); here it is a malformed request.
"""

from __future__ import annotations

from typing import Any

from openrsp.asn1 import Asn1Error, rsp
from openrsp.asn1.choices import unknown_alternative_in


def decode_request(type_name: str, request: bytes) -> Any:
    """The decoded request; Asn1Error (answered 6A80 by the ISD-R) when any part is not understood."""
    value = rsp().decode(type_name, request)
    if unknown_alternative_in(value):
        raise Asn1Error(f"malformed {type_name}: an alternative this card does not know")
    return value
