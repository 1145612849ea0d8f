"""SGP.22 status codes (§5.1.6.4): subject and reason names, so failures read as words.

Shared by both ends of ES2+/ES9+: the SM-DP+ sends these codes and the LPA and operator client print
them, and neither side imports the other.
"""

from __future__ import annotations

SUBJECTS: dict[str, str] = {
    "1.1": "Function Requester",
    "1.2": "Function Provider",
    "1.3.1": "Protocol Format",
    "1.3.2": "Protocol Version",
    "1.6": "Function",
    "8.1": "eUICC",
    "8.1.1": "EID",
    "8.1.2": "EUM Certificate",
    "8.1.3": "eUICC Certificate",
    "8.1.4": "EID range",
    "8.2": "Profile",
    "8.2.1": "Profile ICCID",
    "8.2.5": "Profile Type",
    "8.2.6": "Matching ID",
    "8.2.7": "Confirmation Code",
    "8.8": "SM-DP+",
    "8.8.1": "SM-DP+ Address",
    "8.8.2": "Security configuration",
    "8.8.3": "Specification Version Number",
    "8.8.4": "SM-DP+ Certificate",
    "8.8.5": "Download order",
    "8.9": "SM-DS",
    "8.9.1": "SM-DS Address",
    "8.9.5": "Event Record",
    "8.10.1": "TransactionId",
    "8.11.1": "CI Public Key",
}

REASONS: dict[str, str] = {
    "1.1": "Unknown (Identification or Authentication)",
    "1.2": "Not Allowed (Authorisation)",
    "2.1": "Invalid",
    "2.2": "Mandatory Element Missing",
    "2.3": "Conditional Element Missing",
    "3.1": "Unsupported",
    "3.3": "Already in Use",
    "3.5": "Invalid Transition",
    "3.7": "Unavailable",
    "3.8": "Refused",
    "3.9": "Unknown",
    "3.10": "Invalid Association",
    "4.2": "Execution Error",
    "4.3": "Stopped on Warning",
    "4.8": "Insufficient Memory",
    "4.10": "Time to Live Expired",
    "5.1": "Inaccessible",
    "6.1": "Verification Failed",
    "6.3": "Expired",
    "6.4": "Maximum number of attempts exceeded",
}

# Framing failures of the JSON binding (SGP.22 §6.5), the same for ES2+ and ES9+.
PROTOCOL_FORMAT = "1.3.1"
PROTOCOL_VERSION = "1.3.2"
FUNCTION_REQUESTER = "1.1"
FUNCTION_PROVIDER = "1.2"
FUNCTION = "1.6"


def describe(subject_code: str, reason_code: str) -> str:
    """'Confirmation Code - Refused' for ('8.2.7', '3.8'); unknown codes are shown as they are."""
    return f"{SUBJECTS.get(subject_code, subject_code)} - {REASONS.get(reason_code, reason_code)}"
