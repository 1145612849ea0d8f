"""Decoding an ES10 request the way the card must: all of it understood, or refused with 6A80.

asn1tools answers an alternative of an extensible CHOICE that the schema does not know with
(None, None), and does not enforce SIZE constraints. A card function that goes on with such a
value would fail somewhere inside with a Python exception (6F00); here it is a malformed request.
"""

from __future__ import annotations

from typing import Any

from openrsp.asn1 import Asn1Error, rsp


def decode_request(type_name: str, request: bytes) -> Any:
    """The decoded request; Asn1Error (answered 6A80 by the ISD-R) when any part is not understood."""
    value = rsp().decode(type_name, request)
    _refuse_unknown_alternatives(value, type_name)
    return value


def _refuse_unknown_alternatives(value: Any, where: str) -> None:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, tuple) and len(item) == 2 and (item[0] is None or isinstance(item[0], str)):
            if item[0] is None:
                raise Asn1Error(f"malformed {where}: an alternative this card does not know")
            pending.append(item[1])
