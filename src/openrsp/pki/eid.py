"""EIDs (SGP.29): 32 digits ending in ISO 7064 mod 97-10 check digits; EUM permitted ranges.

An EUM restricts the EIDs it may certify either with the v2 nameConstraints form (a permitted
directoryName whose serialNumber is an EID prefix, as the SGP.26 EUM does) or with the
permittedEins extension (2.23.146.1.2.2.0, SEQUENCE OF PrintableString EID prefixes).
"""

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from openrsp.errors import InputError
from openrsp.pki import oids

EID_LENGTH = 32
_BODY_LENGTH = EID_LENGTH - 2


def eid_check_digits(body: str) -> str:
    """The two check digits for the first 30 digits of an EID (same scheme as IBAN)."""
    if len(body) != _BODY_LENGTH or not body.isdigit():
        raise InputError(f"EID body must be {_BODY_LENGTH} digits, got {body!r}")
    return f"{98 - int(body + '00') % 97:02d}"


def eid_check_digits_valid(eid: str) -> bool:
    return len(eid) == EID_LENGTH and eid.isdigit() and int(eid) % 97 == 1


def validate_eid(eid: str) -> str:
    """Return the EID if it is 32 digits with correct check digits, else raise InputError."""
    eid = eid.strip()
    if len(eid) != EID_LENGTH or not eid.isdigit():
        raise InputError(f"EID must be {EID_LENGTH} decimal digits, got {eid!r}")
    if not eid_check_digits_valid(eid):
        raise InputError(f"EID {eid} has wrong check digits (expected {eid_check_digits(eid[:-2])})")
    return eid


def make_eid(prefix: str, serial: int = 0) -> str:
    """An EID starting with `prefix` (e.g. the EUM's 8-digit EIN), `serial` filling the rest."""
    if not prefix.isdigit() or len(prefix) > _BODY_LENGTH:
        raise InputError(f"EID prefix must be up to {_BODY_LENGTH} digits, got {prefix!r}")
    width = _BODY_LENGTH - len(prefix)
    if not 0 <= serial < 10**width:
        raise InputError(f"serial {serial} does not fit in the {width} digits after prefix {prefix}")
    body = prefix + (str(serial).zfill(width) if width else "")
    return body + eid_check_digits(body)


DEFAULT_EID = "89001012012341234012345678901224"  # the EID GSMA test material uses
DEFAULT_EIN = DEFAULT_EID[:8]


def eid_from_certificate(cert: x509.Certificate) -> str:
    """The EID an eUICC certificate carries in its subject serialNumber."""
    values = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if not values:
        raise InputError("certificate subject has no serialNumber (EID)")
    value = values[0].value
    return value if isinstance(value, str) else value.decode("ascii", "replace")


def _der_length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 3 or pos + 1 + count > len(data):
        raise ValueError("bad DER length")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _der_tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + value


def encode_permitted_eins(prefixes: list[str]) -> bytes:
    """DER of PermittedEins ::= SEQUENCE OF PrintableString."""
    return _der_tlv(0x30, b"".join(_der_tlv(0x13, p.encode("ascii")) for p in prefixes))


def decode_permitted_eins(der: bytes) -> list[str]:
    if not der or der[0] != 0x30:
        raise ValueError("permittedEins is not a SEQUENCE")
    length, pos = _der_length(der, 1)
    end = pos + length
    if end != len(der):
        raise ValueError("permittedEins has trailing or missing bytes")
    prefixes = []
    while pos < end:
        tag = der[pos]
        length, pos = _der_length(der, pos + 1)
        if tag not in (0x13, 0x0C) or pos + length > end:  # PrintableString (UTF8String tolerated)
            raise ValueError("permittedEins entry is not a PrintableString")
        prefixes.append(der[pos : pos + length].decode("ascii"))
        pos += length
    return prefixes


def permitted_eins_extension(prefixes: list[str]) -> x509.UnrecognizedExtension:
    return x509.UnrecognizedExtension(oids.PERMITTED_EINS, encode_permitted_eins(prefixes))


def eid_name_constraints(organization: str, prefixes: list[str]) -> x509.NameConstraints:
    """The SGP.22 v2 / SGP.26 form: one permitted directoryName (O, serialNumber=prefix) per range."""
    subtrees = [
        x509.DirectoryName(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, prefix),
                ]
            )
        )
        for prefix in prefixes
    ]
    return x509.NameConstraints(permitted_subtrees=subtrees, excluded_subtrees=None)


def _name_constraint_ranges(eum_cert: x509.Certificate) -> list[tuple[str | None, str]] | None:
    try:
        nc = eum_cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    ranges = []
    for subtree in nc.permitted_subtrees or []:
        if not isinstance(subtree, x509.DirectoryName):
            continue
        serials = subtree.value.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        orgs = subtree.value.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        if serials:
            ranges.append((str(orgs[0].value) if orgs else None, str(serials[0].value)))
    return ranges or None


def _permitted_eins(eum_cert: x509.Certificate) -> list[str] | None:
    try:
        ext = eum_cert.extensions.get_extension_for_oid(oids.PERMITTED_EINS)
    except x509.ExtensionNotFound:
        return None
    try:
        return decode_permitted_eins(ext.value.value)
    except (ValueError, UnicodeDecodeError):
        raise InputError("EUM certificate has a malformed permittedEins extension") from None


def eum_permitted_eids(eum_cert: x509.Certificate) -> list[str] | None:
    """The EID prefixes an EUM may certify; None when the EUM certificate sets no restriction."""
    eins = _permitted_eins(eum_cert)
    if eins is not None:
        return eins
    ranges = _name_constraint_ranges(eum_cert)
    return None if ranges is None else [prefix for _, prefix in ranges]


@dataclass(frozen=True)
class EumRange:
    """The EIDs an EUM certificate permits: permittedEins prefixes when it has that extension,
    else its name constraints' (O, serialNumber prefix) pairs, else no restriction (both None)."""

    eins: tuple[str, ...] | None
    ranges: tuple[tuple[str | None, str], ...] | None


def eum_range(eum_cert: x509.Certificate) -> EumRange:
    """What the EUM permits (InputError for a malformed permittedEins): read once, checked per eUICC."""
    eins = _permitted_eins(eum_cert)
    if eins is not None:
        return EumRange(tuple(eins), None)
    ranges = _name_constraint_ranges(eum_cert)
    return EumRange(None, None if ranges is None else tuple(ranges))


def range_violation(euicc_cert: x509.Certificate, eid: str, permitted: EumRange) -> str | None:
    """Why `eid` (the eUICC certificate's) falls outside what its EUM permits, or None if inside."""
    eins = permitted.eins
    if eins is not None:
        if any(eid.startswith(prefix) for prefix in eins):
            return None
        return f"EID {eid} is outside the EUM's permitted EINs ({', '.join(eins) or 'none'})"
    ranges = permitted.ranges
    if ranges is None:
        return None
    orgs = [str(a.value) for a in euicc_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    for org, prefix in ranges:
        if eid.startswith(prefix) and (org is None or org in orgs):
            return None
    shown = ", ".join(f"O={org} serialNumber={prefix}*" if org else f"{prefix}*" for org, prefix in ranges)
    return f"EID {eid} (O={', '.join(orgs) or '-'}) is outside the EUM's name constraints ({shown})"


def eid_range_violation(euicc_cert: x509.Certificate, eum_cert: x509.Certificate) -> str | None:
    """Why the eUICC certificate falls outside its EUM's permitted range, or None if inside."""
    eid = eid_from_certificate(euicc_cert)
    return range_violation(euicc_cert, eid, eum_range(eum_cert))


def eid_permitted(eid: str, eum_cert: x509.Certificate) -> bool:
    """Whether the EUM may certify this EID (prefix rules only; no organization check)."""
    prefixes = eum_permitted_eids(eum_cert)
    return prefixes is None or any(eid.startswith(prefix) for prefix in prefixes)
