"""The ES9+ decisions (SGP.22 §5.6), pure: a request, the snapshot the storage read for it, `now`,
randomness and the SM-DP+'s keys in; the answer (or the SGP.22 error) and the effects to store out.

One module per function (common.py: what they share). No I/O here: es9/service.py reads the snapshot, calls a decision and has the storage apply its
effects in the same transaction, which it commits before answering. A failure is itself a change
of state (the RSP session ends, a confirmation-code attempt is counted, an order goes to Error):
its effects are applied and committed like a success's, then the error goes back to the LPA. What
may follow what within one RSP session is rsp_session.py's table; what may happen to the order is
states.py's. Each session remembers which version of its order it authenticated against, and
every order move expects the state the snapshot read, so of two sessions racing for one order only
one ever receives a bound profile package.
"""

from openrsp.smdp.es9.decisions.authenticate import (
    authenticated_euicc,
    decide_authenticate,
    initiate,
    order_key,
)
from openrsp.smdp.es9.decisions.bind import PackageToBuild, decide_bind
from openrsp.smdp.es9.decisions.cancel import decide_cancel
from openrsp.smdp.es9.decisions.common import (
    Decision,
    Es9Setup,
    b64,
    issued_session,
    new_session,
    signature_tlv,
)
from openrsp.smdp.es9.decisions.notification import decide_install_result, decide_other_notification

__all__ = [
    "Decision",
    "Es9Setup",
    "PackageToBuild",
    "authenticated_euicc",
    "b64",
    "decide_authenticate",
    "decide_bind",
    "decide_cancel",
    "decide_install_result",
    "decide_other_notification",
    "initiate",
    "issued_session",
    "new_session",
    "order_key",
    "signature_tlv",
]
