"""From a decrypted SAIP profile package to what the eUICC keeps of it: file system, NAA keys, ids."""

from __future__ import annotations

from openrsp.errors import OpenRSPError
from openrsp.euicc.state import AkaParameters, Profile, StoredFile
from openrsp.profile.errors import ProfileError
from openrsp.profile.filesystem import MF_ID, TEMPLATE_DF_IDS
from openrsp.profile.package import ProfilePackage


class ProfileContentError(OpenRSPError):
    """The package cannot be installed: malformed, or a profile element this card cannot process."""


def _fid(path: str, fid: bytes | None) -> bytes | None:
    if fid is not None:
        return fid
    name = path.rsplit("/", 1)[-1]
    if name == "MF":
        return MF_ID
    return TEMPLATE_DF_IDS.get(name)


def profile_from_package(der: bytes) -> Profile:
    """The installable parts of a package; metadata (names, class, PPRs) come from StoreMetadata."""
    try:
        package = ProfilePackage.from_der(der)
        files = {
            path: StoredFile(
                fid=_fid(path, entry.file_id),
                content=entry.content,
                descriptor=entry.fcp.get("fileDescriptor"),
                is_directory=entry.is_directory,
                aid=entry.fcp.get("dfName"),
            )
            for path, entry in package.file_system.items()
        }
        aka = package.aka
        iccid = package.iccid
        imsi = package.imsi
        usim_aid = package.usim_aid
    except ProfileError as exc:
        raise ProfileContentError(str(exc)) from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        # A package that decodes but whose elements do not fit together (e.g. a file outside any DF).
        raise ProfileContentError(f"profile elements cannot be processed: {exc}") from None
    return Profile(
        iccid=iccid,
        isdp_aid=b"",
        usim_aid=usim_aid,
        imsi=imsi,
        files=files,
        aka=AkaParameters(aka.algorithm, aka.ki, aka.opc) if aka else None,
        size=len(der),
    )
