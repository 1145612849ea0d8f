"""`openrsp smdp serve`: uvicorn over HTTPS only, one or more stateless workers.

The parent process prepares what must exist once (schema upgrade, KEK file, operators from the
configuration), then hands the resolved configuration to the workers in the environment; each
worker builds its own context from it. All state lives in the database, so restarts and extra
workers lose nothing.
"""

from __future__ import annotations

import functools
import os
import resource
from dataclasses import replace

import uvicorn

from openrsp.rspserver.accesslog import log_config as access_log_config
from openrsp.rspserver.protocol import limited_protocol
from openrsp.rspserver.tls import make_ssl_context
from openrsp.smdp.config import ENV_CONFIG, SmdpConfig
from openrsp.smdp.context import open_database
from openrsp.smdp.db import transactions
from openrsp.smdp.errors import ConfigError
from openrsp.smdp.tlsfiles import load_credentials, resolve_address, tls_server_files


def prepare(config: SmdpConfig) -> tuple[SmdpConfig, functools.partial]:
    """Check and create what the workers share; the config (address filled in) and SSL factory."""
    credentials = load_credentials(config.credentials_dir, config.keys_uri)
    chain, key = tls_server_files(config, credentials)
    address = resolve_address(config, credentials)
    if not address:
        raise ConfigError("SM-DP+ address unknown: give --address (or a TLS certificate with a DNS name)")
    client_cas = [str(path) for path in (config.operator_ca, config.lpa_ca) if path is not None]
    # An LPA may present the PKI's LPA client certificate even when ES9+ does not require one:
    # trust that CA in the handshake (OpenSSL would otherwise abort it), require it only when configured.
    if config.credentials_dir is not None:
        pki_lpa_ca = config.credentials_dir / "lpa-tls" / "ca.cert.pem"
        if pki_lpa_ca.is_file() and str(pki_lpa_ca) not in client_cas:
            client_cas.append(str(pki_lpa_ca))
    for path in client_cas:
        if not os.path.isfile(path):
            raise ConfigError(f"CA file not found: {path}")
    if config.workers == 1:  # uvicorn runs the one worker in this process: no other to queue with
        transactions.sole_writer_process(config.db_url)
    database = open_database(config)  # schema upgrade + KEK + operators, once, before any worker
    database.engine.dispose()
    factory = functools.partial(
        make_ssl_context, chain_file=str(chain), key_file=str(key), client_ca_files=tuple(client_cas)
    )
    return replace(config, address=address), factory


def serve(config: SmdpConfig) -> None:
    config, ssl_factory = prepare(config)
    os.environ[ENV_CONFIG] = config.to_json()
    limits = config.limits
    # room for max_connections, as many TCP connections still in their TLS handshake, and files
    _allow_open_files(2 * limits.max_connections + 256)
    uvicorn.run(
        "openrsp.smdp.http.app:create_app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        http=limited_protocol(limits),
        timeout_keep_alive=limits.keep_alive_timeout_seconds,  # type: ignore[arg-type]
        timeout_graceful_shutdown=limits.shutdown_timeout_seconds,  # type: ignore[arg-type]
        ssl_context_factory=ssl_factory,
        log_level=config.log_level,
        log_config=access_log_config(),  # uvicorn's, with a cheaper access-line formatter
        lifespan="on",
        server_header=False,
        # TLS ends in this process, so no proxy sits in front to add X-Forwarded-For; uvicorn would
        # otherwise let any loopback client rename itself in the log (and rebuild the headers per request).
        proxy_headers=False,
    )


def _allow_open_files(wanted: int) -> None:
    """Raise the soft limit on open files towards `wanted` (up to the hard limit): with the usual
    1024, a few hundred idle TCP connections would leave a worker unable to accept another."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
