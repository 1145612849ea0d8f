"""Event discovery (SGP.22 §3.6.3 "Event Retrieval"): ask an SM-DS which events wait for this eUICC.

    GetEUICCInfo1 + GetEUICCChallenge -> ES11 InitiateAuthentication -> AuthenticateServer
    (ctxParams1 without a matchingId) -> ES11 AuthenticateClient -> the event list

An event names an RSP server and an eventId. The server is an SM-DP+ (download from it with the
eventId as matchingId) or, in SGP.22's cascade, an alternative SM-DS that registered the event at
the root: then the LPA retrieves the events there. An address answers ES11 only if it is an
SM-DS, so that is how the LPA tells them apart (one level deep, as SGP.22 allows).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from openrsp.asn1.codec import Asn1Error, rsp
from openrsp.lpa.core.device import DeviceInfo, encode_ctx_params1
from openrsp.lpa.core.errors import Es9Failure, Es9ProtocolError, LpaError, SmdpUnreachable
from openrsp.lpa.core.es10 import Es10
from openrsp.lpa.core.servers import Es11Server
from openrsp.wire.es9 import EventEntry


@dataclass(frozen=True)
class Discovery:
    smds_address: str
    events: list[EventEntry]


def retrieve_events(es10: Es10, client: Es11Server, device: DeviceInfo) -> list[EventEntry]:
    """One ES11 session with the SM-DS `client` talks to; the events it lists for this eUICC."""
    info1 = es10.get_euicc_info1()
    challenge = es10.get_euicc_challenge()
    init = client.initiate_authentication(challenge, info1, client.address)
    try:
        signed = rsp().decode("ServerSigned1", init.server_signed1)
    except Asn1Error as exc:
        raise Es9ProtocolError("initiateAuthentication", f"serverSigned1: {exc}") from None
    if signed["transactionId"] != init.transaction_id or signed["euiccChallenge"] != challenge:
        raise Es9ProtocolError("initiateAuthentication", "serverSigned1 is not this session's")
    response = es10.authenticate_server(
        server_signed1=init.server_signed1,
        server_signature1=init.server_signature1,
        euicc_ci_pkid_to_be_used=init.euicc_ci_pkid_to_be_used,
        server_certificate=init.server_certificate,
        ctx_params1=encode_ctx_params1(None, device),
    )
    refused = es10.authenticate_server_error(response)
    if refused is not None:
        with contextlib.suppress(LpaError):  # the SM-DS ends its side hearing of it
            client.retrieve_events(init.transaction_id, response)
        raise refused
    return client.retrieve_events(init.transaction_id, response)


def discover(
    es10: Es10, connect: Callable[[str], Es11Server], smds_address: str, device: DeviceInfo
) -> Discovery:
    """The events at `smds_address`, with events that point at an alternative SM-DS resolved there."""
    with connect(smds_address) as client:
        events = retrieve_events(es10, client, device)
    resolved: list[EventEntry] = []
    for event in events:
        address = event.rsp_server_address
        if address.lower() == smds_address.lower():
            continue  # an SM-DS naming itself: nothing to follow
        try:
            with connect(address) as alternative:
                found = retrieve_events(es10, alternative, device)
        except (Es9ProtocolError, Es9Failure, SmdpUnreachable):
            # Not an SM-DS (an SM-DP+ has no ES11), or not reachable now: the event stays as it is,
            # and the download from it says what is wrong.
            resolved.append(event)
            continue
        resolved.extend(e for e in found if e.event_id == event.event_id)
    return Discovery(smds_address, _unique(resolved))


def _unique(events: list[EventEntry]) -> list[EventEntry]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for event in events:
        key = (event.event_id, event.rsp_server_address.lower())
        if key not in seen:
            seen.add(key)
            kept.append(event)
    return kept
