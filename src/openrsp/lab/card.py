"""The card the DUT's LPA talks to: a virtual eUICC the lab can look into (in-process, or served over
PC/SC through pcscd + vpcd), or none (a real device with its own eUICC: only the server observes)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

from openrsp.errors import InputError
from openrsp.euicc.store import create_euicc, read_state
from openrsp.extras import require

VPCD_CONF = Path("/etc/reader.conf.d/vpcd")


class LabCard:
    def __init__(self, kind: str, directory: Path | None = None) -> None:
        if kind not in ("virtual", "pcsc", "none"):
            raise InputError(f"--card {kind!r}: use virtual, pcsc or none")
        self.kind = kind
        self.directory = directory
        self.reader: str | None = None
        self._vpcd: Any = None
        self._thread: threading.Thread | None = None

    @classmethod
    def create(cls, kind: str, folder: Path, credentials: Path, curve: str, *,
               root_smds: str | None = None) -> LabCard:  # fmt: skip
        """A new card; `root_smds`: the SM-DS address its ES10a configuration names (the lab's)."""
        if kind == "none":
            return cls(kind)
        folder.mkdir(parents=True, exist_ok=True)
        directory = folder / "euicc"
        if (credentials / "index.json").is_file():
            create_euicc(directory, pki=credentials, curve=curve, root_smds=root_smds)
        else:
            create_euicc(directory, sgp26=credentials, curve=curve, root_smds=root_smds)
        card = cls(kind, directory)
        if kind == "pcsc":
            card._serve_over_vpcd()
        return card

    @property
    def observed(self) -> bool:
        return self.directory is not None

    @property
    def eid(self) -> str | None:
        return read_state(self.directory).eid if self.directory is not None else None

    def snapshot(self) -> dict[str, Any] | None:
        """What the eUICC holds, read from its state behind the LPA's back."""
        if self.directory is None:
            return None
        state = read_state(self.directory)
        return {
            "profiles": [
                {"iccid": p.iccid, "state": "enabled" if p.state else "disabled"} for p in state.profiles
            ],
            "notifications": [
                {"seq": n.seq_number, "event": n.event, "iccid": n.iccid} for n in state.notifications
            ],
        }

    # --- PC/SC --------------------------------------------------------------------------------
    def _serve_over_vpcd(self) -> None:
        from openrsp.euicc.store import open_card
        from openrsp.euicc.vpcd import VpcdClient

        prefix, port = vpcd_config()
        assert self.directory is not None
        self._vpcd = VpcdClient(open_card(self.directory), "127.0.0.1", port)
        self._thread = threading.Thread(target=self._vpcd.serve_forever, name="lab-vpcd", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            reader = _reader_with_card(prefix)
            if reader is not None:
                self.reader = reader
                return
            time.sleep(0.05)
        self.close()
        raise InputError(
            "--card pcsc: pcscd does not show the lab's card in vpcd's reader (is pcscd running?)"
        )

    def close(self) -> None:
        if self._vpcd is not None:
            self._vpcd.stop()
            if self._thread is not None:
                self._thread.join(10)
            prefix, _port = vpcd_config()
            deadline = time.monotonic() + 10
            while _reader_with_card(prefix) is not None and time.monotonic() < deadline:
                time.sleep(0.05)  # pcscd polls: let it see the card go before another takes the slot
            self._vpcd = None


def vpcd_config() -> tuple[str, int]:
    """Reader name prefix and first TCP port of vsmartcard's vpcd, from Debian's reader.conf.d."""
    if not VPCD_CONF.is_file():
        raise InputError(f"--card pcsc needs vsmartcard-vpcd ({VPCD_CONF} is missing)")
    text = VPCD_CONF.read_text()
    name = re.search(r'^\s*FRIENDLYNAME\s+"([^"]+)"', text, re.M)
    channel = re.search(r"^\s*CHANNELID\s+(\S+)", text, re.M)
    if not name or not channel:
        raise InputError(f"{VPCD_CONF}: no FRIENDLYNAME/CHANNELID")
    return name.group(1), int(channel.group(1), 0)


def _reader_with_card(prefix: str) -> str | None:
    """The first vpcd reader (slot 0) if pcscd sees a card in it."""
    scard = require("smartcard.scard", "pcsc", "a PC/SC card reader")

    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return None
    try:
        hr, names = scard.SCardListReaders(context, [])
        readers = (
            sorted(n for n in (names or []) if n.startswith(prefix)) if hr == scard.SCARD_S_SUCCESS else []
        )
        if not readers:
            return None
        hr, states = scard.SCardGetStatusChange(context, 0, [(readers[0], scard.SCARD_STATE_UNAWARE)])
        present = hr == scard.SCARD_S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
        return readers[0] if present else None
    finally:
        scard.SCardReleaseContext(context)
