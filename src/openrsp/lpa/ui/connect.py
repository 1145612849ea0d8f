"""How a front end of the LPA (the `openrsp lpa` command, the device screen) builds its HTTPS settings
from what the user gave: CI certificate files, an `openrsp pki init` folder, a client certificate,
`--resolve` entries, a proxy.

Trust is the CIs given; when none are given and the card is a virtual eUICC in a folder, the CIs that
eUICC itself trusts. Only the CIs are taken from a PKI folder: an SM-DP+ that does not expect LPA
certificates refuses one it cannot check, so the LPA TLS client certificate is presented only when
one is named explicitly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography import x509

from openrsp.lpa.core.errors import LpaInputError
from openrsp.lpa.drivers.https import DEFAULT_TIMEOUT, HttpsSettings, load_ca_certificates, parse_resolve


def trusted_cis(
    ci: Iterable[Path] = (), pki: Path | None = None, euicc: Path | None = None
) -> list[x509.Certificate]:
    """The CI certificates SM-DP+ TLS certificates must chain to (see the module's docstring)."""
    cas = load_ca_certificates(ci)
    if pki is not None:
        from openrsp.pki.layout import PkiIndex

        index = PkiIndex.read(pki)
        cas += load_ca_certificates(index.cert_path(curve, "ci") for curve in index.curves)
    if not cas and euicc is not None:
        from openrsp.lpa.drivers.in_process import euicc_trusted_cis  # the virtual eUICC's own trust anchors

        cas = euicc_trusted_cis(euicc)
    return cas


def https_factory(
    *,
    ci: Iterable[Path] = (),
    pki: Path | None = None,
    euicc: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
    resolve: Iterable[str] = (),
    proxy: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Callable[[], HttpsSettings]:
    """Settings made on first call and kept; the options that cost nothing to check are checked now.

    Certificates are read only when an SM-DP+ is to be reached, so commands that stay on the card
    never fail over a certificate file. `resolve` holds `HOST:IP` entries, as `--resolve` takes them.
    """
    if (client_cert is None) != (client_key is None):
        raise LpaInputError("--client-cert and --client-key go together")
    names = parse_resolve(resolve)
    ci_files = tuple(ci)

    @functools.cache
    def make() -> HttpsSettings:
        cas = trusted_cis(ci_files, pki, euicc)
        return HttpsSettings(tuple(cas), client_cert, client_key, names, proxy, timeout)

    return make
