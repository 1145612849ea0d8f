"""The file system a profile package creates, as a flat map from path names to files.

Template PEs (mf, usim, opt-usim, telecom, df-5gs, ...) name their files by ASN.1 member; those
become paths such as "MF/EF.ICCID", "ADF.USIM/EF.IMSI" or "MF/DF.TELECOM/DF.PHONEBOOK/EF.PBR".
Files made by PE-GenericFileManagement have no name in the package, so they are named by file id
under the directory their filePath selects: "MF/DF.TELECOM/EF.6F44", "ADF.USIM/DF.5FC0/EF.4F01".
ADFs are top level ("ADF.USIM", "ADF.ISIM", "ADF.CSIM"), as they are on a card.

Content is what the package writes: the file is first filled (fillPattern: the pattern, then its
last byte repeated; repeatPattern: the pattern over and over; otherwise 0xFF; per record for
record files), then fillFileOffset/fillFileContent write at a running offset. SAIP templates also
give default sizes and contents to files the package does not describe fully: those defaults are
NOT modelled, except the fixed sizes of a few EFs listed in TEMPLATE_FILE_SIZES. A file whose size
neither its FCP nor that table gives is as long as what the package writes into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openrsp.profile.errors import ProfileError

# Fixed sizes (3GPP TS 31.102 / ETSI TS 102 221) of EFs that TS.48 packages create without an
# efFileSize, relying on the template.
TEMPLATE_FILE_SIZES = {
    "MF/EF.ICCID": 10,
    "ADF.USIM/EF.IMSI": 9,
    "ADF.USIM/EF.SPN": 17,
    "ADF.USIM/EF.ACC": 2,
    "ADF.USIM/EF.KEYS": 33,
    "ADF.USIM/EF.KEYSPS": 33,
    "ADF.USIM/EF.HPPLMN": 1,
    "ADF.USIM/EF.LOCI": 11,
    "ADF.USIM/EF.PSLOCI": 14,
    "ADF.USIM/EF.EPSLOCI": 18,
    "ADF.USIM/EF.START-HFN": 6,
    "ADF.USIM/EF.THRESHOLD": 3,
}

# File ids of template DFs, for packages whose FCPs leave the id to the template.
TEMPLATE_DF_IDS = {
    "DF.TELECOM": b"\x7f\x10",
    "DF.GRAPHICS": b"\x5f\x50",
    "DF.PHONEBOOK": b"\x5f\x3a",
    "DF.MULTIMEDIA": b"\x5f\x3b",
    "DF.MMSS": b"\x5f\x3c",
    "DF.GSM-ACCESS": b"\x5f\x3b",
    "DF.5GS": b"\x5f\xc0",
    "DF.SAIP": b"\x5f\xd0",
}

MF_ID = b"\x3f\x00"

# Template PEs whose files live in the current NAA's ADF, and which NAA that is.
_ADF_OF_KIND = {
    "usim": "usim",
    "opt-usim": "usim",
    "phonebook": "usim",
    "gsm-access": "usim",
    "df-5gs": "usim",
    "df-saip": "usim",
    "df-snpn": "usim",
    "df-5gprose": "usim",
    "eap": "usim",
    "opt-iot": "usim",
    "isim": "isim",
    "opt-isim": "isim",
    "csim": "csim",
    "opt-csim": "csim",
}
FILE_SYSTEM_KINDS = frozenset(["mf", "cd", "telecom", "iot", *_ADF_OF_KIND])


@dataclass
class ProfileFile:
    """One file (EF, DF or ADF) the package creates."""

    path: str
    fcp: dict[str, Any] = field(default_factory=dict)  # the package's Fcp values (may be partial)
    content: bytes = b""  # empty for directories

    @property
    def file_id(self) -> bytes | None:
        return self.fcp.get("fileID")

    @property
    def is_directory(self) -> bool:
        return _is_directory(self.fcp, self.path)

    @property
    def structure(self) -> str:
        """'df', 'transparent', 'linear-fixed', 'cyclic', 'ber-tlv' or 'unknown'."""
        return _structure(self.fcp, self.path)

    @property
    def record_length(self) -> int | None:
        return _record_length(self.fcp)

    def records(self) -> list[bytes]:
        """The records of a linear-fixed or cyclic EF (empty for other files)."""
        length = self.record_length
        if not length or self.structure not in ("linear-fixed", "cyclic"):
            return []
        return [self.content[i : i + length] for i in range(0, len(self.content), length)]


def _last_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _is_directory(fcp: dict[str, Any], path: str) -> bool:
    descriptor = fcp.get("fileDescriptor")
    if descriptor:
        # ETSI TS 102 221 file descriptor byte: '78' (or '38' not shareable) is a DF/ADF
        return (descriptor[0] & 0xBF) == 0x38
    if "pinStatusTemplateDO" in fcp or "dfName" in fcp:
        return True  # only directories carry these
    return _last_name(path).split(".")[0] in ("MF", "DF", "ADF")


def _structure(fcp: dict[str, Any], path: str) -> str:
    if _is_directory(fcp, path):
        return "df"
    descriptor = fcp.get("fileDescriptor")
    if not descriptor:
        return "unknown"
    if descriptor[0] & 0x3F == 0x39:
        return "ber-tlv"
    return {1: "transparent", 2: "linear-fixed", 6: "cyclic"}.get(descriptor[0] & 0x07, "unknown")


def _record_length(fcp: dict[str, Any]) -> int | None:
    descriptor = fcp.get("fileDescriptor") or b""
    if len(descriptor) < 4:
        return None
    return int.from_bytes(descriptor[2:4], "big") or None


def member_file_name(member: str) -> str:
    """ASN.1 member name of a template file → its path component ('ef-imsi' → 'EF.IMSI')."""
    if member == "mf":
        return "MF"
    prefix, _, rest = member.partition("-")
    if prefix == "df" and rest.startswith("df-"):
        rest = rest[3:]  # 'df-df-5gs' names DF.5GS
    if member == "ef-arr-usim":
        rest = "arr"
    return f"{prefix.upper()}.{rest.upper()}"


# No UICC file comes near this (transparent EFs are addressed with 15-bit offsets); it keeps a
# package that claims a 4 GiB file, or skips that far, from taking the memory to build it.
MAX_FILE_SIZE = 1 << 20


class _ContentWriter:
    """Applies a File's fill rules and fillFileOffset/fillFileContent items to one EF."""

    def __init__(self, path: str, fcp: dict[str, Any]) -> None:
        self.path = path
        self.position = 0
        self.buffer = bytearray(_initial_content(path, fcp))

    def skip(self, count: int) -> None:
        self.position += count

    def write(self, data: bytes) -> None:
        end = self.position + len(data)
        if self.position < 0 or end > MAX_FILE_SIZE:
            raise ProfileError(f"{self.path}: content at offset {self.position} is outside any file size")
        if end > len(self.buffer):
            self.buffer.extend(b"\xff" * (end - len(self.buffer)))
        self.buffer[self.position : end] = data
        self.position = end


def _initial_content(path: str, fcp: dict[str, Any]) -> bytes:
    if _is_directory(fcp, path):
        return b""
    size_bytes = fcp.get("efFileSize")
    size = int.from_bytes(size_bytes, "big") if size_bytes else TEMPLATE_FILE_SIZES.get(path)
    if size is not None and size > MAX_FILE_SIZE:
        raise ProfileError(f"{path}: file size {size} is larger than a UICC file can be")
    info = fcp.get("proprietaryEFInfo") or {}
    fill, repeat = info.get("fillPattern"), info.get("repeatPattern")
    if _structure(fcp, path) == "ber-tlv":
        return b""  # a BER-TLV file holds data objects, not a fill
    unit = _record_length(fcp) if _structure(fcp, path) in ("linear-fixed", "cyclic") else None
    unit = unit or size
    if unit is None:
        # Unknown size: the file holds at least one copy of its pattern.
        return fill or repeat or b""
    if fill:
        block = (fill + fill[-1:] * unit)[:unit]
    elif repeat:
        block = (repeat * (unit // len(repeat) + 1))[:unit]
    else:
        block = b"\xff" * unit
    if size is None:
        return block
    return (block * (size // unit + 1))[:size]


def _fcp_of(items: list[tuple[str, Any]]) -> dict[str, Any] | None:
    for kind, value in items:
        if kind == "fileDescriptor":
            return dict(value)
    return None


class _TreeBuilder:
    """Walks the PEs in order, keeping the directory table GenericFileManagement paths need."""

    def __init__(self) -> None:
        self.files: dict[str, ProfileFile] = {}
        self.dirs: dict[tuple[bytes, ...], str] = {(): "MF"}  # file-id path below the MF → name
        self.current_adf: dict[str, tuple[tuple[bytes, ...], str]] = {}

    def add(self, path: str, fcp: dict[str, Any], items: list[tuple[str, Any]]) -> ProfileFile:
        writer = _ContentWriter(path, fcp)
        for kind, value in items:
            if kind == "fillFileOffset":
                writer.skip(value)
            elif kind == "fillFileContent":
                writer.write(value)
        entry = ProfileFile(path, fcp, bytes(writer.buffer))
        if path in self.files:  # a second template PE (e.g. a second USIM) must not hide the first
            count = 2
            while f"{path}#{count}" in self.files:
                count += 1
            entry.path = f"{path}#{count}"
        self.files[entry.path] = entry
        return entry

    def add_directory(self, fid_path: tuple[bytes, ...], name: str, fcp: dict[str, Any]) -> None:
        self.dirs[fid_path] = name
        self.add(name, fcp, [])

    # -- template PEs ------------------------------------------------------------------------

    def template(self, kind: str, value: dict[str, Any]) -> None:
        naa = _ADF_OF_KIND.get(kind)
        base = self.current_adf.get(naa, ((), f"ADF.{naa.upper()}")) if naa else ((), "MF")
        first_df: tuple[tuple[bytes, ...], str] | None = None
        here = base
        for member, items in value.items():
            if not isinstance(items, list) or not (member == "mf" or member[:3] in ("ef-", "df-", "adf")):
                continue  # header and templateID
            if any(kind_ == "doNotCreate" for kind_, _ in items):
                continue
            fcp = _fcp_of(items) or {}
            name = member_file_name(member)
            if member == "mf":
                here = ((), "MF")
                self.add("MF", fcp, items)
            elif member.startswith("adf-"):
                fid = fcp.get("fileID")
                here = ((fid,) if fid else (name.encode(),), name)
                self.current_adf[member[4:]] = here
                self.add_directory(here[0], name, fcp)
            elif member.startswith("df-"):
                parent = first_df if (kind == "telecom" and first_df) else base
                fid = fcp.get("fileID") or TEMPLATE_DF_IDS.get(name) or name.encode()
                here = (parent[0] + (fid,), f"{parent[1]}/{name}")
                first_df = first_df or here
                self.add_directory(here[0], here[1], fcp)
            else:
                if kind == "iot" and member == "ef-imsi":
                    here = self.current_adf.get("usim", ((), "ADF.USIM"))
                self.add(f"{here[1]}/{name}", fcp, items)

    # -- PE-GenericFileManagement --------------------------------------------------------------

    def directory_name(self, fid_path: tuple[bytes, ...]) -> str:
        known = self.dirs.get(fid_path)
        if known:
            return known
        parent = self.directory_name(fid_path[:-1]) if fid_path else "MF"
        return f"{parent}/DF.{fid_path[-1].hex().upper()}"

    def generic(self, commands: list[list[tuple[str, Any]]]) -> None:
        for command in commands:
            here: tuple[bytes, ...] = ()
            pending: tuple[str, dict[str, Any], list[tuple[str, Any]]] | None = None
            for kind, value in command:
                if kind in ("filePath", "createFCP") and pending:
                    self.add(*pending)
                    pending = None
                if kind == "filePath":
                    fids = tuple(value[i : i + 2] for i in range(0, len(value), 2))
                    here = fids[1:] if fids[:1] == (MF_ID,) else fids
                elif kind == "createFCP":
                    fcp = dict(value)
                    fid = fcp.get("fileID", b"")
                    label = fid.hex().upper() or "?"
                    if _is_directory(fcp, ""):
                        self.add_directory(here + (fid,), f"{self.directory_name(here)}/DF.{label}", fcp)
                    else:
                        pending = (f"{self.directory_name(here)}/EF.{label}", fcp, [])
                elif pending and kind in ("fillFileOffset", "fillFileContent"):
                    pending[2].append((kind, value))
            if pending:
                self.add(*pending)


def build_file_system(elements: list[tuple[str, dict[str, Any]]]) -> dict[str, ProfileFile]:
    """All files the PEs create, by path name, in creation order."""
    builder = _TreeBuilder()
    for kind, value in elements:
        if kind in FILE_SYSTEM_KINDS:
            builder.template(kind, value)
        elif kind == "genericFileManagement":
            builder.generic(value["fileManagementCMD"])
    return builder.files
