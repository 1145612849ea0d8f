"""The enabled profile as a UICC sees it: its file system (MF, DFs, EFs) and its USIM application.

Two iso7816.Application objects over one Euicc:
- `UiccFileSystem`, the card's default application: SELECT by file id or path from the MF, READ
  BINARY / READ RECORD, STATUS — for a channel on which no application was selected by AID;
- `UsimApplication`, selectable by the enabled profile's USIM AID, which adds AUTHENTICATE in the
  3G context (TS 31.102 §7.1.2): RAND, AUTN -> RES, CK, IK, or AUTS on a sequence failure, checked
  and computed with the profile's Milenage Ki/OPc. Those keys are not in any file: nothing can read
  them out, the card only uses them.
With no profile enabled the file system is empty and the USIM cannot be selected.
"""

from __future__ import annotations

from dataclasses import dataclass

from openrsp.apdu import (
    SW_CONDITIONS_NOT_SATISFIED,
    SW_FILE_NOT_FOUND,
    SW_FUNCTION_NOT_SUPPORTED,
    SW_INS_NOT_SUPPORTED,
    SW_OK,
    SW_WRONG_DATA,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    CommandApdu,
    ResponseApdu,
    StatusWordError,
    decode_cla,
)
from openrsp.asn1.tlv import encode_tlv
from openrsp.crypto.aka import AkaSyncFailure, verify_autn
from openrsp.crypto.errors import AkaMacError
from openrsp.euicc.core import Euicc
from openrsp.euicc.state import Profile, StoredFile

INS_SELECT, INS_READ_BINARY, INS_READ_RECORD, INS_STATUS, INS_AUTHENTICATE = 0xA4, 0xB0, 0xB2, 0xF2, 0x88
SW_NO_CURRENT_EF = 0x6986  # command not allowed: no EF selected
SW_WRONG_FILE_TYPE = 0x6981  # command incompatible with file structure
SW_RECORD_NOT_FOUND = 0x6A83
SW_WRONG_OFFSET = 0x6B00
SW_END_OF_FILE = 0x6282
SW_AUTH_MAC_FAILURE = 0x9862  # TS 31.102: authentication error, incorrect MAC
# The profile's network access algorithm is not Milenage (e.g. the TS 34.108 test algorithm of the
# TS.48 test profiles): this card does not run it, and says so instead of answering wrongly.
SW_ALGORITHM_NOT_SUPPORTED = SW_FUNCTION_NOT_SUPPORTED

MF = "MF"
FID_MF = b"\x3f\x00"
FID_CURRENT_ADF = b"\x7f\xff"
RES_TAG_SUCCESS, RES_TAG_SYNC_FAILURE = 0xDB, 0xDC
P2_3G_CONTEXT = 0x81


@dataclass
class _Cursor:
    """What is selected on one channel: a directory and maybe an EF in it."""

    directory: str
    ef: str | None = None


def _parent(path: str) -> str | None:
    return path.rsplit("/", 1)[0] if "/" in path else None


def _tlv(tag: int, value: bytes) -> bytes:
    return encode_tlv(tag, value)


class UiccFileSystem:
    """The enabled profile's files, reachable from the MF (or from an ADF in the USIM subclass)."""

    root = MF
    aid = b""  # the default application is never selected by AID

    def __init__(self, euicc: Euicc) -> None:
        self.euicc = euicc
        self._cursors: dict[int, _Cursor] = {}

    # --- iso7816.Application --------------------------------------------------------------------
    def select(self) -> bytes:
        self.euicc.sync()
        self._cursors.clear()
        return self._fcp(self.root, self._file(self.root)) if self._profile() else b""

    def on_reset(self) -> None:
        self._cursors.clear()

    def process(self, apdu: CommandApdu) -> ResponseApdu:
        self.euicc.sync()
        channel = decode_cla(apdu.cla).channel
        if self._profile() is None:
            raise StatusWordError(SW_CONDITIONS_NOT_SATISFIED, "no profile is enabled")
        cursor = self._cursors.setdefault(channel, _Cursor(self.root))
        handler = {
            INS_SELECT: self._select,
            INS_READ_BINARY: self._read_binary,
            INS_READ_RECORD: self._read_record,
            INS_STATUS: self._status,
        }.get(apdu.ins)
        if handler is None:
            return self._other(apdu, cursor)
        return handler(apdu, cursor)

    def _other(self, apdu: CommandApdu, cursor: _Cursor) -> ResponseApdu:
        raise StatusWordError(SW_INS_NOT_SUPPORTED)

    # --- files ------------------------------------------------------------------------------------
    def _profile(self) -> Profile | None:
        return self.euicc.state.enabled_profile()

    def _files(self) -> dict[str, StoredFile]:
        profile = self._profile()
        return profile.files if profile else {}

    def _file(self, path: str) -> StoredFile:
        found = self._files().get(path)
        if found is None:
            if path == MF:
                return StoredFile(FID_MF, is_directory=True)
            raise StatusWordError(SW_FILE_NOT_FOUND)
        return found

    def _child(self, directory: str, fid: bytes) -> str | None:
        prefix = directory + "/"
        for path, entry in self._files().items():
            if path.startswith(prefix) and "/" not in path[len(prefix) :] and entry.fid == fid:
                return path
        return None

    def _resolve(self, cursor: _Cursor, fid: bytes) -> str:
        """A file id from the current directory, as ISO 7816-4 / TS 102 221 SELECT looks it up."""
        if fid == FID_MF:
            return MF
        if fid == FID_CURRENT_ADF and self.root != MF:
            return self.root
        directory = cursor.directory
        if self._file(directory).fid == fid:
            return directory
        found = self._child(directory, fid)
        parent = _parent(directory)
        if found is None and parent is not None:
            # the parent itself, or a sibling DF/EF of the current directory
            found = parent if self._file(parent).fid == fid else self._child(parent, fid)
        if found is None and self.root != MF:
            found = self._child(MF, fid)  # MF-level files stay reachable from the ADF
        if found is None:
            raise StatusWordError(SW_FILE_NOT_FOUND)
        return found

    def _select(self, apdu: CommandApdu, cursor: _Cursor) -> ResponseApdu:
        if apdu.p2 & 0xF3 or apdu.p1 not in (0x00, 0x08, 0x09):
            raise StatusWordError(SW_WRONG_P1P2)
        data = apdu.data
        if apdu.p1 == 0x00:
            if len(data) != 2:
                raise StatusWordError(SW_WRONG_LENGTH)
            path = self._resolve(cursor, data)
        else:
            if not data or len(data) % 2:
                raise StatusWordError(SW_WRONG_LENGTH)
            walk = _Cursor(MF if apdu.p1 == 0x08 else cursor.directory)
            path = walk.directory
            for i in range(0, len(data), 2):
                path = self._resolve(walk, data[i : i + 2])
                walk.directory = path
        entry = self._file(path)
        if entry.is_directory:
            cursor.directory, cursor.ef = path, None
        else:
            cursor.directory, cursor.ef = _parent(path) or MF, path
        if apdu.p2 & 0x0C == 0x0C:
            return ResponseApdu(sw=SW_OK)
        return ResponseApdu(self._fcp(path, entry), SW_OK)

    def _fcp(self, path: str, entry: StoredFile) -> bytes:
        """FCP template (62): descriptor, file id, ADF name, size, life cycle 'operational'."""
        body = b""
        if entry.is_directory:
            body += _tlv(0x82, b"\x78\x21")
        else:
            body += _tlv(0x82, self._descriptor(entry))
        if entry.fid is not None:
            body += _tlv(0x83, entry.fid)
        if entry.aid is not None:
            body += _tlv(0x84, entry.aid)
        if not entry.is_directory:
            body += _tlv(0x80, len(entry.content).to_bytes(2, "big"))
        body += _tlv(0x8A, b"\x05")
        return _tlv(0x62, body)

    @staticmethod
    def _record_length(entry: StoredFile) -> int | None:
        d = entry.descriptor
        if d and len(d) >= 4 and d[0] & 0x07 in (2, 6):
            return int.from_bytes(d[2:4], "big") or None
        return None

    def _descriptor(self, entry: StoredFile) -> bytes:
        length = self._record_length(entry)
        if entry.descriptor and length:
            return entry.descriptor[:4] + bytes([len(entry.content) // length])
        if entry.descriptor:
            return entry.descriptor[:2]
        return b"\x41\x21"  # transparent working EF

    def _current_ef(self, cursor: _Cursor) -> StoredFile:
        if cursor.ef is None:
            raise StatusWordError(SW_NO_CURRENT_EF)
        return self._file(cursor.ef)

    def _read_binary(self, apdu: CommandApdu, cursor: _Cursor) -> ResponseApdu:
        if apdu.p1 & 0x80:
            raise StatusWordError(SW_FUNCTION_NOT_SUPPORTED)  # short file identifiers are not offered
        entry = self._current_ef(cursor)
        if self._record_length(entry) is not None:
            raise StatusWordError(SW_WRONG_FILE_TYPE)
        offset = (apdu.p1 << 8) | apdu.p2
        if offset > len(entry.content):
            raise StatusWordError(SW_WRONG_OFFSET)
        wanted = apdu.le or 256
        data = entry.content[offset : offset + wanted]
        short = len(data) < wanted and apdu.le not in (None, 256)
        return ResponseApdu(data, SW_END_OF_FILE if short else SW_OK)

    def _read_record(self, apdu: CommandApdu, cursor: _Cursor) -> ResponseApdu:
        entry = self._current_ef(cursor)
        length = self._record_length(entry)
        if length is None:
            raise StatusWordError(SW_WRONG_FILE_TYPE)
        if apdu.p2 != 0x04:
            raise StatusWordError(SW_WRONG_P1P2)  # absolute record number only
        count = len(entry.content) // length
        if not 1 <= apdu.p1 <= count:
            raise StatusWordError(SW_RECORD_NOT_FOUND)
        start = (apdu.p1 - 1) * length
        return ResponseApdu(entry.content[start : start + length], SW_OK)

    def _status(self, apdu: CommandApdu, cursor: _Cursor) -> ResponseApdu:
        if apdu.p2 == 0x0C:
            return ResponseApdu(sw=SW_OK)
        return ResponseApdu(self._fcp(cursor.directory, self._file(cursor.directory)), SW_OK)


class UsimApplication(UiccFileSystem):
    """The USIM of the enabled profile (ADF.USIM), with AUTHENTICATE."""

    root = "ADF.USIM"

    @property  # type: ignore[override]
    def aid(self) -> bytes:
        profile = self._profile()
        return (profile.usim_aid or b"") if profile else b""

    def select(self) -> bytes:
        self.euicc.sync()
        self._cursors.clear()
        return self._fcp(self.root, self._file(self.root))

    def _other(self, apdu: CommandApdu, cursor: _Cursor) -> ResponseApdu:
        if apdu.ins != INS_AUTHENTICATE:
            raise StatusWordError(SW_INS_NOT_SUPPORTED)
        return self._authenticate(apdu)

    def _authenticate(self, apdu: CommandApdu) -> ResponseApdu:
        if apdu.p1 != 0x00 or apdu.p2 != P2_3G_CONTEXT:
            raise StatusWordError(SW_WRONG_P1P2)
        data = apdu.data
        if len(data) != 34 or data[0] != 16 or data[17] != 16:
            raise StatusWordError(SW_WRONG_DATA)
        rand, autn = data[1:17], data[18:34]
        profile = self._profile()
        assert profile is not None
        aka = profile.aka
        if aka is None or aka.algorithm != "milenage":
            raise StatusWordError(SW_ALGORITHM_NOT_SUPPORTED, "the profile's AKA algorithm is not Milenage")
        try:
            outcome = verify_autn(aka.ki, aka.opc, rand, autn, sqn_ms=aka.sqn_ms)
        except AkaMacError:
            raise StatusWordError(SW_AUTH_MAC_FAILURE) from None
        if isinstance(outcome, AkaSyncFailure):
            return ResponseApdu(_tlv(RES_TAG_SYNC_FAILURE, outcome.auts), SW_OK)
        with self.euicc.transaction() as state:
            stored = state.profile_by_aid(profile.isdp_aid)
            assert stored is not None and stored.aka is not None
            stored.aka.sqn_ms = outcome.sqn
        # DB || L RES || L CK || L IK (no Kc: this card offers no GSM access)
        body = b"".join(bytes([len(part)]) + part for part in (outcome.res, outcome.ck, outcome.ik))
        return ResponseApdu(bytes([RES_TAG_SUCCESS]) + body, SW_OK)
