"""`openrsp smds serve`: uvicorn over HTTPS only, like the SM-DP+ (openrsp.smdp.server).

The parent prepares what must exist once (the schema, the transactionId key), then hands the
resolved configuration to the workers in the environment. All state is in the database.
"""

from __future__ import annotations

import functools
import os
from dataclasses import replace

import uvicorn

from openrsp.rspserver.accesslog import log_config as access_log_config
from openrsp.rspserver.errors import ConfigError
from openrsp.rspserver.limits import Limits
from openrsp.rspserver.protocol import limited_protocol
from openrsp.rspserver.tls import make_ssl_context
from openrsp.smds.config import ENV_CONFIG, SmdsConfig
from openrsp.smds.credentials import SmdsCredentials
from openrsp.smds.store import EventStore


def prepare(config: SmdsConfig) -> tuple[SmdsConfig, functools.partial]:
    if config.credentials_dir is None:
        raise ConfigError(
            "the SM-DS needs credentials: --credentials DIR (pki init or pki issue smds folder)"
        )
    credentials = SmdsCredentials.load(config.credentials_dir)
    address = config.address or credentials.address
    if not address:
        raise ConfigError("SM-DS address unknown: give --address (or a DS TLS certificate with a DNS name)")
    # Client certificates: SM-DP+s (ES12) under the --dp-ca CAs, SM-DSs (ES15) under the CIs.
    client_cas = [str(p) for p in (*config.dp_ca, *credentials.ci_files)]
    # An LPA may present the PKI's LPA client certificate on ES11 (as it does to the SM-DP+): trust
    # that CA in the handshake (OpenSSL would otherwise abort it); ES11 itself asks for no certificate,
    # and ES12/ES15 accept only their roles from their CAs (checked per request).
    pki_lpa_ca = config.credentials_dir / "lpa-tls" / "ca.cert.pem"
    if pki_lpa_ca.is_file():
        client_cas.append(str(pki_lpa_ca))
    for path in client_cas:
        if not os.path.isfile(path):
            raise ConfigError(f"CA file not found: {path}")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.token_key()  # created once, before the workers read it
    store = EventStore.open(config.db_url)  # the schema, once
    store.engine.dispose()
    factory = functools.partial(
        make_ssl_context,
        chain_file=str(credentials.tls_chain),
        key_file=str(credentials.tls_key),
        client_ca_files=tuple(dict.fromkeys(client_cas)),
    )
    return replace(config, address=address), factory


_LIMITS = Limits()


def serve(config: SmdsConfig) -> None:
    config, ssl_factory = prepare(config)
    os.environ[ENV_CONFIG] = config.to_json()
    uvicorn.run(
        "openrsp.smds.http.app:create_app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        # the SM-DP+'s default limits: slow, idle, oversized and surplus connections are refused alike
        http=limited_protocol(_LIMITS),
        timeout_keep_alive=_LIMITS.keep_alive_timeout_seconds,  # type: ignore[arg-type]
        timeout_graceful_shutdown=_LIMITS.shutdown_timeout_seconds,  # type: ignore[arg-type]
        ssl_context_factory=ssl_factory,
        log_level=config.log_level,
        log_config=access_log_config(),  # uvicorn's, with a cheaper access-line formatter
        lifespan="on",
        server_header=False,
    )
