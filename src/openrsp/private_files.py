"""Files that hold secrets (keys, databases, Ki/OPc): created 0600 in 0700 folders, never through a symlink.

New files are written under an unpredictable name in their own folder (O_CREAT|O_EXCL|O_NOFOLLOW,
mode 0600 from the first byte) and renamed into place, so no reader ever sees a half-written or
briefly world-readable secret, and a symlink planted at the final name is replaced, not followed.
An existing secret file that group or others may read is refused, naming the fix (`chmod 600`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from openrsp.errors import OpenRSPError

FILE_MODE = 0o600
DIR_MODE = 0o700
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class PrivateFileError(OpenRSPError):
    """A secret file or folder is open to other users, or is not what it should be."""


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) with the leaf folder 0700; tighten an existing one we own.

    A folder another user owns and may write is refused: whoever controls it controls our secrets.
    """
    path = Path(path)
    with contextlib.suppress(FileExistsError):
        path.mkdir(parents=True, mode=DIR_MODE)
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise PrivateFileError(f"{path} is not a folder")
    if st.st_mode & 0o077 and not st.st_mode & stat.S_ISVTX:  # never a shared sticky folder (/tmp)
        if st.st_uid == os.getuid():
            os.chmod(path, DIR_MODE)
        elif st.st_mode & 0o022:
            raise PrivateFileError(
                f"{path} belongs to another user who may write to it: use a folder of yours"
            )
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Replace `path` by `data`, mode 0600, atomically (a symlink at `path` is replaced, not followed)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, _CREATE_FLAGS, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)  # whatever the umask
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_private_file(path: Path, data: bytes) -> bool:
    """Create `path` with `data` (0600) unless it exists; False when another process made it first.

    Written aside and hard-linked into place: concurrent creators never see a half-written file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, _CREATE_FLAGS, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path, follow_symlinks=False)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def check_private_file(path: Path, what: str = "secret file") -> None:
    """Refuse a secret file that group or others may access, or that is a symlink."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise PrivateFileError(f"{what} {path} is a symbolic link: refusing to use it")
    if not stat.S_ISREG(st.st_mode):
        raise PrivateFileError(f"{what} {path} is not a regular file")
    if st.st_mode & 0o077:
        raise PrivateFileError(
            f"{what} {path} is accessible to other users (mode {stat.S_IMODE(st.st_mode):04o}): "
            f"run `chmod 600 {path}`"
        )


def read_private_file(path: Path, what: str = "secret file") -> bytes:
    """The bytes of a secret file, after check_private_file; read without following a symlink."""
    check_private_file(path, what)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        return fh.read()
