"""Evaluation only (docs/benchmarks.md, "Native fronts"): the SM-DP+ app under granian (PyPI).

    python bench/fronts/granian_front.py --config smdp.toml

granian terminates TLS (rustls) and parses HTTP/1.1 in Rust, then calls the same ASGI app. Not
shipped: it does not give the app the client's certificate (ES2+ cannot tell operators apart, the
LPA CA check cannot run) and has no per-connection cap with 503 or body-size limit of its own.
Here it serves ES9+ for the CPU comparison only. granian wants the TLS key in PKCS#8: a copy is
written 0600 into the data folder.
"""

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from granian import Granian
from granian.constants import Interfaces

from openrsp.smdp.config import ENV_CONFIG, load_config
from openrsp.smdp.server import prepare


def main() -> None:
    config, ssl_factory = prepare(load_config(Path(sys.argv[sys.argv.index("--config") + 1])))
    os.environ[ENV_CONFIG] = config.to_json()
    key = serialization.load_pem_private_key(Path(ssl_factory.keywords["key_file"]).read_bytes(), None)
    pkcs8 = Path(config.data_dir) / "tls-key.pkcs8.pem"
    fd = os.open(pkcs8, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    Granian(
        "openrsp.smdp.http.app:create_app_from_env",
        factory=True,
        address=config.host,
        port=config.port,
        interface=Interfaces.ASGI,
        workers=config.workers,
        ssl_cert=Path(ssl_factory.keywords["chain_file"]),
        ssl_key=pkcs8,
        ssl_protocol_min="tls1.2",
        log_enabled=False,
    ).serve()


if __name__ == "__main__":
    main()
