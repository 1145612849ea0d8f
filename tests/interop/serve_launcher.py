"""Runs `openrsp ARGS...` with a small test card behind `openrsp.euicc.store.open_card`.

The eUICC's on-disk store is another part of openrsp; tests of `openrsp euicc serve` use this to run
the real command in its own process with a card whose answers they know. Usage:
    python serve_launcher.py EID_HEX euicc serve DIR --vpcd HOST:PORT
"""

import sys
import types

from openrsp.euicc.iso7816 import Iso7816Card


class SmallIsdR:
    def __init__(self, eid: bytes) -> None:
        self.eid = eid

    def handle_es10(self, request: bytes) -> bytes:
        if request[:2] == b"\xbf\x3e":
            return bytes.fromhex("BF3E125A10") + self.eid
        return request[:2] + b"\x00"

    def on_reset(self) -> None:
        pass


def main() -> None:
    eid = bytes.fromhex(sys.argv[1])
    store = types.ModuleType("openrsp.euicc.store")
    store.open_card = lambda directory: Iso7816Card(SmallIsdR(eid))  # type: ignore[attr-defined]
    sys.modules["openrsp.euicc.store"] = store
    sys.argv = ["openrsp", *sys.argv[2:]]
    from openrsp.cli.main import run

    run()


if __name__ == "__main__":
    main()
