"""What the SGP.22 chain rules read from one certificate, each part read once.

cryptography answers every extension look-up by scanning the certificate's extensions again, and
builds a subject's attributes anew on every search; the chain rules ask for the same few parts
(policies, key identifiers, the EID, the fingerprint) several times per certificate. A CertFacts
reads each part on first use and keeps it. Nothing here decides: the rules stay in verify.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from cryptography import x509

from openrsp.errors import InputError
from openrsp.pki.certio import fingerprint
from openrsp.pki.curves import curve_of
from openrsp.pki.eid import EumRange, eid_from_certificate, eum_range
from openrsp.pki.roles import PROFILES

_T = TypeVar("_T")


class _read_once(Generic[_T]):  # noqa: N801  (used as a decorator, like functools.cached_property)
    """A value computed on first access and kept in the instance. functools.cached_property takes a
    lock on every first access (Python 3.11); a race here only computes the same value twice."""

    def __init__(self, compute: Callable[[Any], _T]) -> None:
        self.compute = compute
        self.name = compute.__name__

    def __get__(self, instance: Any, owner: type | None = None) -> _T:
        value = self.compute(instance)
        instance.__dict__[self.name] = value  # found before this (non-data) descriptor from now on
        return value


class CertFacts:
    """One parsed certificate and the parts the chain rules read from it (read lazily, kept)."""

    def __init__(self, cert: x509.Certificate) -> None:
        self.cert = cert

    @_read_once
    def _extensions(self) -> dict[x509.ObjectIdentifier, Any]:
        # cryptography refuses a certificate with a duplicated extension: one value per OID
        return {ext.oid: ext.value for ext in self.cert.extensions}

    def extension(self, kind: type[x509.ExtensionType]) -> Any:
        """The value of the extension of this class (its OID), or None when absent."""
        return self._extensions.get(kind.oid)  # type: ignore[attr-defined]

    @_read_once
    def ski(self) -> bytes | None:
        value = self.extension(x509.SubjectKeyIdentifier)
        return None if value is None else value.digest

    @_read_once
    def aki(self) -> bytes | None:
        value = self.extension(x509.AuthorityKeyIdentifier)
        return None if value is None else value.key_identifier

    @_read_once
    def policies(self) -> frozenset[x509.ObjectIdentifier]:
        value = self.extension(x509.CertificatePolicies)
        return frozenset() if value is None else frozenset(info.policy_identifier for info in value)

    @_read_once
    def role(self) -> str | None:
        """The SGP.22 role its policy names (the first in PROFILES' order, as roles.role_of)."""
        return next((p.name for p in PROFILES.values() if p.policy in self.policies), None)

    @property
    def eid(self) -> str:
        """The subject serialNumber; InputError when there is none."""
        found = self._eid
        if isinstance(found, InputError):
            raise InputError(str(found))
        return found

    @_read_once
    def _eid(self) -> str | InputError:
        try:
            return eid_from_certificate(self.cert)
        except InputError as exc:
            return exc

    @_read_once
    def eum_range(self) -> EumRange:
        """The EIDs this (EUM) certificate may certify; InputError when malformed (not kept)."""
        return eum_range(self.cert)

    @_read_once
    def fingerprint(self) -> bytes:
        return fingerprint(self.cert)

    @_read_once
    def public_key(self) -> Any:
        return self.cert.public_key()

    @_read_once
    def curve(self) -> str | None:
        return curve_of(self.public_key)

    @_read_once
    def not_before(self) -> datetime:
        return self.cert.not_valid_before_utc

    @_read_once
    def not_after(self) -> datetime:
        return self.cert.not_valid_after_utc
