"""A SAIP profile package read into its profile elements, with the subscriber data it carries."""

from __future__ import annotations

from typing import Any, NamedTuple

from openrsp.asn1 import Asn1Error, saip
from openrsp.profile.alpha import decode_dialling_number, decode_spn
from openrsp.profile.errors import ProfileError
from openrsp.profile.filesystem import ProfileFile, build_file_system
from openrsp.profile.identifiers import decode_header_iccid, decode_iccid, decode_imsi

PE_TYPE = "ProfileElement"

# PE-AKAParameter algorithmID values (SAIP AlgoParameter) and the names we use for them.
ALGORITHM_NAMES = {1: "milenage", 2: "tuak", 3: "usim-test-algorithm"}
ALGORITHM_IDS = {name: number for number, name in ALGORITHM_NAMES.items()}

Element = tuple[str, dict[str, Any]]


class AkaParameters(NamedTuple):
    """The network access key set of the profile's first NAA: (algorithm, ki, opc)."""

    algorithm: str
    ki: bytes
    opc: bytes


def decode_elements(der: bytes) -> list[tuple[Element, bytes]]:
    """Split a package into its PEs: each decoded value with the exact bytes it came from."""
    codec = saip()
    out: list[tuple[Element, bytes]] = []
    view = memoryview(der)  # slicing a view copies nothing: linear in the package size
    offset = 0
    while offset < len(der):
        try:
            value, used = codec.decode_with_length(PE_TYPE, view[offset:])
        except Asn1Error as exc:
            raise ProfileError(f"not a profile package: PE {len(out) + 1} at byte {offset}: {exc}") from None
        if value[0] is None:
            # asn1tools answers an unknown tag of the extensible CHOICE with (None, None)
            raise ProfileError(f"not a profile package: unknown PE tag {der[offset]:02X} at byte {offset}")
        out.append((value, der[offset : offset + used]))
        offset += used
    return out


class ProfilePackage:
    """The PEs of one profile package, in order, and what they say about the subscription.

    Built from DER, it keeps each PE's original bytes: `to_der()` and `element_tlvs()` give back
    exactly what was read, whatever the codec would make of fields it does not know.
    """

    def __init__(self, elements: list[Element], tlvs: list[bytes]) -> None:
        if not elements:
            raise ProfileError("a profile package needs at least a ProfileHeader and an End PE")
        if elements[0][0] != "header":
            raise ProfileError(f"a profile package must start with a ProfileHeader, not {elements[0][0]}")
        if elements[-1][0] != "end":
            raise ProfileError(f"a profile package must finish with an End PE, not {elements[-1][0]}")
        if sum(kind == "header" for kind, _ in elements) != 1:
            raise ProfileError("a profile package has exactly one ProfileHeader")
        self._elements = elements
        self._tlvs = tlvs
        self._files: dict[str, ProfileFile] | None = None

    @classmethod
    def from_der(cls, der: bytes) -> ProfilePackage:
        """Read a package (a concatenation of DER ProfileElements)."""
        if not isinstance(der, bytes | bytearray) or not der:
            raise ProfileError("not a profile package: no data")
        decoded = decode_elements(bytes(der))
        return cls([value for value, _ in decoded], [raw for _, raw in decoded])

    @classmethod
    def from_elements(cls, elements: list[Element]) -> ProfilePackage:
        """Build a package from decoded PE values (as asn1tools gives them), encoding each one."""
        codec = saip()
        try:
            tlvs = [codec.encode(PE_TYPE, element) for element in elements]
        except Asn1Error as exc:
            raise ProfileError(f"cannot encode profile element: {exc}") from None
        return cls(list(elements), tlvs)

    # -- the package as PEs and bytes ----------------------------------------------------------

    @property
    def elements(self) -> list[Element]:
        """The PEs in order, each a (kind, value) pair such as ('usim', {...})."""
        return list(self._elements)

    @property
    def element_kinds(self) -> list[str]:
        return [kind for kind, _ in self._elements]

    def element_tlvs(self) -> list[bytes]:
        """Each PE's DER encoding in order (the SM-DP+ cuts these into BPP segments)."""
        return list(self._tlvs)

    def to_der(self) -> bytes:
        return b"".join(self._tlvs)

    def first(self, kind: str) -> dict[str, Any] | None:
        """The value of the first PE of this kind, or None."""
        return next((value for k, value in self._elements if k == kind), None)

    # -- the ProfileHeader ---------------------------------------------------------------------

    @property
    def header(self) -> dict[str, Any]:
        return self._elements[0][1]

    @property
    def version(self) -> tuple[int, int]:
        """SAIP (major, minor) version the package claims."""
        return self.header["major-version"], self.header["minor-version"]

    @property
    def iccid(self) -> str:
        """The ICCID digits, from the ProfileHeader (F padding stripped)."""
        return decode_header_iccid(self.header["iccid"])

    @property
    def profile_type(self) -> str | None:
        return self.header.get("profileType")

    @property
    def mandatory_services(self) -> list[str]:
        """Names of the eUICC-Mandatory-services the header lists (e.g. 'usim', 'milenage')."""
        return sorted(self.header["eUICC-Mandatory-services"])

    # -- subscriber data -----------------------------------------------------------------------

    @property
    def files(self) -> dict[str, bytes]:
        """Path name → content of every file the package creates (see profile.filesystem)."""
        return {path: entry.content for path, entry in self.file_system.items()}

    @property
    def file_system(self) -> dict[str, ProfileFile]:
        """Path name → ProfileFile (FCP values and content) of every file the package creates."""
        if self._files is None:
            self._files = build_file_system(self._elements)
        return self._files

    @property
    def ef_iccid(self) -> str | None:
        """The ICCID as MF/EF.ICCID holds it (swapped BCD), or None without that file."""
        content = self.files.get("MF/EF.ICCID")
        return decode_iccid(content[:10]) if content and len(content) >= 10 else None

    @property
    def imsi(self) -> str | None:
        """IMSI from EF.IMSI of the USIM, or None when the package has no USIM IMSI."""
        content = self.files.get("ADF.USIM/EF.IMSI")
        if not content:
            return None
        try:
            return decode_imsi(content)
        except ProfileError:
            return None

    @property
    def usim_aid(self) -> bytes | None:
        """AID (dfName) of the USIM application, or None without a USIM."""
        adf = self.file_system.get("ADF.USIM")
        return adf.fcp.get("dfName") if adf else None

    @property
    def spn(self) -> str | None:
        content = self.files.get("ADF.USIM/EF.SPN")
        return decode_spn(content) if content else None

    @property
    def msisdn(self) -> str | None:
        """The first number in the USIM's EF.MSISDN, or None."""
        entry = self.file_system.get("ADF.USIM/EF.MSISDN")
        for record in entry.records() if entry else []:
            number = decode_dialling_number(record)
            if number:
                return number
        return None

    @property
    def aka(self) -> AkaParameters | None:
        """Algorithm, Ki and OPc of the first PE-AKAParameter that defines keys (not a mapping)."""
        for kind, value in self._elements:
            if kind != "akaParameter":
                continue
            choice, params = value["algoConfiguration"]
            if choice != "algoParameter":
                continue
            number = params["algorithmID"]
            return AkaParameters(
                ALGORITHM_NAMES.get(number, f"algorithm-{number}"), params["key"], params["opc"]
            )
        return None

    def __repr__(self) -> str:
        return f"ProfilePackage(iccid={self.iccid}, {len(self._elements)} PEs)"
