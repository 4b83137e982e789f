"""Read-side helpers for booking pages and the API, and the loaders that check who may see what.

Loaders answer 404 (never 403) when the caller may not see the object, so nothing leaks: a
worker sees only their own bookings, provider staff only their organisation's services.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, or_, select, true
from sqlalchemy.orm import lazyload

from services.bookings.models import (Booking, BookingStatus, Category, Service, Slot, Suspension,
                                      as_utc)
from services.core.access import Role, visible_or_404
from services.core.audit import utcnow
from services.core.pagination import Page, paginate
from services.extensions import db

BOOKABLE_PREVIEW = 4


def _open_slots(now: datetime):
    return and_(Slot.closes_at > now, Slot.opens_at <= now)


def services_page(*, search: str = "", category: str = "", free_only: bool = False, page=1,
                  per_page=20, now: datetime | None = None) -> Page:
    """Active services, those with bookable slots first; optional text, category and free filter."""
    now = now or utcnow()
    query: Select = select(Service).where(Service.active.is_(True))
    if category in {c.value for c in Category}:
        query = query.where(Service.category == Category(category))
    search = (search or "").replace("\x00", "").strip()[:60]
    if search:
        like = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Service.title.ilike(like), Service.description.ilike(like),
                                Service.location.ilike(like)))
    has_free = exists().where(Slot.service_id == Service.id, _open_slots(now),
                              Slot.booked_count < Slot.capacity)
    if free_only:
        query = query.where(has_free)
    # starts_at > now is implied by closes_at > now (a slot closes before it starts, a CHECK
    # constraint) and lets the (service_id, starts_at) index find the first slot at once.
    next_start = (select(func.min(Slot.starts_at)).where(Slot.service_id == Service.id,
                                                         Slot.starts_at > now,
                                                         Slot.closes_at > now)
                  .correlate(Service).scalar_subquery())
    query = query.order_by(next_start.is_(None), next_start, Service.id)
    return paginate(query, page=page, per_page=per_page)


def upcoming_slots(service_ids: list[int], *, limit: int = BOOKABLE_PREVIEW,
                   now: datetime | None = None) -> dict[int, list[Slot]]:
    """The next slots still open for booking, per service."""
    now = now or utcnow()
    found: dict[int, list[Slot]] = defaultdict(list)
    if not service_ids:
        return found
    # The first `limit` future slots of each service. A service may have thousands of them:
    # PostgreSQL reads only those few through a LATERAL join on the (service_id, starts_at)
    # index; SQLite (small data, no LATERAL) numbers them with a window function.
    future = (Slot.starts_at > now, Slot.closes_at > now)
    if db.session.get_bind().dialect.name == "postgresql":
        first = (select(Slot.id).where(Slot.service_id == Service.id, *future)
                 .order_by(Slot.starts_at, Slot.id).limit(limit).lateral())
        firsts = (select(first.c.id).select_from(Service).join(first, true())
                  .where(Service.id.in_(service_ids)))
    else:
        numbered = (select(Slot.id, func.row_number().over(
            partition_by=Slot.service_id, order_by=(Slot.starts_at, Slot.id)).label("n"))
            .where(Slot.service_id.in_(service_ids), *future).subquery())
        firsts = select(numbered.c.id).where(numbered.c.n <= limit)
    rows = db.session.scalars(select(Slot).where(Slot.id.in_(firsts))
                              .options(lazyload(Slot.service)).order_by(Slot.starts_at, Slot.id))
    for slot in rows:
        found[slot.service_id].append(slot)
    return found


def free_seats(service_ids: list[int], *, now: datetime | None = None) -> dict[int, int]:
    now = now or utcnow()
    if not service_ids:
        return {}
    rows = db.session.execute(
        select(Slot.service_id, func.sum(Slot.capacity - Slot.booked_count))
        .where(Slot.service_id.in_(service_ids), _open_slots(now)).group_by(Slot.service_id))
    return {service_id: int(total or 0) for service_id, total in rows}


def slots_of(service: Service, *, upcoming: bool = True, still_bookable: bool = False,
             now: datetime | None = None, limit: int = 200) -> list[Slot]:
    now = now or utcnow()
    query = select(Slot).where(Slot.service_id == service.id)
    if still_bookable:
        query = query.where(Slot.closes_at > now).order_by(Slot.starts_at, Slot.id)
    elif upcoming:
        query = query.where(Slot.ends_at > now).order_by(Slot.starts_at, Slot.id)
    else:
        query = query.where(Slot.ends_at <= now).order_by(Slot.starts_at.desc(), Slot.id)
    return list(db.session.scalars(query.limit(limit)))


def my_live_bookings(worker_id: int, slot_ids: list[int]) -> dict[int, Booking]:
    """The worker's live booking per slot (for "you have booked this" on slot lists)."""
    if not slot_ids:
        return {}
    rows = db.session.scalars(select(Booking).where(
        Booking.worker_id == worker_id, Booking.slot_id.in_(slot_ids),
        Booking.status.not_in((BookingStatus.CANCELLED, BookingStatus.EXPIRED,
                               BookingStatus.NOT_DRAWN))))
    return {booking.slot_id: booking for booking in rows}


def my_bookings(worker_id: int, *, now: datetime | None = None) -> tuple[list, list]:
    """(upcoming, past) bookings of the worker, soonest first / latest first."""
    now = now or utcnow()
    rows = list(db.session.scalars(
        select(Booking).join(Slot, Booking.slot_id == Slot.id)
        .where(Booking.worker_id == worker_id).order_by(Slot.starts_at, Booking.id)))
    upcoming = [b for b in rows if as_utc(b.slot.ends_at) > now
                and b.status not in (BookingStatus.CANCELLED, BookingStatus.EXPIRED,
                                     BookingStatus.NOT_DRAWN)]
    past = [b for b in reversed(rows) if b not in upcoming]
    return upcoming, past[:50]


def next_bookings(worker_id: int, *, limit: int = 3, now: datetime | None = None) -> list:
    """The worker's next live bookings for the home panel: (id, status, starts_at, title) rows."""
    now = now or utcnow()
    return list(db.session.execute(
        select(Booking.id, Booking.status, Slot.starts_at, Service.title)
        .join(Slot, Booking.slot_id == Slot.id).join(Service, Service.id == Slot.service_id)
        .where(Booking.worker_id == worker_id, Slot.ends_at > now,
               Booking.status.not_in((BookingStatus.CANCELLED, BookingStatus.EXPIRED,
                                      BookingStatus.NOT_DRAWN)))
        .order_by(Slot.starts_at, Booking.id).limit(limit)))


def waitlist_position(booking: Booking) -> int | None:
    if booking.status is not BookingStatus.WAITLISTED:
        return None
    ahead = db.session.scalar(select(func.count(Booking.id)).where(
        Booking.slot_id == booking.slot_id, Booking.status == BookingStatus.WAITLISTED,
        Booking.id < booking.id)) or 0
    return ahead + 1


def suspensions_of(worker_id: int, *, now: datetime | None = None) -> list[Suspension]:
    now = now or utcnow()
    return list(db.session.scalars(select(Suspension).where(
        Suspension.worker_id == worker_id, Suspension.until > now,
        Suspension.lifted_at.is_(None))))


# --- loaders that check access (404 when the caller may not see the object) -----------------

def visible_service_or_404(service_id: int, user) -> Service:
    """Workers and other staff see active services; provider staff also their own inactive ones."""
    service = db.session.get(Service, service_id)
    return visible_or_404(service, lambda s: s.active or (
        user.role is Role.PROVIDER and user.org_id == s.provider_id))


def own_service_or_404(service_id: int, user) -> Service:
    service = db.session.get(Service, service_id)
    return visible_or_404(service, lambda s: user.role is Role.PROVIDER
                          and user.org_id == s.provider_id)


def own_slot_or_404(slot_id: int, user) -> Slot:
    slot = db.session.get(Slot, slot_id)
    return visible_or_404(slot, lambda s: user.role is Role.PROVIDER
                          and user.org_id == s.service.provider_id)


def own_booking_or_404(booking_id: int, user) -> Booking:
    """A worker's own booking."""
    booking = db.session.get(Booking, booking_id)
    return visible_or_404(booking, lambda b: b.worker_id == user.id)


def handled_booking_or_404(booking_id: int, user) -> Booking:
    """A booking of a service run by the provider staff member's organisation."""
    booking = db.session.get(Booking, booking_id)
    return visible_or_404(booking, lambda b: user.role is Role.PROVIDER
                          and user.org_id == b.slot.service.provider_id)


# --- provider side ---------------------------------------------------------------------------

def provider_services(org_id: int) -> list[Service]:
    return list(db.session.scalars(select(Service).where(Service.provider_id == org_id)
                                   .order_by(Service.active.desc(), Service.title)))


def attendance_list(slot: Slot) -> list[Booking]:
    order = {BookingStatus.BOOKED: 0, BookingStatus.ATTENDED: 1, BookingStatus.NO_SHOW: 2,
             BookingStatus.REQUESTED: 3, BookingStatus.WAITLISTED: 4}
    rows = list(db.session.scalars(select(Booking).where(Booking.slot_id == slot.id)
                                   .order_by(Booking.id)))
    return sorted(rows, key=lambda b: (order.get(b.status, 9), b.id))


def todays_slots(org_id: int, *, now: datetime | None = None, limit: int = 8) -> list[Slot]:
    now = now or utcnow()
    return list(db.session.scalars(
        select(Slot).join(Service, Slot.service_id == Service.id)
        .where(Service.provider_id == org_id, Slot.ends_at > now)
        .order_by(Slot.starts_at, Slot.id).limit(limit)))


def service_suspensions(service: Service, *, now: datetime | None = None) -> list[Suspension]:
    now = now or utcnow()
    return list(db.session.scalars(select(Suspension).where(
        Suspension.service_id == service.id, Suspension.until > now,
        Suspension.lifted_at.is_(None)).order_by(Suspension.until)))


def own_suspension_or_404(suspension_id: int, user) -> Suspension:
    suspension = db.session.get(Suspension, suspension_id)
    return visible_or_404(suspension, lambda s: user.role is Role.PROVIDER
                          and user.org_id == s.service.provider_id and s.lifted_at is None)
