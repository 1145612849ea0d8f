"""The SM-DP+ inventory: profiles, orders, RSP sessions, notifications, events — over SQLAlchemy.

Every state change goes through `Repository.transition`, inside the caller's transaction, written
by db/order_moves.py as the ES9+ path's are: the state table (states.py) gives the next state, a
conditional UPDATE (`… WHERE state = :expected`) writes it (of two racing callers exactly one
changes the row; the other gets StateConflict), and the operator's progress report goes to the
outbox in the same transaction: it exists exactly when the change does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from openrsp.hexutil import to_hex
from openrsp.rspserver.ids import utcnow
from openrsp.rspserver.sealing import Sealer
from openrsp.smdp import prepared_package
from openrsp.smdp.db import order_moves
from openrsp.smdp.db.database import SmdpDatabase
from openrsp.smdp.db.models import (
    EventLog,
    Notification,
    Operator,
    Order,
    Profile,
    ProfilePackage,
    RspSession,
)
from openrsp.smdp.errors import InventoryError
from openrsp.smdp.es2.points import ProgressPoint
from openrsp.smdp.states import REMOVABLE_STATES, Event, State

DEFAULT_PROFILE_TYPE = "default"
_log = logging.getLogger(__name__)


@dataclass
class NewProfile:
    """A profile to add to the inventory; `package` is the SAIP DER, sealed before it is stored."""

    iccid: str
    package: bytes
    profile_type: str = DEFAULT_PROFILE_TYPE
    imsi: str | None = None
    msisdn: str | None = None
    ki: bytes | None = None
    opc: bytes | None = None
    aka_algorithm: str | None = None
    spn: str | None = None
    profile_name: str | None = None
    profile_class: str = "operational"
    icon_type: str | None = None
    icon: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProfileSecrets:
    algorithm: str | None
    ki: bytes | None
    opc: bytes | None


class Repository:
    def __init__(
        self,
        engine: Engine,
        sealer: Sealer,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.sealer = sealer
        self.clock = clock
        self.database = SmdpDatabase(engine, sealer, clock)
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One DB transaction: committed when the block ends, rolled back when it raises."""
        with self._sessions() as session, session.begin():
            yield session

    # -- operators -----------------------------------------------------------------------------

    def ensure_operator(
        self, session: Session, name: str, *, cert_cn: str | None = None, callback_url: str | None = None
    ) -> Operator:
        """The operator called `name`, created when new; cert_cn/callback_url updated when given."""
        operator = session.scalar(select(Operator).where(Operator.name == name))
        if operator is None:
            operator = Operator(name=name, created_at=self.clock())
            session.add(operator)
        if cert_cn is not None:
            operator.cert_cn = cert_cn or None
        if callback_url is not None:
            operator.callback_url = callback_url or None
        session.flush()
        return operator

    def operator_for_certificate(
        self, session: Session, common_name: str | None, default: str | None
    ) -> Operator | None:
        """Which operator a verified client certificate speaks for.

        A configured cert_cn wins, then an operator named like the CN, then the default operator
        (when one is configured): a single-operator SM-DP+ needs no mapping at all.
        """
        # One query for the three candidates, ranked here (an ES2+ call asks this every time).
        names = [n for n in (common_name, default) if n]
        query = select(Operator).where(
            or_(Operator.cert_cn == common_name, Operator.name.in_(names))
            if common_name
            else Operator.name.in_(names)
        )
        found = list(session.scalars(query)) if names else []
        for rank in (
            lambda op: bool(common_name) and op.cert_cn == common_name,
            lambda op: bool(common_name) and op.name == common_name,
        ):
            operator = next((op for op in found if rank(op)), None)
            if operator is not None:
                return operator
        if default:
            existing = next((op for op in found if op.name == default), None)
            return existing or self.ensure_operator(session, default)
        return None

    def list_operators(self, session: Session) -> list[Operator]:
        return list(session.scalars(select(Operator).order_by(Operator.name)))

    # -- profiles ------------------------------------------------------------------------------

    def add_profiles(self, profiles: Sequence[NewProfile], operator: str) -> list[str]:
        """Add all the profiles, or none: any ICCID already known (or twice in the batch) refuses the lot."""
        seen: set[str] = set()
        for item in profiles:
            if item.iccid in seen:
                raise InventoryError(f"ICCID {item.iccid} appears twice; nothing imported")
            seen.add(item.iccid)
        now = self.clock()
        try:
            with self.transaction() as session:
                owner = self.ensure_operator(session, operator)
                known = self._known_iccids(session, list(seen))
                if known:
                    shown = ", ".join(sorted(known)[:5]) + (" …" if len(known) > 5 else "")
                    raise InventoryError(f"ICCID already in the inventory: {shown}; nothing imported")
                rows = [self._profile_row(item, owner.id, now) for item in profiles]
                packages = [{"iccid": row["iccid"], "package": row.pop("package")} for row in rows]
                for start in range(0, len(rows), 500):
                    session.execute(insert(Profile), rows[start : start + 500])
                    session.execute(insert(ProfilePackage), packages[start : start + 500])
        except IntegrityError:
            raise InventoryError("an ICCID was added concurrently; nothing imported") from None
        return [item.iccid for item in profiles]

    def _known_iccids(self, session: Session, iccids: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(iccids), 500):
            chunk = iccids[start : start + 500]
            known.update(session.scalars(select(Profile.iccid).where(Profile.iccid.in_(chunk))))
        return known

    def _profile_row(self, item: NewProfile, operator_id: int, now: datetime) -> dict[str, Any]:
        secrets = {
            "algorithm": item.aka_algorithm,
            "ki": to_hex(item.ki) if item.ki else None,
            "opc": to_hex(item.opc) if item.opc else None,
        }
        return {
            "iccid": item.iccid,
            "operator_id": operator_id,
            "profile_type": item.profile_type or DEFAULT_PROFILE_TYPE,
            "state": State.AVAILABLE.value,
            # the package with its PPK protection prepared (prepared_package): downloads reuse it
            "package": self.sealer.seal(
                prepared_package.to_bytes(prepared_package.prepare(item.package)), f"package/{item.iccid}"
            ),
            "secrets": self.sealer.seal(json.dumps(secrets).encode(), f"secrets/{item.iccid}"),
            "imsi": item.imsi,
            "msisdn": item.msisdn,
            "spn": item.spn,
            "profile_name": item.profile_name,
            "profile_class": item.profile_class or "operational",
            "icon_type": item.icon_type,
            "icon": item.icon,
            "extra": dict(item.extra),
            "created_at": now,
            "updated_at": now,
        }

    def get_profile(self, session: Session, iccid: str, *, lock: bool = False) -> Profile | None:
        query = select(Profile).where(Profile.iccid == iccid)
        if lock:
            query = query.with_for_update(of=Profile)
        return session.scalars(query).unique().one_or_none()

    def list_profiles(self, session: Session, operator_id: int | None = None) -> list[Profile]:
        query = select(Profile).order_by(Profile.iccid)
        if operator_id is not None:
            query = query.where(Profile.operator_id == operator_id)
        return list(session.scalars(query).unique())

    def remove_profiles(self, iccids: Sequence[str]) -> list[tuple[str, str]]:
        """Take profiles out of the inventory, all or none; (ICCID, state it had) for each.

        Only profiles no download is under way for (REMOVABLE_STATES): one unknown ICCID, or one
        with an open order, refuses the lot. The order and ES9+ sessions go with the profile; the
        events (plus a "removed" one) and received notifications stay as the audit trail, so the
        ICCID may be imported again afterwards.
        """
        wanted = list(dict.fromkeys(iccids))
        with self.transaction() as session:
            query = select(Profile).where(Profile.iccid.in_(wanted)).with_for_update(of=Profile)
            found = {p.iccid: p for p in session.scalars(query).unique()}
            unknown = [iccid for iccid in wanted if iccid not in found]
            if unknown:
                raise InventoryError(f"not in the inventory: {', '.join(unknown)}; nothing removed")
            busy = [p for p in found.values() if p.state not in REMOVABLE_STATES]
            if busy:
                shown = ", ".join(f"{p.iccid} ({p.state})" for p in busy)
                raise InventoryError(
                    f"a download order is open for {shown}: cancel it or let it finish; nothing removed"
                )
            ids = [p.id for p in found.values()]
            session.execute(delete(RspSession).where(RspSession.iccid.in_(wanted)))
            session.execute(delete(ProfilePackage).where(ProfilePackage.iccid.in_(wanted)))
            session.execute(delete(Order).where(Order.profile_id.in_(ids)))
            # The state condition again: an order taken since the check above keeps its profile.
            gone = session.execute(
                delete(Profile)
                .where(Profile.id.in_(ids), Profile.state.in_([s.value for s in REMOVABLE_STATES]))
                .execution_options(synchronize_session=False)
            )
            if gone.rowcount != len(ids):
                raise InventoryError("a profile was ordered meanwhile; nothing removed")
            now = self.clock()
            for iccid in wanted:
                was = found[iccid].state
                session.add(EventLog(iccid=iccid, event="removed", from_state=was, detail={}, created_at=now))
        return [(iccid, found[iccid].state) for iccid in wanted]

    def open_package(self, profile: Profile) -> bytes:
        """The profile's SAIP package (DER)."""
        if object_session(profile) is not None:  # its own table, read only when asked for
            return self.open_prepared(profile.iccid, profile.package).der
        with self.transaction() as session:  # a profile read in a transaction that is over
            sealed = session.scalar(
                select(ProfilePackage.package).where(ProfilePackage.iccid == profile.iccid)
            )
        return self.open_prepared(profile.iccid, sealed).der

    def open_prepared(self, iccid: str, sealed: bytes) -> prepared_package.PreparedPackage:
        """The package with the protection prepared at import (when it was)."""
        return self.database.open_prepared(iccid, sealed)

    def open_secrets(self, profile: Profile) -> ProfileSecrets:
        data = json.loads(self.sealer.open(profile.secrets, f"secrets/{profile.iccid}"))
        return ProfileSecrets(
            algorithm=data.get("algorithm"),
            ki=bytes.fromhex(data["ki"]) if data.get("ki") else None,
            opc=bytes.fromhex(data["opc"]) if data.get("opc") else None,
        )

    def profile_type_known(self, session: Session, operator_id: int, profile_type: str) -> bool:
        # One index probe (LIMIT 1), not a count over every profile of the type.
        query = (
            select(Profile.id)
            .where(Profile.operator_id == operator_id, Profile.profile_type == profile_type)
            .limit(1)
        )
        return session.scalar(query) is not None

    def find_available(self, session: Session, operator_id: int, profile_type: str) -> Profile | None:
        """An Available profile of this type, locked for us (others' locked rows are skipped)."""
        query = (
            select(Profile)
            .where(
                Profile.operator_id == operator_id,
                Profile.profile_type == profile_type,
                Profile.state == State.AVAILABLE.value,
            )
            .order_by(Profile.id)
            .limit(1)
            .with_for_update(of=Profile, skip_locked=True)
        )
        return session.scalars(query).unique().one_or_none()

    # -- state changes -------------------------------------------------------------------------

    def transition(
        self,
        session: Session,
        profile: Profile,
        event_: Event,
        *,
        detail: dict[str, Any] | None = None,
        progress: ProgressPoint | Literal[False] | None = None,
    ) -> State:
        """Move the profile along the state table, atomically; StateConflict if someone beat us to it.

        `progress`: None reports the event's default point to the operator (DEFAULT_PROGRESS),
        False reports nothing, a ProgressPoint reports that one. Written by db/order_moves.py, as
        every other caller's state changes are.
        """
        session.flush()  # the ORM's pending changes first: the move runs on the session's connection
        now = self.clock()
        new = order_moves.move(
            session.connection(), _subject(profile), event_, now, detail=detail, point=progress
        )
        set_committed_value(profile, "state", new.value)
        set_committed_value(profile, "updated_at", now)
        return new

    def report_progress(
        self, session: Session, profile: Profile, point: ProgressPoint, *, event_: str
    ) -> None:
        """Tell the operator about a step that changes no state (e.g. eligibility check, CC failure)."""
        session.flush()
        order_moves.report(session.connection(), _subject(profile), point, event_, self.clock())

    def events(self, session: Session, iccid: str) -> list[EventLog]:
        return list(session.scalars(select(EventLog).where(EventLog.iccid == iccid).order_by(EventLog.id)))

    # -- orders --------------------------------------------------------------------------------

    def create_order(
        self,
        session: Session,
        profile: Profile,
        *,
        eid: str | None,
        cc_max_attempts: int,
        max_download_attempts: int,
    ) -> Order:
        now = self.clock()
        order = Order(
            eid=eid,
            cc_attempts=0,
            cc_max_attempts=cc_max_attempts,
            download_attempts=0,
            max_download_attempts=max_download_attempts,
            release_flag=False,
            created_at=now,
            updated_at=now,
        )
        profile.order = order
        session.flush()
        return order

    def drop_order(self, session: Session, profile: Profile) -> None:
        if profile.order is not None:
            session.delete(profile.order)
            profile.order = None
            session.flush()

    def matching_id_in_use(self, session: Session, matching_id: str) -> bool:
        return session.scalar(select(func.count()).where(Order.matching_id == matching_id)) > 0

    def find_order_by_matching_id(
        self, session: Session, matching_id: str, *, lock: bool = False
    ) -> Order | None:
        query = select(Order).where(Order.matching_id == matching_id)
        if lock:
            query = query.with_for_update(of=Order)
        return session.scalars(query).unique().one_or_none()

    def find_orders_for_eid(self, session: Session, eid: str) -> list[Order]:
        """Orders bound to this EID (for the default SM-DP+ and empty-matchingId cases)."""
        query = select(Order).where(Order.eid == eid).order_by(Order.id)
        return list(session.scalars(query).unique())

    # -- RSP sessions (ES9+) -------------------------------------------------------------------

    def create_rsp_session(
        self,
        session: Session,
        transaction_id: str | bytes,
        *,
        state: str,
        eid: str | None = None,
        iccid: str | None = None,
        expires_at: datetime | None = None,
        data: dict[str, Any] | None = None,
    ) -> RspSession:
        now = self.clock()
        row = RspSession(
            transaction_id=_tid(transaction_id),
            state=state,
            eid=eid,
            iccid=iccid,
            expires_at=expires_at,
            data=dict(data or {}),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return row

    def get_rsp_session(
        self, session: Session, transaction_id: str | bytes, *, lock: bool = False
    ) -> RspSession | None:
        query = select(RspSession).where(RspSession.transaction_id == _tid(transaction_id))
        if lock:
            query = query.with_for_update()
        return session.scalars(query).one_or_none()

    def touch_rsp_session(self, session: Session, row: RspSession, *, state: str | None = None) -> None:
        if state is not None:
            row.state = state
        row.updated_at = self.clock()

    def purge_expired_rsp_sessions(self, session: Session) -> int:
        result = session.execute(delete(RspSession).where(RspSession.expires_at < self.clock()))
        return result.rowcount or 0

    # -- notifications -------------------------------------------------------------------------

    def record_notification(
        self,
        session: Session,
        *,
        event_: str,
        raw: bytes,
        seq: int | None = None,
        eid: str | None = None,
        iccid: str | None = None,
        result: str | None = None,
    ) -> Notification:
        row = Notification(
            seq=seq, eid=eid, iccid=iccid, event=event_, raw=raw, result=result, received_at=self.clock()
        )
        session.add(row)
        session.flush()
        return row


def _tid(transaction_id: str | bytes) -> str:
    return to_hex(transaction_id) if isinstance(transaction_id, bytes) else transaction_id.upper()


def _subject(profile: Profile) -> order_moves.Subject:
    return order_moves.Subject(
        id=profile.id,
        iccid=profile.iccid,
        state=profile.state,
        profile_type=profile.profile_type,
        operator_name=profile.operator.name,
        callback_url=profile.operator.callback_url,
        order=profile.order,
    )
