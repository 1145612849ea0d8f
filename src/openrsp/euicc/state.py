"""What an eUICC remembers across power cycles, as plain data that maps 1:1 to its JSON file.

Everything here is persistent; nothing of an RSP session is (a download in progress lives only in
memory, so a reset or a killed process leaves no trace of it). Private keys are not here either:
they sit in their own PEM files next to the state file (store.py).
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

from openrsp.errors import OpenRSPError

STATE_VERSION = 1

# ProfileClass and ProfileState values (SGP.22 RSPDefinitions).
CLASS_TEST, CLASS_PROVISIONING, CLASS_OPERATIONAL = 0, 1, 2
CLASS_NAMES = {CLASS_TEST: "test", CLASS_PROVISIONING: "provisioning", CLASS_OPERATIONAL: "operational"}
STATE_DISABLED, STATE_ENABLED = 0, 1

# NotificationEvent bits and PprIds bits, by name (bit numbers as in the ASN.1 BIT STRINGs).
EVENTS = ("install", "enable", "disable", "delete")
PPR_NAMES = ("pprUpdateControl", "ppr1", "ppr2", "ppr3")


class StateError(OpenRSPError):
    """The eUICC state file is missing, unreadable or from an unknown version."""


def _b(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


@dataclass
class OperatorId:
    mcc_mnc: bytes
    gid1: bytes | None = None
    gid2: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        return {"mccMnc": self.mcc_mnc.hex().upper(), "gid1": _hex(self.gid1), "gid2": _hex(self.gid2)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OperatorId:
        return cls(bytes.fromhex(data["mccMnc"]), _unhex(data.get("gid1")), _unhex(data.get("gid2")))


def _hex(data: bytes | None) -> str | None:
    return None if data is None else data.hex().upper()


def _unhex(text: str | None) -> bytes | None:
    return None if text is None else bytes.fromhex(text)


@dataclass
class NotificationConfig:
    events: list[str]  # names from EVENTS
    address: str


@dataclass
class StoredFile:
    """One file of a profile's file system as the card serves it (content only for EFs)."""

    fid: bytes | None
    content: bytes = b""
    descriptor: bytes | None = None  # FCP file descriptor (82): structure, record length
    is_directory: bool = False
    aid: bytes | None = None  # ADFs only

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"fid": _hex(self.fid), "data": _hex(self.content)}
        if self.descriptor is not None:
            out["fd"] = _hex(self.descriptor)
        if self.is_directory:
            out["dir"] = True
        if self.aid is not None:
            out["aid"] = _hex(self.aid)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredFile:
        return cls(
            _unhex(data.get("fid")),
            bytes.fromhex(data.get("data", "")),
            _unhex(data.get("fd")),
            bool(data.get("dir", False)),
            _unhex(data.get("aid")),
        )


@dataclass
class AkaParameters:
    """The network authentication secrets of a profile; only the USIM inside the card reads them."""

    algorithm: str  # "milenage", "tuak", "usim-test-algorithm", ...
    ki: bytes
    opc: bytes
    sqn_ms: int = 0  # highest sequence number accepted so far (TS 33.102 C.2, one array element)

    def to_json(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "ki": _hex(self.ki), "opc": _hex(self.opc), "sqnMs": self.sqn_ms}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AkaParameters:
        return cls(
            data["algorithm"], bytes.fromhex(data["ki"]), bytes.fromhex(data["opc"]), data.get("sqnMs", 0)
        )


@dataclass
class Profile:
    """One installed profile: its ISD-P, metadata and the parts of the package the card serves."""

    iccid: str  # digits, as shown to users
    isdp_aid: bytes
    state: int = STATE_DISABLED
    profile_class: int = CLASS_OPERATIONAL
    nickname: str | None = None
    service_provider_name: str = ""
    profile_name: str = ""
    icon_type: int | None = None
    icon: bytes | None = None
    notification_config: list[NotificationConfig] = field(default_factory=list)
    profile_owner: OperatorId | None = None
    ppr: list[str] = field(default_factory=list)  # names from PPR_NAMES
    dp_proprietary_data: bytes | None = None  # DER of B8 as received in ConfigureISDP
    usim_aid: bytes | None = None
    imsi: str | None = None
    files: dict[str, StoredFile] = field(default_factory=dict)  # "ADF.USIM/EF.IMSI" -> file
    aka: AkaParameters | None = None
    size: int = 0  # bytes of the package, for the memory the eUICC reports

    @property
    def enabled(self) -> bool:
        return self.state == STATE_ENABLED

    def address_for(self, event: str) -> str | None:
        """The notificationAddress configured for an event, or None when none is."""
        for config in self.notification_config:
            if event in config.events:
                return config.address
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "iccid": self.iccid,
            "isdpAid": _hex(self.isdp_aid),
            "state": self.state,
            "profileClass": self.profile_class,
            "nickname": self.nickname,
            "serviceProviderName": self.service_provider_name,
            "profileName": self.profile_name,
            "iconType": self.icon_type,
            "icon": _b(self.icon),
            "notificationConfig": [asdict(c) for c in self.notification_config],
            "profileOwner": self.profile_owner.to_json() if self.profile_owner else None,
            "ppr": self.ppr,
            "dpProprietaryData": _hex(self.dp_proprietary_data),
            "usimAid": _hex(self.usim_aid),
            "imsi": self.imsi,
            "files": {name: f.to_json() for name, f in self.files.items()},
            "aka": self.aka.to_json() if self.aka else None,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        return cls(
            iccid=data["iccid"],
            isdp_aid=bytes.fromhex(data["isdpAid"]),
            state=data["state"],
            profile_class=data["profileClass"],
            nickname=data.get("nickname"),
            service_provider_name=data.get("serviceProviderName", ""),
            profile_name=data.get("profileName", ""),
            icon_type=data.get("iconType"),
            icon=_unb(data.get("icon")),
            notification_config=[NotificationConfig(**c) for c in data.get("notificationConfig", [])],
            profile_owner=OperatorId.from_json(data["profileOwner"]) if data.get("profileOwner") else None,
            ppr=list(data.get("ppr", [])),
            dp_proprietary_data=_unhex(data.get("dpProprietaryData")),
            usim_aid=_unhex(data.get("usimAid")),
            imsi=data.get("imsi"),
            files={name: StoredFile.from_json(f) for name, f in data.get("files", {}).items()},
            aka=AkaParameters.from_json(data["aka"]) if data.get("aka") else None,
            size=data.get("size", 0),
        )


@dataclass
class Notification:
    """A pending notification: its metadata and the signed PendingNotification DER to hand out."""

    seq_number: int
    event: str  # one of EVENTS
    address: str
    iccid: str | None
    pending: bytes  # ProfileInstallationResult (BF37) or OtherSignedNotification (30...) DER

    def to_json(self) -> dict[str, Any]:
        return {
            "seqNumber": self.seq_number,
            "event": self.event,
            "address": self.address,
            "iccid": self.iccid,
            "pending": _b(self.pending),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Notification:
        pending = _unb(data["pending"])
        assert pending is not None
        return cls(data["seqNumber"], data["event"], data["address"], data.get("iccid"), pending)


@dataclass
class RatRule:
    """One ProfilePolicyAuthorisationRule of the rules authorisation table."""

    pprs: list[str]
    allowed_operators: list[OperatorId]
    consent_required: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "pprs": self.pprs,
            "allowedOperators": [o.to_json() for o in self.allowed_operators],
            "consentRequired": self.consent_required,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RatRule:
        return cls(
            list(data["pprs"]),
            [OperatorId.from_json(o) for o in data["allowedOperators"]],
            bool(data.get("consentRequired", False)),
        )


@dataclass
class TrustedCi:
    """A CI the eUICC verifies SM-DP+ certificates against (its PKID is the SubjectKeyIdentifier)."""

    curve: str
    pkid: bytes
    certificate: bytes  # DER


@dataclass
class SigningIdentity:
    """The eUICC's certificate chain under one CI; the private key lives in `key_file` next to the state."""

    curve: str
    ci_pkid: bytes
    euicc_certificate: bytes  # DER
    eum_certificate: bytes  # DER
    key_file: str


@dataclass
class EuiccInfo:
    """The values GetEUICCInfo1/2 report that are fixed at manufacture."""

    svn: str = "2.2.2"
    profile_version: str = "2.3.1"
    firmware_version: str = "1.0.0"
    javacard_version: str = "3.0.5"
    globalplatform_version: str = "2.3.0"
    pp_version: str = "1.0.0"
    sas_accreditation_number: str = "OPENRSP-TEST"
    nvm_capacity: int = 1_048_576  # bytes available to profiles
    volatile_free: int = 32_768
    forbidden_pprs: list[str] = field(default_factory=list)


@dataclass
class EuiccState:
    eid: str
    trusted_cis: list[TrustedCi]
    identities: list[SigningIdentity]
    default_smdp: str | None = None
    root_smds: str = "lpa.ds.gsma.com"
    info: EuiccInfo = field(default_factory=EuiccInfo)
    rat: list[RatRule] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    next_seq_number: int = 1
    next_isdp_index: int = 1

    # --- lookups ------------------------------------------------------------------------------
    def profile_by_iccid(self, iccid: str) -> Profile | None:
        return next((p for p in self.profiles if p.iccid == iccid), None)

    def profile_by_aid(self, aid: bytes) -> Profile | None:
        return next((p for p in self.profiles if p.isdp_aid == aid), None)

    def enabled_profile(self) -> Profile | None:
        return next((p for p in self.profiles if p.enabled), None)

    def used_memory(self) -> int:
        return sum(p.size for p in self.profiles)

    # --- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "eid": self.eid,
            "trustedCis": [
                {"curve": c.curve, "pkid": _hex(c.pkid), "certificate": _b(c.certificate)}
                for c in self.trusted_cis
            ],
            "identities": [
                {
                    "curve": i.curve,
                    "ciPkid": _hex(i.ci_pkid),
                    "euiccCertificate": _b(i.euicc_certificate),
                    "eumCertificate": _b(i.eum_certificate),
                    "keyFile": i.key_file,
                }
                for i in self.identities
            ],
            "defaultSmdp": self.default_smdp,
            "rootSmds": self.root_smds,
            "info": asdict(self.info),
            "rat": [r.to_json() for r in self.rat],
            "profiles": [p.to_json() for p in self.profiles],
            "notifications": [n.to_json() for n in self.notifications],
            "nextSeqNumber": self.next_seq_number,
            "nextIsdpIndex": self.next_isdp_index,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EuiccState:
        if data.get("version") != STATE_VERSION:
            raise StateError(f"unsupported eUICC state version {data.get('version')!r}")
        try:
            return cls(
                eid=data["eid"],
                trusted_cis=[
                    TrustedCi(c["curve"], bytes.fromhex(c["pkid"]), base64.b64decode(c["certificate"]))
                    for c in data["trustedCis"]
                ],
                identities=[
                    SigningIdentity(
                        i["curve"],
                        bytes.fromhex(i["ciPkid"]),
                        base64.b64decode(i["euiccCertificate"]),
                        base64.b64decode(i["eumCertificate"]),
                        i["keyFile"],
                    )
                    for i in data["identities"]
                ],
                default_smdp=data.get("defaultSmdp"),
                root_smds=data.get("rootSmds", ""),
                info=EuiccInfo(**data.get("info", {})),
                rat=[RatRule.from_json(r) for r in data.get("rat", [])],
                profiles=[Profile.from_json(p) for p in data.get("profiles", [])],
                notifications=[Notification.from_json(n) for n in data.get("notifications", [])],
                next_seq_number=data.get("nextSeqNumber", 1),
                next_isdp_index=data.get("nextIsdpIndex", 1),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"eUICC state file is damaged: {exc}") from None
