"""An eUICC on disk: one folder with its state file and its private keys; creating and opening one.

    DIR/state.json            everything the eUICC remembers (state.py), replaced atomically;
                              Ki/OPc in it sealed under state.key (sealing.py)
    DIR/state.key             the card's key that seals Ki/OPc (mode 0600)
    DIR/euicc-<curve>.key.pem  SK.EUICC.ECDSA per curve (mode 0600)

Writes go to a temporary file in DIR that is fsynced and then renamed over state.json, and the
folder is fsynced after: a crash leaves the old state or the new one, never a mix. A download in
progress is never written (it lives in the Euicc object), so a killed process leaves no trace of it.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from openrsp.crypto.ecdsa import PrivateKey, generate_private_key, load_private_key
from openrsp.crypto.keys import KeyFormatError
from openrsp.errors import InputError
from openrsp.euicc.core import Euicc, KeptKey, utcnow
from openrsp.euicc.install import isdp_aid
from openrsp.euicc.isd_r import IsdR
from openrsp.euicc.iso7816 import Iso7816Card
from openrsp.euicc.policy import default_rat
from openrsp.euicc.profile_content import ProfileContentError, profile_from_package
from openrsp.euicc.sealing import has_secrets, load_key, open_secrets, seal_secrets
from openrsp.euicc.state import (
    CLASS_PROVISIONING,
    STATE_ENABLED,
    EuiccState,
    Profile,
    SigningIdentity,
    StateError,
    TrustedCi,
)
from openrsp.euicc.usim import UiccFileSystem, UsimApplication
from openrsp.pki.credentials import EuiccCredentials
from openrsp.pki.eid import validate_eid
from openrsp.pki.issue import issue_euicc_certificate
from openrsp.private_files import ensure_private_dir
from openrsp.profile.alpha import decode_spn

STATE_FILE = "state.json"
RETRY_KEY_FILE = "retry-otsk.key.pem"  # otSK.EUICC.ECKA kept for a download retry (mode 0600)
LOCK_FILE = ".state.lock"  # flock target: serialises reads and writes of state.json across processes


def key_file_name(curve: str) -> str:
    return f"euicc-{curve}.key.pem"


# --- atomic files ----------------------------------------------------------------------------------
def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open a directory; the rename is still atomic
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, *, private: bool = False) -> None:
    """Replace `path` by `data` all at once: temp file in the same folder, fsync, rename, fsync folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if private:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


class StateFile:
    """The state file of one eUICC folder, shared safely by every process that opens it.

    Several processes may hold the same eUICC (a served card, an in-process LPA, the device screen).
    Each picks up changes made by the others before every command, and a write whose base is no
    longer what is on disk is refused rather than allowed to undo the other process's change.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / STATE_FILE
        self._lock_path = directory / LOCK_FILE
        self._seen: tuple[int, int, int] | None = None

    def _fingerprint(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def load(self) -> EuiccState:
        with self._locked():
            self._seen = self._fingerprint()
            state, clear = _read_state(self.path.parent)
            if clear:  # written before Ki/OPc were sealed: seal them now
                write_state(self.path.parent, state)
                self._seen = self._fingerprint()
            return state

    def reload_if_changed(self) -> EuiccState | None:
        if self._fingerprint() == self._seen:
            return None
        return self.load()

    def save(self, state: EuiccState) -> None:
        with self._locked():
            if self._fingerprint() != self._seen:
                raise StateError(
                    f"{self.path} was changed by another process during this command; nothing was written"
                )
            write_state(self.path.parent, state)
            self._seen = self._fingerprint()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def write_state(directory: Path, state: EuiccState) -> None:
    directory = Path(directory)
    document = state.to_json()
    if has_secrets(document):
        seal_secrets(document, load_key(directory, create=True))
    data = json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"
    write_atomically(directory / STATE_FILE, data, private=True)  # holds sealed Ki/OPc


def _no_euicc(directory: Path | str) -> StateError:
    return StateError(
        f"no eUICC in {directory} ({STATE_FILE} missing; create one with `openrsp euicc create`)"
    )


def read_state(directory: Path | str) -> EuiccState:
    """The eUICC state in `directory`, Ki/OPc opened with its state.key."""
    return _read_state(Path(directory))[0]


def _read_state(directory: Path) -> tuple[EuiccState, bool]:
    """The state, and whether it held Ki/OPc in clear (to be sealed by the next write)."""
    path = Path(directory) / STATE_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise _no_euicc(directory) from None
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise StateError(f"{path} is not an eUICC state file")
    key = load_key(directory, create=False) if has_secrets(data) else None
    clear = open_secrets(data, key, directory)
    return EuiccState.from_json(data), clear


def _remove_stale_temporaries(directory: Path) -> None:
    """A crash between writing a temp file and renaming it leaves the temp file: it is garbage."""
    for leftover in directory.glob(f".{STATE_FILE}.*.tmp"):
        leftover.unlink(missing_ok=True)


class RetryKeyFile(KeptKey):
    """The one-time key kept for a download retry, in DIR/retry-otsk.key.pem (mode 0600, like the
    eUICC's other private keys), so that a later process on this eUICC can still reuse it."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.path = directory / RETRY_KEY_FILE

    def load(self) -> PrivateKey | None:
        if not self.path.is_file():
            return None
        try:
            return load_private_key(self.path)
        except KeyFormatError:  # damaged: as if none were kept, PrepareDownload makes a new one
            return None

    def save(self, key: PrivateKey | None) -> None:
        if key is None:
            self.path.unlink(missing_ok=True)
            return
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_atomically(self.path, pem, private=True)


# --- opening ---------------------------------------------------------------------------------------
def open_euicc(
    directory: Path | str,
    *,
    clock: Callable[[], datetime] = utcnow,
    random_bytes: Callable[[int], bytes] = os.urandom,
    make_one_time_key: Callable[[str], PrivateKey] | None = None,
) -> Euicc:
    """The Euicc stored in `directory`, writing its state back there on every change."""
    directory = Path(directory)
    if not (directory / STATE_FILE).is_file():  # say so before a lock file is made beside nothing
        raise _no_euicc(directory)
    state_file = StateFile(directory)
    state = state_file.load()
    _remove_stale_temporaries(directory)
    keys = {i.key_file: load_private_key(directory / i.key_file) for i in state.identities}
    return Euicc(
        state,
        keys,
        persist=state_file.save,
        reload=state_file.reload_if_changed,
        clock=clock,
        random_bytes=random_bytes,
        make_one_time_key=make_one_time_key,
        kept_key=RetryKeyFile(directory),
    )


def set_strict(directory: Path | str, strict: bool) -> None:
    """Switch the eUICC in `directory` to strict mode or back; every process that opens it obeys."""
    state_file = StateFile(Path(directory))
    state = state_file.load()
    if state.strict != strict:
        state.strict = strict
        state_file.save(state)


def card_for(euicc: Euicc) -> Iso7816Card:
    """The ISO 7816 card around an Euicc: ISD-R, the USIM of the enabled profile, the file system."""
    return Iso7816Card(IsdR(euicc), [UsimApplication(euicc)], default_application=UiccFileSystem(euicc))


def open_card(directory: Path | str) -> Iso7816Card:
    """The card `openrsp euicc serve` and in-process LPAs talk to."""
    return card_for(open_euicc(directory))


# --- creating --------------------------------------------------------------------------------------
def _aki(cert: x509.Certificate) -> bytes:
    try:
        value = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        value = None
    if value is None:
        raise InputError("the EUM certificate names no issuer key (authorityKeyIdentifier)")
    return value


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def create_euicc(
    directory: Path | str,
    *,
    pki: Path | str | None = None,
    sgp26: Path | str | None = None,
    eid: str | None = None,
    curve: str | None = None,
    default_smdp: str | None = None,
    root_smds: str | None = None,
    provisioning_profile: bytes | None = None,
    strict: bool = False,
) -> EuiccState:
    """Write a new eUICC into `directory` from an `openrsp pki init` folder or an SGP.26 folder.

    Every curve the credentials offer becomes a signing identity (or only `curve`); every CI they
    hold is trusted for verification. An `eid` other than the credentials' gets a fresh eUICC key and
    certificate issued by the EUM key. A provisioning profile, when given, is installed enabled.
    `strict` makes the eUICC refuse what SGP.22 forbids where real eUICCs are lenient (segments
    over 1020 bytes).
    """
    if (pki is None) == (sgp26 is None):
        raise InputError("give exactly one of --pki or --sgp26")
    source = Path(pki if pki is not None else sgp26)  # type: ignore[arg-type]
    directory = Path(directory)
    if (directory / STATE_FILE).exists():
        raise InputError(f"{directory} already holds an eUICC ({STATE_FILE}); choose an empty folder")
    curves = EuiccCredentials.available_curves(source)
    if curve is not None:
        curves = [curve] if curve in curves else []
    if not curves:
        raise InputError(f"{source} has no {curve or ''} eUICC credentials".replace("  ", " "))
    credentials = [EuiccCredentials.load(source, c) for c in curves]
    wanted_eid = validate_eid(eid) if eid is not None else credentials[0].eid

    keys: dict[str, PrivateKey] = {}
    identities = []
    for creds in credentials:
        key, cert = creds.euicc_key, creds.euicc_cert
        if creds.eid != wanted_eid:
            if creds.eum_key is None:
                raise InputError(
                    f"EID {wanted_eid} needs a new eUICC certificate, but {source} has no EUM key"
                )
            key = generate_private_key(creds.curve)
            cert = issue_euicc_certificate(creds.eum_cert, creds.eum_key, wanted_eid, key.public_key())
        key_file = key_file_name(creds.curve)
        keys[key_file] = key
        identities.append(
            SigningIdentity(creds.curve, _aki(creds.eum_cert), _der(cert), _der(creds.eum_cert), key_file)
        )
    trusted = [TrustedCi(ci.curve, ci.pkid, _der(ci.cert)) for ci in credentials[0].trusted_cis]

    state = EuiccState(
        eid=wanted_eid,
        trusted_cis=trusted,
        identities=identities,
        default_smdp=default_smdp,
        rat=default_rat(),
        strict=strict,
    )
    if root_smds is not None:
        state.root_smds = root_smds
    if provisioning_profile is not None:
        _install_provisioning_profile(state, provisioning_profile)

    ensure_private_dir(directory)
    for key_file, key in keys.items():
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_atomically(directory / key_file, pem, private=True)
    load_key(directory, create=True)  # the card's sealing key, made with the card
    write_state(directory, state)
    return state


def _install_provisioning_profile(state: EuiccState, package: bytes) -> None:
    """What a manufacturer ships: the package installed in the first ISD-P, enabled, class provisioning."""
    try:
        profile = profile_from_package(package)
    except ProfileContentError as exc:
        raise InputError(f"provisioning profile: {exc}") from None
    spn = _spn(profile)
    profile.isdp_aid = isdp_aid(state.next_isdp_index)
    profile.profile_class = CLASS_PROVISIONING
    profile.state = STATE_ENABLED
    profile.service_provider_name = spn
    profile.profile_name = "Provisioning profile"
    state.profiles.append(profile)
    state.next_isdp_index += 1


def _spn(profile: Profile) -> str:
    entry = profile.files.get("ADF.USIM/EF.SPN")
    name = decode_spn(entry.content) if entry and entry.content else None
    return name or ""
