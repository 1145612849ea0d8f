"""Activation codes (SGP.22 §4.1): `LPA:1$<SM-DP+ address>$<matching ID>[$<SM-DP+ OID>[$<CC flag>]]`.

The `LPA:` prefix is what QR codes carry; typed codes often leave it out. Empty fields are allowed
where the specification makes them optional (`1$host$$` has an empty matching ID). A QR image is
read with zxing-cpp.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openrsp.lpa.core.errors import LpaInputError

FORMAT_VERSION = "1"
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
# Matching IDs are upper-case alphanumerics and '-' in practice; accept any printable token that
# cannot break the '$' framing or a JSON/HTTP field.
_MATCHING_ID = re.compile(r"^[\x21-\x23\x25-\x7E]{0,255}$")


class ActivationCodeError(LpaInputError):
    """Text that is not a valid SGP.22 activation code."""

    def __init__(self, message: str) -> None:
        super().__init__(f"activation code: {message}", step="activation_code")


@dataclass(frozen=True)
class ActivationCode:
    smdp_address: str  # FQDN, optionally with ':port'
    matching_id: str  # may be empty
    smdp_oid: str | None = None
    confirmation_code_required: bool = False

    def __str__(self) -> str:
        fields = [FORMAT_VERSION, self.smdp_address, self.matching_id]
        if self.smdp_oid is not None or self.confirmation_code_required:
            fields.append(self.smdp_oid or "")
        if self.confirmation_code_required:
            fields.append("1")
        return "LPA:" + "$".join(fields)


def check_smdp_address(address: str, *, what: str = "SM-DP+ address") -> str:
    """An SM-DP+ address is an FQDN, optionally followed by ':port' (lpac keeps the port)."""
    host, sep, port = address.partition(":")
    if sep and not (port.isdigit() and 0 < int(port) < 65536):
        raise LpaInputError(f"{what} {address!r}: the port must be a number from 1 to 65535", step="smdp")
    labels = host.rstrip(".").split(".")
    if not host or len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise LpaInputError(f"{what} {address!r} is not a host name", step="smdp")
    return address.lower()


def parse_activation_code(text: str) -> ActivationCode:
    """Parse and validate an activation code; raises ActivationCodeError naming the bad field."""
    code = text.strip()
    if code[:4].upper() == "LPA:":
        code = code[4:]
    if not code:
        raise ActivationCodeError("empty")
    fields = code.split("$")
    if fields[0] != FORMAT_VERSION:
        raise ActivationCodeError(f"format {fields[0]!r} is not supported (only '1')")
    if len(fields) < 3:
        raise ActivationCodeError("needs at least '1$<SM-DP+ address>$<matching ID>'")
    if len(fields) > 5:
        raise ActivationCodeError(f"has {len(fields)} fields, at most 5 are defined")
    fields += [""] * (5 - len(fields))
    _, address, matching_id, oid, cc_flag = fields
    if not address:
        raise ActivationCodeError("the SM-DP+ address is missing")
    try:
        address = check_smdp_address(address)
    except LpaInputError as exc:
        raise ActivationCodeError(str(exc)) from None
    if not _MATCHING_ID.match(matching_id):
        raise ActivationCodeError(
            f"matching ID {matching_id!r} has characters an activation code cannot hold"
        )
    if oid and not _OID.match(oid):
        raise ActivationCodeError(f"SM-DP+ OID {oid!r} is not a dotted object identifier")
    if cc_flag not in ("", "0", "1"):
        raise ActivationCodeError(f"confirmation code required flag must be '1' or empty, not {cc_flag!r}")
    return ActivationCode(address, matching_id, oid or None, cc_flag == "1")
