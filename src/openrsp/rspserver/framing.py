"""The JSON binding's framing (SGP.22 §6.5), as both server roles check it: body size while it
arrives, Content-Type, X-Admin-Protocol, a JSON object; the TLS client certificate and its CA; the
answer's bytes. Failures are the caller's RspStatusError type with SGP.22 codes."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from starlette.types import Receive, Scope

from openrsp.rspserver.errors import RspStatusError
from openrsp.rspserver.jsonapi import ADMIN_PROTOCOL_PREFIX
from openrsp.rspserver.jsoncodec import dump_json, load_json
from openrsp.status_codes import PROTOCOL_FORMAT, PROTOCOL_VERSION


class BodyTooLarge(Exception):
    """The request body is over the limit (max_body_bytes): refused, the rest left unread."""


class ClientGone(Exception):
    """The client closed the connection before its request was complete."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body, counted while it arrives: stops reading as soon as it is over `limit`."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def check_headers(headers: Mapping[str, str], error: type[RspStatusError], max_body: int) -> None:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise error(PROTOCOL_FORMAT, "2.1", "Content-Type must be application/json")
    protocol = headers.get("x-admin-protocol")
    if protocol is None:
        raise error(PROTOCOL_VERSION, "2.2", "X-Admin-Protocol header is missing")
    if not protocol.startswith(ADMIN_PROTOCOL_PREFIX):
        raise error(PROTOCOL_VERSION, "3.1", f"unsupported X-Admin-Protocol {protocol!r} (gsma/rsp/v2.x.y)")
    declared = headers.get("content-length", "")
    if declared.isdigit() and (len(declared) > 18 or int(declared) > max_body):
        raise BodyTooLarge  # refused before reading a byte of it


def decode_body(raw: bytes, error: type[RspStatusError]) -> dict[str, Any]:
    try:
        body = load_json(raw)
    except ValueError:
        raise error(PROTOCOL_FORMAT, "2.1", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise error(PROTOCOL_FORMAT, "2.1", "request body must be a JSON object")
    return body


def peer_certificates(scope: Scope) -> list[str]:
    tls = scope.get("extensions", {}).get("tls") or {}
    return list(tls.get("client_cert_chain") or [])


def client_certificate(scope: Scope, cas: list[x509.Certificate]) -> x509.Certificate | None:
    """The peer's certificate if one of `cas` issued it (TLS already checked chain and validity)."""
    chain = peer_certificates(scope)
    if not chain or not cas:
        return None
    return issued_by_one_of(chain[0], tuple(cas))


@functools.lru_cache(maxsize=256)
def issued_by_one_of(pem: str, cas: tuple[x509.Certificate, ...]) -> x509.Certificate | None:
    """Remembered per certificate: a keep-alive client sends the same one with every request."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    for ca in cas:
        try:
            cert.verify_directly_issued_by(ca)
            return cert
        except Exception:  # wrong issuer name, wrong signature, unsupported key: not this CA
            continue
    return None


def common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


encode = dump_json  # the JSON answer's bytes


def brief(error: Exception) -> str:
    """The error for the log: one line, bounded (messages may quote what the client sent)."""
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:300] + "…"


def peer(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "a client"
