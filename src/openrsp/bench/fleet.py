"""Many distinct virtual eUICCs from one EUM: each its own key pair, EID and certificate.

The benchmark wants every download to come from a different eUICC, as in real life, so the
SM-DP+ verifies a new eUICC certificate each time (only the EUM is the same). Certificates are
issued with the project's own PKI code (`issue_euicc_certificate`), from the EUM key of an
`openrsp pki init` folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from openrsp.crypto.keys import PrivateKey, generate_private_key
from openrsp.errors import InputError
from openrsp.pki.credentials import EuiccCredentials
from openrsp.pki.eid import eum_permitted_eids, make_eid
from openrsp.pki.issue import issue_euicc_certificate


@dataclass(frozen=True)
class VirtualEuicc:
    eid: str
    key: PrivateKey  # SK.EUICC.ECDSA
    certificate: bytes  # CERT.EUICC.ECDSA, DER


@dataclass(frozen=True)
class Fleet:
    """eUICCs of one curve under one EUM, and what they all trust."""

    curve: str
    eum_certificate: bytes  # DER
    ci_pkids: tuple[bytes, ...]  # the CI of this curve: for signing and for verification
    trusted_cis: tuple[x509.Certificate, ...]
    members: tuple[VirtualEuicc, ...]

    def __len__(self) -> int:
        return len(self.members)


def build_fleet(
    pki_dir: Path, curve: str, count: int, *, first_serial: int = 1, now: datetime | None = None
) -> Fleet:
    """`count` eUICCs on `curve`, EIDs numbered from `first_serial` inside the EUM's range."""
    creds = EuiccCredentials.load(pki_dir, curve)
    if creds.eum_key is None:
        raise InputError(f"{pki_dir} has no EUM key for {curve}: cannot issue eUICC certificates")
    prefixes = eum_permitted_eids(creds.eum_cert) or [creds.eid[:8]]
    prefix = prefixes[0]
    not_before = (now or datetime.now(UTC)) - timedelta(minutes=5)
    members = []
    for serial in range(first_serial, first_serial + count):
        eid = make_eid(prefix, serial)
        key = generate_private_key(curve)
        cert = issue_euicc_certificate(
            creds.eum_cert, creds.eum_key, eid, key.public_key(), not_before=not_before
        )
        members.append(VirtualEuicc(eid, key, cert.public_bytes(Encoding.DER)))
    cis = tuple(ci for ci in creds.trusted_cis if ci.curve == curve)
    return Fleet(
        curve=curve,
        eum_certificate=creds.eum_cert.public_bytes(Encoding.DER),
        ci_pkids=tuple(ci.pkid for ci in cis),
        trusted_cis=tuple(ci.cert for ci in cis),
        members=tuple(members),
    )
