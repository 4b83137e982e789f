"""Read-side helpers for the dormitory pages and API (eager loading, counts, pagination).

The busiest reads (the room list, the application read of the API, the worker's own stay and
applications) are column selects returning small frozen rows, one statement each, kept in the
read cache (services/core/cache.py) under the namespaces of services/dorms/caching.py, which a
flush hook touches whenever a row they show changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Integer, Select, and_, bindparam, case, func, or_, select, true
from sqlalchemy.orm import aliased, joinedload, selectinload

from services.accounts.models import Organisation, OrgKind, User
from services.core import cache
from services.core.pagination import MAX_PER_PAGE, Page, _positive_int, paginate
from services.dorms import caching
from services.dorms.models import (HOLDING_STAY, OPEN_APPLICATION, QUEUED_APPLICATION,
                                   AllocationRun, ApplicationStatus, Bed, Building,
                                   DormApplication, DormPolicy, Room, RoomStatus, Stay,
                                   StayStatus)
from services.dorms.standard import (DEFAULT_MAX_BEDS_PER_ROOM, DEFAULT_MIN_AREA_PER_PERSON,
                                     compliant_beds)
from services.extensions import db


def parks() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.PARK)
                                   .order_by(Organisation.name)))


# The busy statements are built once (with bound parameters) rather than per request:
# assembling joins, aliases and subqueries costs more Python than running them.

@lru_cache(maxsize=None)
def _buildings_statement() -> Select:
    return (select(Building.code, Building.name).where(Building.park_id == bindparam("park_id"))
            .order_by(Building.code))


def buildings(park_id: int) -> tuple:
    """(code, name) of the park's buildings, by code."""
    return cache.cached(
        f"dorms:buildings:{park_id}",
        lambda: tuple(db.session.execute(_buildings_statement(), {"park_id": park_id}).all()),
        depends_on=caching.park_namespaces(park_id))


@dataclass(frozen=True)
class StayLine:
    """A worker's holding stay, as their pages show it."""

    id: int
    status: StayStatus
    park_name: str
    building: str
    room: str
    bed: str

    @property
    def room_label(self) -> str:
        return f"{self.building}-{self.room}"

    @property
    def bed_label(self) -> str:
        return f"{self.building}-{self.room}-{self.bed}"


@dataclass(frozen=True)
class ApplicationLine:
    id: int
    park_name: str
    status: ApplicationStatus
    submitted_at: datetime


@lru_cache(maxsize=None)
def _applications_statement(limited: bool) -> Select:
    statement = (select(DormApplication.id, Organisation.name, DormApplication.status,
                        DormApplication.submitted_at)
                 .join(Organisation, Organisation.id == DormApplication.park_id)
                 .where(DormApplication.worker_id == bindparam("worker_id"))
                 .order_by(DormApplication.id.desc()))
    return statement.limit(bindparam("limit", type_=Integer)) if limited else statement


def my_applications(worker_id: int, *, limit: int | None = None) -> tuple[ApplicationLine, ...]:
    """The worker's applications, newest first, with their park's name."""
    def read() -> tuple[ApplicationLine, ...]:
        rows = db.session.execute(_applications_statement(limit is not None),
                                  {"worker_id": worker_id, "limit": limit})
        return tuple(ApplicationLine(*row) for row in rows)

    return cache.cached(f"dorms:applications-of:{worker_id}:{limit}", read,
                        depends_on=caching.worker_namespaces(worker_id))


@lru_cache(maxsize=None)
def _stay_statement() -> Select:
    return (select(Stay.id, Stay.status, Organisation.name, Building.code, Room.number, Bed.label)
            .join(Bed, Bed.id == Stay.bed_id).join(Room, Room.id == Bed.room_id)
            .join(Building, Building.id == Room.building_id)
            .join(Organisation, Organisation.id == Building.park_id)
            .where(Stay.worker_id == bindparam("worker_id"), Stay.status.in_(HOLDING_STAY)))


def current_stay(worker_id: int) -> StayLine | None:
    """The worker's holding stay with its park, building, room and bed (one query)."""
    def read() -> StayLine | None:
        row = db.session.execute(_stay_statement(), {"worker_id": worker_id}).first()
        return StayLine(*row) if row else None

    return cache.cached(f"dorms:stay-of:{worker_id}", read,
                        depends_on=caching.worker_namespaces(worker_id))


def stay_for_application(application_id: int) -> Stay | None:
    return db.session.scalar(
        select(Stay).where(Stay.application_id == application_id)
        .options(selectinload(Stay.bed).selectinload(Bed.room).selectinload(Room.building))
        .order_by(Stay.id.desc()).limit(1))


@dataclass(frozen=True)
class ApplicationRead:
    """An application with its queue position and its latest stay (the offer), for the API."""

    id: int
    worker_id: int
    park_id: int
    status: ApplicationStatus
    points: float
    points_breakdown: tuple
    reason_code: str | None
    reason_detail: dict | None
    queue_position: int | None
    stay_id: int | None
    stay_status: StayStatus | None
    offer_expires_at: datetime | None
    room_label: str | None
    bed_label: str | None
    rent_fen: int | None


@lru_cache(maxsize=None)
def _application_statement() -> Select:
    other = aliased(DormApplication)
    ahead = (select(func.count()).select_from(other).where(
        other.park_id == DormApplication.park_id, other.status.in_(QUEUED_APPLICATION),
        other.id != DormApplication.id,
        or_(other.points > DormApplication.points,
            and_(other.points == DormApplication.points, other.lottery < DormApplication.lottery)))
        .correlate(DormApplication).scalar_subquery())
    latest_stay = (select(func.max(Stay.id)).where(Stay.application_id == DormApplication.id)
                   .correlate(DormApplication).scalar_subquery())
    return (select(DormApplication.id, DormApplication.worker_id, DormApplication.park_id,
                   DormApplication.status, DormApplication.points,
                   DormApplication.points_breakdown, DormApplication.reason_code,
                   DormApplication.reason_detail,
                   case((DormApplication.status.in_(QUEUED_APPLICATION), ahead + 1)),
                   Stay.id, Stay.status, Stay.offer_expires_at, Building.code, Room.number,
                   Bed.label, Room.rent_fen)
            .outerjoin(Stay, Stay.id == latest_stay).outerjoin(Bed, Bed.id == Stay.bed_id)
            .outerjoin(Room, Room.id == Bed.room_id)
            .outerjoin(Building, Building.id == Room.building_id)
            .where(DormApplication.id == bindparam("application_id")))


def application_read(application_id: int) -> ApplicationRead | None:
    """The application, its place in the queue (while it waits) and its latest stay's bed."""
    return cache.cached(f"dorms:application:{application_id}",
                        lambda: _application_read(application_id), depends_on=(caching.ANY,))


def _application_read(application_id: int) -> ApplicationRead | None:
    row = db.session.execute(_application_statement(),
                             {"application_id": application_id}).first()
    if row is None:
        return None
    (app_id, worker_id, park_id, status, points, breakdown, reason_code, reason_detail, position,
     stay_id, stay_status, expires_at, building, room, bed, rent_fen) = row
    room_label = f"{building}-{room}" if stay_id is not None else None
    return ApplicationRead(
        id=app_id, worker_id=worker_id, park_id=park_id, status=status, points=points,
        points_breakdown=tuple(breakdown or ()), reason_code=reason_code,
        reason_detail=reason_detail, queue_position=position, stay_id=stay_id,
        stay_status=stay_status, offer_expires_at=expires_at, room_label=room_label,
        bed_label=f"{room_label}-{bed}" if room_label else None, rent_fen=rent_fen)


@dataclass(frozen=True)
class BedLine:
    id: int
    label: str
    stay_status: str | None  # None: vacant
    holder: str | None  # the holder's name (or username): no phone or ID number is read


@dataclass(frozen=True)
class RoomLine:
    id: int
    building: str
    number: str
    gender: str
    kind: str
    capacity: int
    smoking: bool
    area_m2: Decimal
    rent_fen: int
    status: str
    reserved_for_code: str | None
    reserved_for_name: str | None
    compliant_capacity: int
    beds: tuple[BedLine, ...]

    @property
    def label(self) -> str:
        return f"{self.building}-{self.number}"


def rooms_page(*, park_id: int, building: str = "", vacant: bool = False, page=1,
               per_page=50) -> Page:
    """Rooms of a park (by building and number) with their beds, holders and the number of
    beds the standard allows; `building` and `vacant` (open, a bed free) filter them."""
    page_no = min(_positive_int(page, 1), 10**6)
    size = min(_positive_int(per_page, 50), MAX_PER_PAGE)
    code = building.upper()[:20]
    rooms, total = cache.cached(
        f"dorms:rooms:{park_id}:{code}:{int(bool(vacant))}:{page_no}:{size}",
        lambda: _rooms_page(park_id, code, bool(vacant), page_no, size),
        depends_on=caching.park_namespaces(park_id))
    return Page(items=list(rooms), page=page_no, per_page=size, total=total)


@lru_cache(maxsize=None)
def _rooms_statements(by_building: bool, vacant: bool) -> tuple[Select, Select]:
    """The page's rooms (counted by a window over all that match) with their beds and each
    bed's holding stay; and the count alone, for a page past the last."""
    matching = (select(Room.id).join(Building, Building.id == Room.building_id)
                .where(Building.park_id == bindparam("park_id")))
    if by_building:
        matching = matching.where(Building.code == bindparam("code"))
    if vacant:
        held = (select(func.count()).select_from(Stay).join(Bed, Bed.id == Stay.bed_id)
                .where(Bed.room_id == Room.id, Stay.status.in_(HOLDING_STAY))
                .correlate(Room).scalar_subquery())
        matching = matching.where(Room.status == RoomStatus.OPEN, held < Room.capacity)
    chosen = (matching.add_columns(Building.code.label("building"), Room.number, Room.gender,
                                   Room.kind, Room.capacity, Room.smoking, Room.area_m2,
                                   Room.rent_fen, Room.status, Room.reserved_for_id,
                                   func.count().over().label("total"))
              .order_by(Building.code, Room.number)
              .limit(bindparam("size", type_=Integer)).offset(bindparam("skip", type_=Integer))
              .subquery("chosen"))
    policy = (select(DormPolicy.min_area_per_person, DormPolicy.max_beds_per_room)
              .where(DormPolicy.park_id == bindparam("park_id")).subquery("policy"))
    holder, reserved = aliased(User), aliased(Organisation)
    page = (select(chosen, Bed.id.label("bed_id"), Bed.label.label("bed_label"),
                   Stay.status.label("stay_status"), holder.name.label("holder_name"),
                   holder.username.label("holder_username"), reserved.code.label("reserved_code"),
                   reserved.name.label("reserved_name"), policy.c.min_area_per_person,
                   policy.c.max_beds_per_room)
            .select_from(chosen)
            .outerjoin(policy, true())
            .outerjoin(Bed, Bed.room_id == chosen.c.id)
            .outerjoin(Stay, and_(Stay.bed_id == Bed.id, Stay.status.in_(HOLDING_STAY)))
            .outerjoin(holder, holder.id == Stay.worker_id)
            .outerjoin(reserved, reserved.id == chosen.c.reserved_for_id)
            .order_by(chosen.c.building, chosen.c.number, Bed.label))
    return page, select(func.count()).select_from(matching.subquery())


def _rooms_page(park_id: int, code: str, vacant: bool, page_no: int,
                size: int) -> tuple[tuple[RoomLine, ...], int]:
    page, count = _rooms_statements(bool(code), vacant)
    parameters = {"park_id": park_id, "code": code, "size": size, "skip": (page_no - 1) * size}
    rows = db.session.execute(page, parameters).all()
    if not rows:  # no room matches, or the page is past the last: only then count apart
        return (), 0 if page_no == 1 else db.session.scalar(count, parameters) or 0
    rooms: list[RoomLine] = []
    beds: list[BedLine] = []
    for index, row in enumerate(rows):
        if row.bed_id is not None:
            held = row.stay_status is not None
            beds.append(BedLine(row.bed_id, row.bed_label, row.stay_status.value if held else None,
                                (row.holder_name or row.holder_username) if held else None))
        if index + 1 == len(rows) or rows[index + 1].id != row.id:
            rooms.append(RoomLine(
                id=row.id, building=row.building, number=row.number, gender=row.gender.value,
                kind=row.kind.value, capacity=row.capacity, smoking=row.smoking,
                area_m2=row.area_m2, rent_fen=row.rent_fen, status=row.status.value,
                reserved_for_code=row.reserved_code, reserved_for_name=row.reserved_name,
                compliant_capacity=compliant_beds(
                    area_m2=row.area_m2, capacity=row.capacity,
                    min_area_per_person=row.min_area_per_person or DEFAULT_MIN_AREA_PER_PERSON,
                    max_beds_per_room=row.max_beds_per_room or DEFAULT_MAX_BEDS_PER_ROOM),
                beds=tuple(beds)))
            beds = []
    return tuple(rooms), rows[0].total


def queue_page(*, park_id: int, page=1, per_page=50) -> Page:
    query = (select(DormApplication).where(DormApplication.park_id == park_id,
                                           DormApplication.status.in_(OPEN_APPLICATION))
             .options(selectinload(DormApplication.worker))
             .order_by(DormApplication.points.desc(), DormApplication.lottery, DormApplication.id))
    return paginate(query, page=page, per_page=per_page)


def runs(park_id: int, limit: int = 20) -> list[AllocationRun]:
    """The park's latest runs, with their jobs (whether a run failed) in the same statement."""
    return list(db.session.scalars(select(AllocationRun).options(joinedload(AllocationRun.job))
                                   .where(AllocationRun.park_id == park_id)
                                   .order_by(AllocationRun.id.desc()).limit(limit)))


def overview(park_id: int) -> dict:
    """Counts for the manager's dashboard, in a fixed number of queries."""
    beds = db.session.execute(
        select(func.count(Bed.id)).join(Room).join(Building)
        .where(Building.park_id == park_id, Room.status == RoomStatus.OPEN)).scalar() or 0
    by_status = dict(db.session.execute(
        select(Stay.status, func.count(Stay.id)).join(Bed, Bed.id == Stay.bed_id).join(Room)
        .join(Building).where(Building.park_id == park_id, Stay.status.in_(HOLDING_STAY))
        .group_by(Stay.status)).all())
    queue = db.session.scalar(select(func.count(DormApplication.id)).where(
        DormApplication.park_id == park_id, DormApplication.status.in_(QUEUED_APPLICATION))) or 0
    held = sum(by_status.values())
    return {"beds": beds, "held": held, "vacant": max(0, beds - held), "queue": queue,
            "offered": by_status.get(StayStatus.OFFERED, 0),
            "reserved": by_status.get(StayStatus.RESERVED, 0),
            "active": by_status.get(StayStatus.ACTIVE, 0)}


def stays_page(*, park_id: int, status: StayStatus, page=1, per_page=50) -> Page:
    query = (select(Stay).join(Bed, Bed.id == Stay.bed_id).join(Room).join(Building)
             .where(Building.park_id == park_id, Stay.status == status)
             .options(selectinload(Stay.worker),
                      selectinload(Stay.bed).selectinload(Bed.room).selectinload(Room.building))
             .order_by(Building.code, Room.number, Bed.label))
    return paginate(query, page=page, per_page=per_page)
