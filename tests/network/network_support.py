"""Helpers for the network tests: subscriptions with fresh keys, modems on eUICC folders."""

from __future__ import annotations

import os
from pathlib import Path

from openrsp.euicc.store import open_card
from openrsp.lpa.drivers.in_process import InProcessTransport
from openrsp.network.device import Modem
from openrsp.profile import Subscription

PP_IMSI = "001019900000001"  # inside the provisioning range the tests configure
OP_IMSI = "001010123456789"
PP_RANGE = "0010199*"


def subscription(
    imsi: str, *, profile_class: str = "operational", iccid: str = "8900100000000000017"
) -> Subscription:
    return Subscription(
        iccid=iccid,
        imsi=imsi,
        ki=os.urandom(16),
        opc=os.urandom(16),
        profile_class=profile_class,  # type: ignore[arg-type]
    )


def modem_for(directory: Path, profile_class: str | None = None) -> Modem:
    reporter = (lambda: profile_class) if profile_class else None
    return Modem(InProcessTransport(open_card(directory)), profile_class=reporter)
