"""ES10a (SGP.22 §5.6): the eUICC's configured addresses, as the LPA reads and sets them.

GetEuiccConfiguredAddresses, SetDefaultDpAddress: request DER in, response DER out.
"""

from __future__ import annotations

from typing import Any

from openrsp.asn1 import rsp
from openrsp.euicc.core import Euicc
from openrsp.euicc.requests import decode_request


def get_configured_addresses(euicc: Euicc, request: bytes) -> bytes:
    decode_request("EuiccConfiguredAddressesRequest", request)
    value: dict[str, Any] = {"rootDsAddress": euicc.state.root_smds}
    if euicc.state.default_smdp:
        value["defaultDpAddress"] = euicc.state.default_smdp
    return rsp().encode("EuiccConfiguredAddressesResponse", value)


def set_default_dp_address(euicc: Euicc, request: bytes) -> bytes:
    value = decode_request("SetDefaultDpAddressRequest", request)
    with euicc.transaction() as state:
        state.default_smdp = value["defaultDpAddress"] or None  # an empty address clears it
    return rsp().encode("SetDefaultDpAddressResponse", {"setDefaultDpAddressResult": 0})
