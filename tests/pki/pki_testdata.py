"""Data and helpers shared by the PKI tests."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

OPENRSP = Path(sys.executable).parent / "openrsp"


def run_openrsp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OPENRSP), *args], capture_output=True, text=True, timeout=120)


SGP26_CHAINS = {
    # leaf path (relative to sgp26/) -> (role, needs the EUM as intermediate)
    "eUICC/CERT_EUICC_ECDSA_{c}.der": ("euicc", True),
    "EUM/CERT_EUM_ECDSA_{c}.der": ("eum", False),
    "DPauth/CERT_S_SM_DPauth_ECDSA_{c}.der": ("dpauth", False),
    "DPpb/CERT_S_SM_DPpb_ECDSA_{c}.der": ("dppb", False),
    "DPtls/CERT_S_SM_DP_VARO_TLS_{c}.der": ("dptls", False),
    "CertificateIssuer/CERT_CI_ECDSA_{c}.der": ("ci", False),
}

# Inside every SGP.26 certificate's validity, including the VARO TLS one (2026-07 .. 2027-02).
SGP26_TIME = datetime(2026, 12, 1, tzinfo=UTC)
SGP26_TIME_ISO = "2026-12-01T00:00:00Z"
SGP26_EID = "89049032123451234512345678901235"
SGP26_PKIDS = {
    "NIST": "F54172BDF98A95D65CBEB88A38A1C11D800A85C3",
    "BRP": "C0BC70BA36929D43B467FF57570530E57AB8FCD8",
}
