"""The park manager's dormitory dashboard and its exports: every figure is one GROUP BY in SQL.

Definitions (the dashboard's footnote repeats them):

- *beds* are the beds of **open** rooms (rooms in maintenance or closed offer no bed);
- a bed is *held* when a stay holds it (offered, reserved or active: one at most, by the partial
  unique index), and *living in* when that stay is active; *vacant* = beds − held;
- occupancy *by enterprise* groups the holding stays by the occupant's employer (the worker's
  organisation); workers without one (gig workers) form their own row;
- the *queue* is the applications still waiting for an offer (submitted or waitlisted); *days
  waiting* counts whole days since the application was submitted (UTC); the median of an even
  count is the mean of the two middle values;
- an offer is *expiring* when it ends within the next 24 hours, *overdue* when its time has passed
  and the sweep has not expired it yet;
- a room is *out of standard* when its capacity is above its compliant capacity
  (`operations.inventory.compliant_capacity`): capacity × minimum area per person > area, or
  capacity > the park's maximum beds per room. SQL compares in hundredths of m², as integers, so
  no float rounding decides a borderline room.

The number of statements does not grow with the park: a test holds the dashboard to a fixed
budget. Exports hold no phone or ID number, and a text cell starting with = + - @ is kept as text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from services.accounts.models import Organisation, User
from services.core.audit import utcnow
from services.core.pagination import MAX_PER_PAGE, Page, _positive_int
from services.dorms.models import (HOLDING_STAY, QUEUED_APPLICATION, ApplicationStatus, Bed,
                                   Building, DormApplication, DormPolicy, Room, RoomGender,
                                   RoomKind, RoomStatus, Stay, StayStatus)
from services.dorms.operations.inventory import compliant_capacity, policy_for
from services.core.tabular import csv_text, safe_cell, xlsx_bytes  # noqa: F401  (safe_cell re-exported)
from services.extensions import db

EXPIRING_WITHIN = timedelta(hours=24)
ROOM_COLUMNS = ("building", "room", "floor", "kind", "gender", "status", "capacity",
                "compliant_capacity", "out_of_standard", "beds", "held", "living_in", "vacant",
                "reserved_for")
QUEUE_COLUMNS = ("application_id", "points", "submitted_on", "days_waiting", "status")


# --- dashboard figures ------------------------------------------------------------------------

@dataclass
class Occupancy:
    """Beds, held and living-in beds of one group (a building, a room kind, an employer…)."""

    key: str
    beds: int = 0
    held: int = 0
    living_in: int = 0

    @property
    def vacant(self) -> int:
        return max(0, self.beds - self.held)

    @property
    def percent(self) -> int | None:
        return (self.held * 100) // self.beds if self.beds else None

    def add(self, beds: int, held: int, living_in: int) -> None:
        self.beds += beds
        self.held += held
        self.living_in += living_in


@dataclass
class Dashboard:
    total: Occupancy
    by_building: list[Occupancy]
    by_kind: list[Occupancy]
    by_gender: list[Occupancy]
    by_employer: list[Occupancy]
    queue_length: int
    median_days_waiting: float | None
    longest_days_waiting: int | None
    offers_pending: int
    offers_expiring: int
    offers_overdue: int
    out_of_standard: int
    out_of_standard_rooms: list[dict] = field(default_factory=list)

    @property
    def top_beds(self) -> int:
        """The longest bar of the building/kind charts (at least 1: no division by zero)."""
        return max([o.beds for o in self.by_building + self.by_kind] + [1])

    @property
    def top_employer(self) -> int:
        return max([o.held for o in self.by_employer] + [1])


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _holding_join():
    """ON clause of the outer join bed → its (at most one) holding stay."""
    return and_(Stay.bed_id == Bed.id, Stay.status.in_(HOLDING_STAY))


def _occupancy_groups(park_id: int) -> list[tuple]:
    """(building, kind, gender, beds, held, living in) per group of open rooms: one GROUP BY."""
    query = (
        select(Building.code, Room.kind, Room.gender, func.count(Bed.id), func.count(Stay.id),
               _count_if(Stay.status == StayStatus.ACTIVE))
        .select_from(Building)
        .outerjoin(Room, and_(Room.building_id == Building.id, Room.status == RoomStatus.OPEN))
        .outerjoin(Bed, Bed.room_id == Room.id)
        .outerjoin(Stay, _holding_join())
        .where(Building.park_id == park_id)
        .group_by(Building.code, Room.kind, Room.gender)
    )
    return list(db.session.execute(query).all())


def _roll_up(groups: list[tuple], index: int, keys: Iterable[str] = ()) -> list[Occupancy]:
    """Sum the SQL groups by one of their keys (a handful of rows, never one per room)."""
    out = {key: Occupancy(key) for key in keys}
    for row in groups:
        value = row[index]
        if value is None:  # the row of a building without an open room
            continue
        key = getattr(value, "value", value)
        out.setdefault(key, Occupancy(key)).add(*map(int, row[3:6]))
    return list(out.values())


def _by_employer(park_id: int) -> list[Occupancy]:
    employer = aliased(Organisation)
    query = (
        select(employer.name, func.count(Stay.id), _count_if(Stay.status == StayStatus.ACTIVE))
        .select_from(Stay)
        .join(Bed, Bed.id == Stay.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id)
        .join(User, User.id == Stay.worker_id)
        .outerjoin(employer, employer.id == User.org_id)
        .where(Building.park_id == park_id, Stay.status.in_(HOLDING_STAY))
        .group_by(employer.id, employer.name)
        .order_by(func.count(Stay.id).desc(), employer.name)
    )
    return [Occupancy(name or "", held=int(held), living_in=int(active))
            for name, held, active in db.session.execute(query)]


def _days_since(moment: datetime | None, now: datetime) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0, (now.date() - moment.astimezone(timezone.utc).date()).days)


def _queue_figures(park_id: int, now: datetime) -> tuple[int, float | None, int | None]:
    """Queue length, median and longest days waiting: two statements, whatever the length."""
    waiting = and_(DormApplication.park_id == park_id,
                   DormApplication.status.in_(QUEUED_APPLICATION))
    length, oldest = db.session.execute(
        select(func.count(DormApplication.id), func.min(DormApplication.submitted_at))
        .where(waiting)).one()
    if not length:
        return 0, None, None
    middle = list(db.session.scalars(
        select(DormApplication.submitted_at).where(waiting)
        .order_by(DormApplication.submitted_at, DormApplication.id)
        .offset((length - 1) // 2).limit(2 if length % 2 == 0 else 1)))
    days = [_days_since(moment, now) for moment in middle]
    return int(length), sum(days) / len(days), _days_since(oldest, now)


def _offer_figures(park_id: int, now: datetime) -> tuple[int, int, int]:
    expires = Stay.offer_expires_at
    pending, expiring, overdue = db.session.execute(
        select(func.count(Stay.id),
               _count_if(and_(expires > now, expires <= now + EXPIRING_WITHIN)),
               _count_if(expires <= now))
        .join(Bed, Bed.id == Stay.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id)
        .where(Building.park_id == park_id, Stay.status == StayStatus.OFFERED)).one()
    return int(pending), int(expiring), int(overdue)


def out_of_standard_clause(policy: DormPolicy):
    """SQL for `capacity > compliant_capacity(room, policy)`, in integer hundredths of m²."""
    area_cents = int((Decimal(policy.min_area_per_person) * 100).to_integral_value())
    return or_(Room.capacity * area_cents > func.round(Room.area_m2 * 100),
               Room.capacity > policy.max_beds_per_room)


def dashboard(park_id: int, *, now: datetime | None = None, listed: int = 10) -> Dashboard:
    """Every figure of the dashboard page, in a fixed number of statements."""
    now = now or utcnow()
    policy = policy_for(park_id)
    groups = _occupancy_groups(park_id)
    total = Occupancy("total")
    for row in groups:
        total.add(*map(int, row[3:6]))
    length, median, longest = _queue_figures(park_id, now)
    pending, expiring, overdue = _offer_figures(park_id, now)
    over = rooms_list(park_id=park_id, filters=RoomFilters(over_standard=True), per_page=listed,
                      policy=policy)
    return Dashboard(
        total=total,
        by_building=sorted(_roll_up(groups, 0), key=lambda o: o.key),
        by_kind=_roll_up(groups, 1, keys=[k.value for k in RoomKind]),
        by_gender=_roll_up(groups, 2, keys=[g.value for g in RoomGender]),
        by_employer=_by_employer(park_id),
        queue_length=length, median_days_waiting=median, longest_days_waiting=longest,
        offers_pending=pending, offers_expiring=expiring, offers_overdue=overdue,
        out_of_standard=over.total, out_of_standard_rooms=over.items)


# --- filterable lists -------------------------------------------------------------------------

def _choice(raw: Any, enum_type) -> Any:
    try:
        return enum_type(str(raw)) if raw not in (None, "") else None
    except ValueError:
        return None  # an unknown value filters nothing rather than failing


@dataclass
class RoomFilters:
    building: str = ""
    kind: RoomKind | None = None
    gender: RoomGender | None = None
    status: RoomStatus | None = None
    vacant: bool = False
    over_standard: bool = False

    @classmethod
    def from_args(cls, args) -> RoomFilters:
        return cls(building=str(args.get("building", "")).strip().upper()[:20],
                   kind=_choice(args.get("kind"), RoomKind),
                   gender=_choice(args.get("gender"), RoomGender),
                   status=_choice(args.get("status"), RoomStatus),
                   vacant=args.get("vacant") == "1", over_standard=args.get("over_standard") == "1")

    def params(self) -> dict:
        """The filters as query-string values (for the pager and the export links)."""
        return {"building": self.building, "kind": self.kind.value if self.kind else "",
                "gender": self.gender.value if self.gender else "",
                "status": self.status.value if self.status else "",
                "vacant": "1" if self.vacant else "", "over_standard": "1" if self.over_standard else ""}


def _rooms_query(park_id: int, filters: RoomFilters, policy: DormPolicy) -> Select:
    reserved = aliased(Organisation)
    beds, held = func.count(Bed.id), func.count(Stay.id)
    query = (
        select(Building.code.label("building"), Room.number.label("room"), Room.floor,
               Room.kind, Room.gender, Room.status, Room.capacity, Room.area_m2,
               reserved.name.label("reserved_for"), beds.label("beds"), held.label("held"),
               _count_if(Stay.status == StayStatus.ACTIVE).label("living_in"))
        .select_from(Room).join(Building, Building.id == Room.building_id)
        .outerjoin(reserved, reserved.id == Room.reserved_for_id)
        .outerjoin(Bed, Bed.room_id == Room.id)
        .outerjoin(Stay, _holding_join())
        .where(Building.park_id == park_id)
        .group_by(Room.id, Building.code, Room.number, Room.floor, Room.kind, Room.gender,
                  Room.status, Room.capacity, Room.area_m2, reserved.name)
        .order_by(Building.code, Room.number)
    )
    if filters.building:
        query = query.where(Building.code == filters.building)
    if filters.kind:
        query = query.where(Room.kind == filters.kind)
    if filters.gender:
        query = query.where(Room.gender == filters.gender)
    if filters.status:
        query = query.where(Room.status == filters.status)
    if filters.vacant:
        query = query.where(Room.status == RoomStatus.OPEN).having(beds > held)
    if filters.over_standard:
        query = query.where(out_of_standard_clause(policy))
    return query


def _room_row(row, policy: DormPolicy) -> dict:
    compliant = compliant_capacity(row, policy)  # uses only area_m2 and capacity
    is_open = row.status is RoomStatus.OPEN
    return {"building": row.building, "room": row.room, "floor": row.floor,
            "kind": row.kind.value, "gender": row.gender.value, "status": row.status.value,
            "capacity": row.capacity, "compliant_capacity": compliant,
            "out_of_standard": row.capacity > compliant, "beds": int(row.beds),
            "held": int(row.held), "living_in": int(row.living_in),
            "vacant": max(0, int(row.beds) - int(row.held)) if is_open else 0,
            "reserved_for": row.reserved_for or ""}


def _page(query: Select, page: Any, per_page: Any) -> tuple[list, int, int, int]:
    """Like `core.pagination.paginate`, for queries of several columns (rows, not entities)."""
    page_no = min(_positive_int(page, 1), 10**6)
    size = min(_positive_int(per_page, 50), MAX_PER_PAGE)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.execute(query.limit(size).offset((page_no - 1) * size)).all()
    return rows, page_no, size, total


def rooms_list(*, park_id: int, filters: RoomFilters, page: Any = 1, per_page: Any = 50,
               policy: DormPolicy | None = None) -> Page:
    """One page of rooms with their occupancy and standard flag (two statements)."""
    policy = policy or policy_for(park_id)
    rows, page_no, size, total = _page(_rooms_query(park_id, filters, policy), page, per_page)
    return Page(items=[_room_row(row, policy) for row in rows], page=page_no, per_page=size,
                total=total)


def rooms_export(*, park_id: int, filters: RoomFilters) -> list[dict]:
    """Every room matching the filters, for CSV/XLSX (one statement; rows, not ORM objects)."""
    policy = policy_for(park_id)
    return [_room_row(row, policy)
            for row in db.session.execute(_rooms_query(park_id, filters, policy))]


@dataclass
class QueueFilters:
    status: ApplicationStatus | None = None
    min_days: int | None = None
    order: str = "queue"  # queue (points, lottery) or waiting (longest first)

    @classmethod
    def from_args(cls, args) -> QueueFilters:
        status = _choice(args.get("status"), ApplicationStatus)
        raw_days = str(args.get("min_days", "")).strip()
        min_days = int(raw_days) if raw_days.isdigit() and len(raw_days) <= 5 else None
        return cls(status=status if status in QUEUED_APPLICATION else None, min_days=min_days,
                   order="waiting" if args.get("order") == "waiting" else "queue")

    def params(self) -> dict:
        return {"status": self.status.value if self.status else "",
                "min_days": "" if self.min_days is None else str(self.min_days),
                "order": "" if self.order == "queue" else self.order}


def _queue_query(park_id: int, filters: QueueFilters, now: datetime) -> Select:
    query = (select(DormApplication.id, DormApplication.points, DormApplication.submitted_at,
                    DormApplication.status)
             .where(DormApplication.park_id == park_id,
                    DormApplication.status.in_([filters.status] if filters.status
                                               else QUEUED_APPLICATION)))
    if filters.min_days:
        # whole days since submission ≥ n  ⟺  submitted before the start of (today − n + 1)
        today = datetime(now.year, now.month, now.day, tzinfo=timezone.utc)
        query = query.where(DormApplication.submitted_at < today - timedelta(days=filters.min_days - 1))
    if filters.order == "waiting":
        return query.order_by(DormApplication.submitted_at, DormApplication.id)
    return query.order_by(DormApplication.points.desc(), DormApplication.lottery,
                          DormApplication.id)


def _queue_row(row, now: datetime) -> dict:
    submitted = row.submitted_at if row.submitted_at.tzinfo else row.submitted_at.replace(tzinfo=timezone.utc)
    return {"application_id": row.id, "points": row.points,
            "submitted_on": submitted.date().isoformat(),
            "days_waiting": _days_since(row.submitted_at, now), "status": row.status.value}


def queue_list(*, park_id: int, filters: QueueFilters, page: Any = 1, per_page: Any = 50,
               now: datetime | None = None) -> Page:
    """One page of the waiting applications: id, points, days waiting, status (no personal data)."""
    now = now or utcnow()
    rows, page_no, size, total = _page(_queue_query(park_id, filters, now), page, per_page)
    return Page(items=[_queue_row(row, now) for row in rows], page=page_no, per_page=size,
                total=total)


def queue_export(*, park_id: int, filters: QueueFilters, now: datetime | None = None) -> list[dict]:
    now = now or utcnow()
    return [_queue_row(row, now) for row in db.session.execute(_queue_query(park_id, filters, now))]


# --- CSV / XLSX -------------------------------------------------------------------------------

def to_csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    return csv_text(columns, ([row[key] for key in columns] for row in rows))


def to_xlsx(rows: list[dict], columns: tuple[str, ...], title: str) -> bytes:
    return xlsx_bytes(columns, ([row[key] for key in columns] for row in rows), title=title)
