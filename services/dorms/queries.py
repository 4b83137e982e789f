"""Read-side helpers for the dormitory pages and API (eager loading, counts, pagination)."""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager, joinedload, load_only, selectinload

from services.accounts.models import Organisation, OrgKind, User
from services.core.pagination import Page, paginate
from services.dorms.models import (HOLDING_STAY, OPEN_APPLICATION, QUEUED_APPLICATION,
                                   AllocationRun, Bed, Building, DormApplication, Room, RoomStatus,
                                   Stay, StayStatus)
from services.extensions import db


def parks() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.PARK)
                                   .order_by(Organisation.name)))


def buildings(park_id: int) -> list[Building]:
    return list(db.session.scalars(select(Building).where(Building.park_id == park_id)
                                   .order_by(Building.code)))


def my_applications(worker_id: int, *, limit: int | None = None) -> list[DormApplication]:
    return list(db.session.scalars(
        select(DormApplication).where(DormApplication.worker_id == worker_id)
        .options(joinedload(DormApplication.park).lazyload(Organisation.park))
        .order_by(DormApplication.id.desc()).limit(limit)))


def current_stay(worker_id: int) -> Stay | None:
    """The worker's holding stay with its bed, room and building (one query)."""
    return db.session.scalar(
        select(Stay).where(Stay.worker_id == worker_id, Stay.status.in_(HOLDING_STAY))
        .options(joinedload(Stay.bed).joinedload(Bed.room).joinedload(Room.building)))


def stay_for_application(application_id: int) -> Stay | None:
    return db.session.scalar(
        select(Stay).where(Stay.application_id == application_id)
        .options(selectinload(Stay.bed).selectinload(Bed.room).selectinload(Room.building))
        .order_by(Stay.id.desc()).limit(1))


def rooms_page(*, park_id: int, building: str = "", vacant: bool = False, page=1,
               per_page=50) -> tuple[Page, dict[int, Stay]]:
    """Rooms of a park with their beds, and the holding stay of each bed (two queries more)."""
    query: Select = (select(Room).join(Building).where(Building.park_id == park_id)
                     .options(selectinload(Room.beds), contains_eager(Room.building),
                              joinedload(Room.reserved_for).lazyload(Organisation.park))
                     .order_by(Building.code, Room.number))
    if building:
        query = query.where(Building.code == building.upper()[:20])
    if vacant:
        held = (select(func.count(Stay.id)).join(Bed, Bed.id == Stay.bed_id)
                .where(Bed.room_id == Room.id, Stay.status.in_(HOLDING_STAY)).scalar_subquery())
        query = query.where(Room.status == RoomStatus.OPEN, held < Room.capacity)
    result = paginate(query, page=page, per_page=per_page)
    room_ids = [room.id for room in result.items]
    holds = {}
    if room_ids:  # the holder's name only: no phone or ID number is read (or decrypted)
        holds = {stay.bed_id: stay for stay in db.session.scalars(
            select(Stay).join(Bed, Bed.id == Stay.bed_id)
            .where(Bed.room_id.in_(room_ids), Stay.status.in_(HOLDING_STAY))
            .options(load_only(Stay.id, Stay.bed_id, Stay.status, Stay.worker_id),
                     selectinload(Stay.worker).load_only(User.id, User.name, User.username)
                     .lazyload(User.org)))}
    return result, holds


def queue_page(*, park_id: int, page=1, per_page=50) -> Page:
    query = (select(DormApplication).where(DormApplication.park_id == park_id,
                                           DormApplication.status.in_(OPEN_APPLICATION))
             .options(selectinload(DormApplication.worker))
             .order_by(DormApplication.points.desc(), DormApplication.lottery, DormApplication.id))
    return paginate(query, page=page, per_page=per_page)


def runs(park_id: int, limit: int = 20) -> list[AllocationRun]:
    return list(db.session.scalars(select(AllocationRun).where(AllocationRun.park_id == park_id)
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
