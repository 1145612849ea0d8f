"""The on-disk layout `openrsp pki init` writes, and its index.json (a contract other code reads).

    DIR/index.json
    DIR/<curve>/{ci,eum,euicc,dpauth,dppb,dsauth}.{cert.pem,cert.der,key.pem}     curve: nist, brp
    DIR/tls/{dptls,dstls}.{cert.pem,cert.der,key.pem}, DIR/tls/{dptls,dstls}.chain.pem     (leaf + CI)
    DIR/lpa-tls/{ca,client}.*      DIR/operator-tls/{ca,client}.*

index.json maps group ("nist", "brp", "tls", "lpa-tls", "operator-tls") and role to an entry
with relative paths (cert_pem, cert_der, key) and what the certificate says (subject, SKI, ...).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openrsp.errors import InputError
from openrsp.pki.certio import write_file

INDEX_FILE = "index.json"
FORMAT = "openrsp-pki/1"
GSMA_ROLES = ("ci", "eum", "euicc", "dpauth", "dppb", "dsauth")
TLS_GROUP, LPA_GROUP, OPERATOR_GROUP = "tls", "lpa-tls", "operator-tls"
GROUP_ROLES: dict[str, tuple[str, ...]] = {
    "nist": GSMA_ROLES,
    "brp": GSMA_ROLES,
    TLS_GROUP: ("dptls", "dstls"),
    LPA_GROUP: ("ca", "client"),
    OPERATOR_GROUP: ("ca", "client"),
}
TLS_CHAIN = f"{TLS_GROUP}/dptls.chain.pem"
DS_TLS_CHAIN = f"{TLS_GROUP}/dstls.chain.pem"
FILE_SUFFIXES = (".cert.pem", ".cert.der", ".key.pem")


def base(group: str, role: str) -> str:
    """Relative path stem of a role's files, e.g. 'nist/euicc'."""
    return f"{group}/{role}"


def all_layout_files() -> list[str]:
    """Every relative path the layout may hold (used to clear an old PKI on --force)."""
    files = [
        base(g, r) + suffix for g, roles in GROUP_ROLES.items() for r in roles for suffix in FILE_SUFFIXES
    ]
    return [*files, TLS_CHAIN, DS_TLS_CHAIN, INDEX_FILE]


@dataclass(frozen=True)
class PkiIndex:
    """index.json of a PKI folder, with paths resolved against the folder."""

    directory: Path
    data: dict[str, Any]

    @classmethod
    def read(cls, directory: Path | str) -> "PkiIndex":
        directory = Path(directory)
        path = directory / INDEX_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"no openrsp PKI in {directory} ({INDEX_FILE} missing)") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{path} is not an openrsp PKI index (format {FORMAT})")
        return cls(directory, data)

    def write(self) -> None:
        write_file(self.directory / INDEX_FILE, (json.dumps(self.data, indent=2) + "\n").encode())

    @property
    def eid(self) -> str:
        return self.data["eid"]

    @property
    def smdp_host(self) -> str:
        return self.data["smdp_host"]

    @property
    def smds_host(self) -> str | None:
        return self.data.get("smds_host")  # absent in folders written before the SM-DS existed

    @property
    def smdp_oid(self) -> str:
        return self.data["smdp_oid"]

    @property
    def curves(self) -> list[str]:
        return list(self.data["curves"])

    @property
    def tls_curve(self) -> str:
        return self.data["tls_curve"]

    def has(self, group: str, role: str) -> bool:
        return role in self.data.get("certificates", {}).get(group, {})

    def entry(self, group: str, role: str) -> dict[str, Any]:
        try:
            return self.data["certificates"][group][role]
        except KeyError:
            raise InputError(f"the PKI in {self.directory} has no {group}/{role} certificate") from None

    def cert_path(self, group: str, role: str, *, der: bool = False) -> Path:
        return self.directory / self.entry(group, role)["cert_der" if der else "cert_pem"]

    def key_path(self, group: str, role: str) -> Path:
        return self.directory / self.entry(group, role)["key"]

    @property
    def tls_chain_path(self) -> Path:
        return self.directory / self.entry(TLS_GROUP, "dptls")["chain_pem"]
