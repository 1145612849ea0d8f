"""Everything a campaign needs, made from the command line's choices: credentials (a fresh test PKI,
or the GSMA SGP.26 test certificates), the lab's SM-DP+ (and SM-DS), the card (its root SM-DS is
the lab's), and the DUT driver."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openrsp.errors import InputError
from openrsp.lab.card import LabCard
from openrsp.lab.duts import CommandDut, Dut, OpenrspDut
from openrsp.lab.server import LabServer, ci_pair
from openrsp.lab.smds import HOST as SMDS_HOST
from openrsp.pki.testpki import init_pki


@dataclass
class Lab:
    server: LabServer
    card: LabCard
    credentials: Path
    workdir: Path

    @property
    def resolve(self) -> str:
        return f"{self.server.tls_host}:127.0.0.1"

    def template_values(self) -> dict[str, str]:
        """What a --dut-cmd template may name besides the step's own fields."""
        return {
            "reader": self.card.reader or "",
            "euicc": str(self.card.directory or ""),
            "resolve": self.resolve,
            "smdp": self.server.address(),
            "smdp_host": self.server.tls_host,
            "ci": str(ci_pair(self.credentials)[0]),
        }


@contextlib.contextmanager
def open_lab(*, card: str = "virtual", curve: str = "nist", sgp26: Path | None = None,
             host: str = "127.0.0.1", port: int = 0) -> Iterator[Lab]:  # fmt: skip
    """A running lab in a private temporary folder, removed afterwards."""
    if curve not in ("nist", "brp"):
        raise InputError(f"--curve {curve!r}: use nist or brp")
    workdir = Path(tempfile.mkdtemp(prefix="openrsp-lab-"))  # 0700: keys and the KEK live here
    server: LabServer | None = None
    lab_card: LabCard | None = None
    try:
        if sgp26 is not None:
            if not (sgp26 / "CertificateIssuer").is_dir():
                raise InputError(f"--sgp26 {sgp26}: not an SGP.26 folder (no CertificateIssuer/)")
            credentials = sgp26.resolve()
        else:
            credentials = workdir / "pki"
            init_pki(credentials, smds_host=SMDS_HOST)  # the lab's SM-DS listens there
        server = LabServer(credentials, workdir / "server", host=host, port=port)
        server.start()
        lab_card = LabCard.create(card, workdir / "card", credentials, curve, root_smds=server.smds_address())
        yield Lab(server, lab_card, credentials, workdir)
    finally:
        if lab_card is not None:
            lab_card.close()
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def make_dut(kind: str, lab: Lab, template: str | None = None, *, timeout: float = 30.0,
             page_host: str = "127.0.0.1", page_port: int = 8090) -> Dut:  # fmt: skip
    """The DUT driver `--dut` names (`page_*`: where the manual DUT's web page listens)."""
    if kind == "openrsp":
        if lab.card.kind == "none":
            raise InputError("--dut openrsp needs a card: --card virtual or --card pcsc")
        if lab.card.kind == "pcsc":  # the LPA cannot read the card's CIs off disk: give them
            cis = [str(ci_pair(lab.credentials, curve)[0]) for curve in ("nist", "brp")]
            cis = [ci for ci in cis if Path(ci).is_file()]
            card_args = ["--pcsc", lab.card.reader or "", *(a for ci in cis for a in ("--ci", ci))]
        else:
            card_args = ["--euicc", str(lab.card.directory)]
        return OpenrspDut(card_args, lab.resolve, timeout=timeout)
    if kind == "command":
        if not template:
            raise InputError("--dut command needs --dut-cmd TEMPLATE")
        return CommandDut(template, lab.template_values())
    if kind == "manual":
        from openrsp.lab.manual import ManualDut

        return ManualDut(lab, host=page_host, port=page_port)
    raise InputError(f"--dut {kind!r}: use openrsp, command or manual")
