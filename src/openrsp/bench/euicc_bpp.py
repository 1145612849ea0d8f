"""eUICC side: how long the virtual eUICC takes to process a bound profile package, per segment.

For each TS.48 package: a fresh virtual eUICC (its own folder, state written to disk as always),
a real mutual authentication and PrepareDownload against the SM-DP+ credentials, a BPP built by
the SM-DP+'s own builder (with profile protection keys, as openrsp's SM-DP+ sends it), then each
LoadBoundProfilePackage piece the LPA would send, timed on its own through the ISD-R. The last
piece includes installing the profile and writing the eUICC state.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import iccid_to_bytes
from openrsp.asn1.tlv import encode_tlv
from openrsp.crypto.ecdsa import sign_plain
from openrsp.crypto.kdf import KEY_LENGTH, SessionKeys
from openrsp.errors import OpenRSPError
from openrsp.es8.build import build_bound_profile_package
from openrsp.es8.segments import segments_for_lpa
from openrsp.euicc.isd_r import IsdR
from openrsp.euicc.store import create_euicc, open_euicc
from openrsp.pki.credentials import SmdpCiSet, SmdpCredentials
from openrsp.profile.package import ProfilePackage

DEVICE_INFO = {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}
# What each LoadBoundProfilePackage piece is (SGP.22 order), by its first tag byte(s).
PIECE_KINDS = {0xBF: "initialiseSecureChannel", 0xA0: "configureIsdp", 0xA1: "storeMetadataHeader",
               0x88: "storeMetadata", 0xA2: "replaceSessionKeys", 0xA3: "profileHeader", 0x86: "profileSegment"}  # fmt: skip


class EuiccBenchError(OpenRSPError):
    """The virtual eUICC refused what the benchmark sent it."""


@dataclass(frozen=True)
class PieceTiming:
    kind: str
    size: int
    seconds: float


def _der(cert: Any) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _store_metadata(iccid: str, address: str) -> bytes:
    return rsp().encode(
        "StoreMetadataRequest",
        {
            "iccid": iccid_to_bytes(iccid),
            "serviceProviderName": "openrsp bench",
            "profileName": "TS.48 bench",
        },
    )


def _authenticate(isd_r: IsdR, ci_set: SmdpCiSet, address: str, transaction_id: bytes) -> bytes:
    """GetEUICCChallenge + AuthenticateServer; euiccSignature1."""
    challenge = rsp().decode("GetEuiccChallengeResponse", isd_r.handle_es10(bytes.fromhex("BF2E00")))
    signed1 = rsp().encode(
        "ServerSigned1",
        {
            "transactionId": transaction_id,
            "euiccChallenge": challenge["euiccChallenge"],
            "serverAddress": address,
            "serverChallenge": os.urandom(16),
        },
    )
    ctx = rsp().encode(
        "CtxParams1", ("ctxParamsForCommonAuthentication", {"matchingId": "BENCH", "deviceInfo": DEVICE_INFO})
    )
    request = encode_tlv(
        0xBF38,
        signed1
        + encode_tlv(0x5F37, sign_plain(ci_set.dpauth_key, signed1))
        + encode_tlv(0x04, ci_set.ci_pkid)
        + _der(ci_set.dpauth_cert)
        + ctx,
    )
    kind, value = rsp().decode("AuthenticateServerResponse", isd_r.handle_es10(request))
    if kind != "authenticateResponseOk":
        raise EuiccBenchError(f"AuthenticateServer refused: {value}")
    return value["euiccSignature1"]


def _prepare(isd_r: IsdR, ci_set: SmdpCiSet, transaction_id: bytes, signature1: bytes) -> bytes:
    """PrepareDownload; otPK.EUICC.ECKA."""
    signed2 = rsp().encode("SmdpSigned2", {"transactionId": transaction_id, "ccRequiredFlag": False})
    signature2 = sign_plain(ci_set.dppb_key, signed2 + encode_tlv(0x5F37, signature1))
    request = encode_tlv(0xBF21, signed2 + encode_tlv(0x5F37, signature2) + _der(ci_set.dppb_cert))
    kind, value = rsp().decode("PrepareDownloadResponse", isd_r.handle_es10(request))
    if kind != "downloadResponseOk":
        raise EuiccBenchError(f"PrepareDownload refused: {value}")
    return value["euiccSigned2"]["euiccOtpk"]


def time_one_package(
    package: bytes, *, pki_dir: Path, work_dir: Path, curve: str = "nist"
) -> list[PieceTiming]:
    """Load one package into a fresh virtual eUICC; the time of every piece, in order."""
    shutil.rmtree(work_dir, ignore_errors=True)
    credentials = SmdpCredentials.load(pki_dir)
    ci_set = next(s for s in credentials.sets if s.curve == curve)
    create_euicc(work_dir, pki=pki_dir, curve=curve, default_smdp=credentials.address)
    euicc = open_euicc(work_dir)
    isd_r = IsdR(euicc)
    transaction_id = os.urandom(16)
    signature1 = _authenticate(isd_r, ci_set, credentials.address, transaction_id)
    otpk = _prepare(isd_r, ci_set, transaction_id, signature1)
    iccid = ProfilePackage.from_der(package).iccid
    ppk = SessionKeys(*(os.urandom(KEY_LENGTH) for _ in range(3)))
    bpp = build_bound_profile_package(
        transaction_id=transaction_id,
        eid=bytes.fromhex(euicc.state.eid),
        euicc_otpk=otpk,
        dppb_key=ci_set.dppb_key,
        profile_package=package,
        store_metadata=_store_metadata(iccid, credentials.address),
        ppk=ppk,
    ).der
    timings = []
    answer = b""
    for piece in segments_for_lpa(bpp):
        start = time.perf_counter()
        answer = isd_r.handle_es10(piece)
        timings.append(
            PieceTiming(PIECE_KINDS.get(piece[0], f"{piece[0]:02X}"), len(piece), time.perf_counter() - start)
        )
    result = rsp().decode("ProfileInstallationResult", answer)
    kind, _ = result["profileInstallationResultData"]["finalResult"]
    if kind != "successResult":
        raise EuiccBenchError(f"the eUICC did not install the package: {result}")
    return timings


def bench_packages(
    files: Sequence[Path], *, pki_dir: Path, work_dir: Path, repeat: int = 1, curve: str = "nist"
) -> list[dict[str, Any]]:
    """One row per package: sizes, pieces, total and per-segment milliseconds (median of repeats)."""
    rows = []
    for path in files:
        package = path.read_bytes()
        runs = [
            time_one_package(package, pki_dir=pki_dir, work_dir=work_dir / "euicc", curve=curve)
            for _ in range(repeat)
        ]
        totals = [sum(t.seconds for t in run) for run in runs]
        best = runs[totals.index(statistics.median_low(totals))]
        segments = [t for t in best if t.kind == "profileSegment"]
        rows.append(
            {
                "package": path.name,
                "package_bytes": len(package),
                "pieces": len(best),
                "profile_segments": len(segments),
                "total_ms": round(1000 * sum(t.seconds for t in best), 3),
                "initialise_secure_channel_ms": round(1000 * best[0].seconds, 3),
                "profile_segment_ms_mean": round(1000 * statistics.fmean(t.seconds for t in segments[:-1]), 3)
                if len(segments) > 1
                else None,
                "last_segment_and_install_ms": round(1000 * best[-1].seconds, 3),
                "per_piece_ms": [round(1000 * t.seconds, 3) for t in best],
            }
        )
    shutil.rmtree(work_dir / "euicc", ignore_errors=True)
    return rows
