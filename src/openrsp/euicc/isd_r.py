"""The ISD-R: routes each whole ES10 request (as the card's STORE DATA reassembled it) to its function.

Implements iso7816.Es10Application. A request whose tag no ES10 function has is refused with
6A88; a request that does not decode as its type with 6A80 — the status words a real ISD-R gives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from openrsp.apdu import (
    SW_CONDITIONS_NOT_SATISFIED,
    SW_REFERENCED_DATA_NOT_FOUND,
    SW_WRONG_DATA,
    StatusWordError,
)
from openrsp.asn1 import Asn1Error
from openrsp.asn1.tlv import TlvError, read_tag
from openrsp.errors import InputError
from openrsp.euicc import es10a, es10b_auth, es10b_load, es10b_notifications, es10b_rat, es10c
from openrsp.euicc.core import Euicc
from openrsp.euicc.session import Es10bCall

log = logging.getLogger(__name__)

Handler = Callable[[Euicc, bytes], bytes]

ES10_HANDLERS: dict[int, Handler] = {
    # ES10a
    0xBF3C: es10a.get_configured_addresses,
    0xBF3F: es10a.set_default_dp_address,
    # ES10b
    0xBF2E: es10b_auth.get_euicc_challenge,
    0xBF20: es10b_auth.get_euicc_info1,
    0xBF22: es10b_auth.get_euicc_info2,
    0xBF38: es10b_auth.authenticate_server,
    0xBF21: es10b_auth.prepare_download,
    0xBF36: es10b_load.load_bound_profile_package,
    0xBF41: es10b_auth.cancel_session,
    0xBF28: es10b_notifications.list_notification,
    0xBF2B: es10b_notifications.retrieve_notifications_list,
    0xBF30: es10b_notifications.remove_notification_from_list,
    0xBF43: es10b_rat.get_rat,
    # ES10c
    0xBF2D: es10c.get_profiles_info,
    0xBF31: es10c.enable_profile,
    0xBF32: es10c.disable_profile,
    0xBF33: es10c.delete_profile,
    0xBF34: es10c.euicc_memory_reset,
    0xBF3E: es10c.get_eid,
    0xBF29: es10c.set_nickname,
}

# The later pieces of a LoadBoundProfilePackage start with these tags (A0/A2 whole, A1/A3 headers,
# 88 and 86 segments); they mean something only while a package is being loaded.
BPP_PIECE_TAGS = frozenset({0xA0, 0xA1, 0xA2, 0xA3, 0x86, 0x88})


class IsdR:
    """The ES10 application of the card, around one Euicc core."""

    def __init__(self, euicc: Euicc) -> None:
        self.euicc = euicc

    def handle_es10(self, request: bytes) -> bytes:
        self.euicc.sync()
        try:
            tag, _ = read_tag(request)
        except TlvError:
            raise StatusWordError(SW_WRONG_DATA) from None
        if tag in BPP_PIECE_TAGS:
            if not self.euicc.session.allows(Es10bCall.LOAD_BPP_SEGMENT) or self.euicc.loader is None:
                raise StatusWordError(SW_CONDITIONS_NOT_SATISFIED, "no bound profile package is being loaded")
            return es10b_load.load_bound_profile_package(self.euicc, request)
        handler = ES10_HANDLERS.get(tag)
        if handler is None:
            raise StatusWordError(SW_REFERENCED_DATA_NOT_FOUND, f"no ES10 function for tag {tag:X}")
        try:
            return handler(self.euicc, request)
        except (Asn1Error, InputError) as exc:
            # InputError: a field that decoded but cannot be what it claims (an ICCID of 9 bytes)
            log.debug("malformed ES10 request %X: %s", tag, exc)
            raise StatusWordError(SW_WRONG_DATA) from None

    def on_reset(self) -> None:
        self.euicc.reset()
