"""One DER codec per ASN.1 module, compiled once per process and cached on disk.

Compiling the RSP and SAIP modules takes asn1tools over half a second per process, so the compiled
form is pickled into the user's cache folder. Unpickling runs code, so a cache file is loaded only
from a folder that is ours and 0700, only if it is ours and no one else may write it, and only
under a name that hashes the module text, asn1tools' version and this file: anything else is
ignored and the module compiled afresh.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import secrets
import stat
from pathlib import Path
from typing import Any

import asn1tools
import asn1tools.codecs.ber

from openrsp.asn1.der_check import check_der, check_der_prefix
from openrsp.asn1.der_guard import guard_spec
from openrsp.errors import OpenRSPError

_HERE = Path(__file__).resolve().parent
_CODE_HASH = hashlib.sha256(Path(__file__).read_bytes()).digest()


class Asn1Error(OpenRSPError):
    """DER that does not decode, or a value that does not encode, as the named type."""


class Codec:
    """DER encode/decode for the types of one compiled module (values as asn1tools gives them).

    Every decode first passes the bytes through the DER structure check (der_check.py), and the
    decoders of the spec are guarded against asn1tools' SEQUENCE OF loop (der_guard.py).
    """

    def __init__(self, name: str, spec: Any) -> None:
        self.name = name
        self.spec = guard_spec(spec)

    def encode(self, type_name: str, value: Any) -> bytes:
        try:
            return self.spec.encode(type_name, value)
        except Exception as exc:  # asn1tools raises several unrelated exception types
            raise Asn1Error(f"cannot encode {type_name}: {exc}") from exc

    def decode(self, type_name: str, data: bytes) -> Any:
        try:
            check_der(data)
            return self.spec.decode(type_name, data)
        except Exception as exc:
            raise Asn1Error(f"malformed {type_name}: {exc}") from exc

    def decode_with_length(self, type_name: str, data: bytes) -> tuple[Any, int]:
        """Decode one value at the start of data; also return how many bytes it took."""
        try:
            # Only the first value goes to asn1tools, which copies all it is given.
            return self.spec.decode_with_length(type_name, data[: check_der_prefix(data)])
        except Exception as exc:
            raise Asn1Error(f"malformed {type_name}: {exc}") from exc

    def has_type(self, type_name: str) -> bool:
        return type_name in self.spec.types


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "openrsp"


def _trusted(st: os.stat_result, uid: int, *, folder: bool) -> bool:
    """Ours, and no one else may write it (a folder: no one else may even look)."""
    if st.st_uid != uid:
        return False
    if folder:
        return stat.S_ISDIR(st.st_mode) and not st.st_mode & 0o077
    return stat.S_ISREG(st.st_mode) and not st.st_mode & 0o022


def _open_cache_folder(folder: Path, uid: int) -> int | None:
    """A descriptor of the cache folder when it is trusted (made 0700 when missing), else None."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    st = os.fstat(fd)
    if st.st_uid == uid == os.getuid() and stat.S_ISDIR(st.st_mode) and st.st_mode & 0o077:
        os.fchmod(fd, 0o700)  # ours but open to others: close it (its files are still checked one by one)
        st = os.fstat(fd)
    if not _trusted(st, uid, folder=True):
        os.close(fd)
        return None
    return fd


def load_cached(folder: Path, name: str, *, uid: int | None = None) -> Any | None:
    """Unpickle `folder/name` only if the folder and the file pass `_trusted` for `uid` (default:
    this process's user); None when there is no such trusted file."""
    uid = os.getuid() if uid is None else uid
    dir_fd = _open_cache_folder(folder, uid)
    if dir_fd is None:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as fh:
        if not _trusted(os.fstat(fh.fileno()), uid, folder=False):
            return None
        try:
            return pickle.load(fh)
        except Exception:
            return None  # damaged: compile afresh


def store_cached(folder: Path, name: str, value: Any) -> None:
    """Pickle into the trusted cache folder (0600, written aside and renamed); silent on failure."""
    dir_fd = _open_cache_folder(folder, os.getuid())
    if dir_fd is None:
        return
    tmp = f".{name}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except Exception:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def cache_name(files: list[Path]) -> str:
    """The cache file of these modules: changes with their text, asn1tools and this code."""
    digest = hashlib.sha256(_CODE_HASH + asn1tools.version.__version__.encode())
    for f in files:
        digest.update(f.read_bytes())
    return f"asn1-{files[0].stem}-{digest.hexdigest()[:32]}.pickle"


def _compile(files: list[Path]) -> Any:
    name = cache_name(files)
    spec = load_cached(_cache_dir(), name)
    if spec is None:
        spec = asn1tools.compile_files([str(f) for f in files], "der")
        store_cached(_cache_dir(), name, spec)  # a read-only home only costs the next process a compile
    return spec


@functools.cache
def rsp() -> Codec:
    """SGP.22 RSPDefinitions (ES8+, ES9+, ES10a/b/c types) with the PKIX types they use."""
    return Codec("rsp", _compile(sorted((_HERE / "rsp").glob("*.asn"))))


@functools.cache
def saip() -> Codec:
    """SAIP 'eUICC Profile Package' PEDefinitions."""
    return Codec("saip", _compile(sorted((_HERE / "saip").glob("*.asn"))))
