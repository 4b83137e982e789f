"""Read-side helpers for booking pages and the API, and the loaders that check who may see what.

Loaders answer 404 (never 403) when the caller may not see the object, so nothing leaks: a
worker sees only their own bookings, provider staff only their organisation's services.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (DateTime, Integer, String, and_, bindparam, case, exists, func, null,
                        or_, select, true)
from sqlalchemy.orm import joinedload

from services.accounts.models import Organisation
from services.accounts.sessions import ORGS_NAMESPACE
from services.bookings.models import (CATALOGUE_NS, CLOSED, SERVICES_NS, Booking, BookingStatus,
                                      Category, Mode, Service, Slot, SlotFigures, Suspension,
                                      as_utc, worker_bookings_ns)
from services.core import cache
from services.core.access import Role, visible_or_404
from services.core.audit import utcnow
from services.core.pagination import MAX_PER_PAGE, Paged
from services.extensions import db

BOOKABLE_PREVIEW = 4
NEXT_FETCH = 20  # the home panel caches this many of a worker's bookings ahead, filtered by now
CACHED_PAGES = 50  # catalogue pages cached per filter; deeper pages and searches are read directly

# The catalogue shows the providers' names: a renamed organisation shows at once too.
CATALOGUE_DEPENDS = (CATALOGUE_NS, ORGS_NAMESPACE)


def _future(now: datetime) -> tuple:
    # starts_at > now is implied by closes_at > now (a slot closes before it starts, a CHECK
    # constraint) and lets the (service_id, starts_at) index find the first slots at once.
    return (Slot.starts_at > now, Slot.closes_at > now)


@dataclass(frozen=True, slots=True)
class SlotBrief(SlotFigures):
    """A slot as lists show it (plain data, shared by the requests of a process)."""

    id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked_count: int
    opens_at: datetime
    closes_at: datetime
    draw_at: datetime | None
    lottery_seed: str | None
    drawn_at: datetime | None



@dataclass(frozen=True, slots=True)
class ProviderBrief:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class ServiceCard:
    """A service of the catalogue with its free seats (open slots) and next bookable slots."""

    id: int
    title: str
    description: str
    category: Category
    provider: ProviderBrief
    location: str
    map_url: str | None
    online: bool
    mode: Mode
    free_seats: int
    next_slots: tuple[SlotBrief, ...]


@dataclass(frozen=True, slots=True)
class CataloguePage(Paged):
    """One page of the catalogue, correct from `computed_at` until `valid_until` (the next time
    a slot opens or closes for booking; None: no slot ahead) unless the catalogue changes."""

    items: tuple[ServiceCard, ...]
    page: int
    per_page: int
    total: int
    computed_at: datetime
    valid_until: datetime | None
    cache_key: str | None = None  # the key it is cached under (what is derived from it may be)

    def holds_at(self, now: datetime) -> bool:
        return self.computed_at <= now and (self.valid_until is None or now < self.valid_until)


def _whole(raw, default: int, highest: int) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return min(value, highest) if value >= 1 else default


def catalogue(*, search: str = "", category: str = "", free_only: bool = False, page=1,
              per_page=20, now: datetime | None = None) -> CataloguePage:
    """Active services, those with bookable slots first (soonest first), with their free seats
    and next slots; optional text, category and "with free seats" filter.

    Pages without a search are cached under the catalogue namespace (CATALOGUE_NS), which every
    operation that changes a service, a slot or a seat count touches. What depends on the time
    (which slots are ahead, which are open for booking) changes only when a slot opens or
    closes: a cached page is used only between the moment it was read and the next such moment.
    Its key holds the minute, so after such a moment the page is read from the database until
    the minute is over, then cached again.
    """
    now = now or utcnow()
    search = (search or "").replace("\x00", "").strip()[:60]
    category = category if category in {c.value for c in Category} else ""
    page_no, size = _whole(page, 1, 10**6), _whole(per_page, 20, MAX_PER_PAGE)

    def compute(key: str | None = None) -> CataloguePage:
        return _catalogue_page(search=search, category=category, free_only=free_only,
                               page_no=page_no, size=size, now=now, cache_key=key)

    if search or page_no > CACHED_PAGES:
        return compute()
    minute = int(time.time() // 60)
    key = f"bookings:catalogue:{category}:{int(bool(free_only))}:{page_no}:{size}:{minute}"
    found = cache.cached(key, lambda: compute(key), depends_on=CATALOGUE_DEPENDS, ttl=120)
    if not found.holds_at(now):
        return compute()
    if found.valid_until is not None:
        cache.valid_until(found.valid_until)  # a response showing it changes then too
    return found


# The catalogue statements, built once per shape (dialect and which filters are on) with bound
# parameters: building a statement of this size costs more than running it.
_NOW = bindparam("now", type_=DateTime(timezone=True))
_statements: dict[tuple, tuple] = {}


def _statement(kind: str, *, search: bool, category: bool, free_only: bool):
    dialect = db.session.get_bind().dialect.name
    key = (kind, dialect, search, category, free_only)
    if key not in _statements:
        where = _catalogue_filter(search=search, category=category, free_only=free_only)
        # Searches are not cached, so they need not know when the page will change.
        change = null() if search else _next_change()
        _statements[key] = (_page_statement(where, change, dialect) if kind == "page"
                            else _empty_statement(where, change))
    return _statements[key]


def _catalogue_filter(*, search: bool, category: bool, free_only: bool) -> list:
    where = [Service.active.is_(True)]
    if category:
        where.append(Service.category == bindparam("category"))
    if search:
        like = bindparam("like", type_=String)
        where.append(or_(Service.title.ilike(like), Service.description.ilike(like),
                         Service.location.ilike(like)))
    if free_only:
        where.append(exists().where(Slot.service_id == Service.id, *_future(_NOW),
                                    Slot.opens_at <= _NOW, Slot.booked_count < Slot.capacity))
    return where


def _next_change():
    """The next moment a slot ahead opens or closes for booking (what lists depend on)."""
    return (select(func.min(case((Slot.opens_at > _NOW, Slot.opens_at), else_=Slot.closes_at)))
            .where(*_future(_NOW)).scalar_subquery())


_SLOT_COLUMNS = ("id", "starts_at", "ends_at", "capacity", "booked_count", "opens_at",
                 "closes_at", "draw_at", "lottery_seed", "drawn_at")


def _page_statement(where: list, change, dialect: str):
    """The page of services (with the total and the next change) and, per service, its first
    slots ahead — a LATERAL join on the (service_id, starts_at) index on PostgreSQL, a window
    function on SQLite (small data, no LATERAL)."""
    next_start = (select(func.min(Slot.starts_at)).where(Slot.service_id == Service.id,
                                                         *_future(_NOW))
                  .correlate(Service).scalar_subquery())
    free = (select(func.coalesce(func.sum(Slot.capacity - Slot.booked_count), 0))
            .where(Slot.service_id == Service.id, *_future(_NOW), Slot.opens_at <= _NOW)
            .correlate(Service).scalar_subquery())
    services = (
        select(Service.id, Service.title, Service.description, Service.category,
               Service.provider_id, Organisation.name.label("provider_name"), Service.location,
               Service.map_url, Service.online, Service.mode, free.label("free_seats"),
               next_start.label("next_start"), func.count().over().label("total"),
               change.label("valid_until"))
        .join(Organisation, Organisation.id == Service.provider_id).where(*where)
        .order_by(next_start.is_(None), next_start, Service.id)
        .limit(bindparam("size", type_=Integer)).offset(bindparam("skip", type_=Integer))
        .cte("catalogue_page"))
    slot_columns = [getattr(Slot, name).label(f"slot_{name}") for name in _SLOT_COLUMNS]
    if dialect == "postgresql":
        first = (select(*slot_columns).where(Slot.service_id == services.c.id, *_future(_NOW))
                 .order_by(Slot.starts_at, Slot.id).limit(BOOKABLE_PREVIEW).lateral("next_slots"))
        joined = services.outerjoin(first, true())
    else:
        first = (select(*slot_columns, Slot.service_id.label("slot_service_id"),
                        func.row_number().over(partition_by=Slot.service_id,
                                               order_by=(Slot.starts_at, Slot.id)).label("n"))
                 .where(Slot.service_id.in_(select(services.c.id)), *_future(_NOW))
                 .subquery("next_slots"))
        joined = services.outerjoin(first, and_(first.c.slot_service_id == services.c.id,
                                                first.c.n <= BOOKABLE_PREVIEW))
    return (select(services, *[first.c[f"slot_{name}"] for name in _SLOT_COLUMNS])
            .select_from(joined)
            .order_by(services.c.next_start.is_(None), services.c.next_start, services.c.id,
                      first.c.slot_starts_at, first.c.slot_id))


def _empty_statement(where: list, change):
    """For a page without services: how many there are, and when that may change."""
    return select(select(func.count(Service.id)).where(*where).scalar_subquery().label("total"),
                  change.label("valid_until"))


def _catalogue_page(*, search: str, category: str, free_only: bool, page_no: int, size: int,
                    now: datetime, cache_key: str | None) -> CataloguePage:
    """One statement for a page of the catalogue (two when the page is past the last one)."""
    shape = {"search": bool(search), "category": bool(category), "free_only": bool(free_only)}
    params = {"now": now, "size": size, "skip": (page_no - 1) * size}
    if category:
        params["category"] = Category(category)
    if search:
        params["like"] = f"%{search.replace('%', '').replace('_', '')}%"
    rows = db.session.execute(_statement("page", **shape), params).all()
    if not rows:
        total, valid_until = db.session.execute(_statement("empty", **shape), params).one()
        return CataloguePage((), page_no, size, int(total or 0), now, as_utc(valid_until),
                             cache_key)
    cards: list[ServiceCard] = []
    slots: list[SlotBrief] = []
    for index, row in enumerate(rows):
        if row.slot_id is not None:
            slots.append(SlotBrief(row.slot_id, as_utc(row.slot_starts_at),
                                   as_utc(row.slot_ends_at), row.slot_capacity,
                                   row.slot_booked_count, as_utc(row.slot_opens_at),
                                   as_utc(row.slot_closes_at), as_utc(row.slot_draw_at),
                                   row.slot_lottery_seed, as_utc(row.slot_drawn_at)))
        if index + 1 == len(rows) or rows[index + 1].id != row.id:
            cards.append(ServiceCard(
                row.id, row.title, row.description, row.category,
                ProviderBrief(row.provider_id, row.provider_name), row.location, row.map_url,
                row.online, row.mode, int(row.free_seats or 0), tuple(slots)))
            slots = []
    return CataloguePage(tuple(cards), page_no, size, int(rows[0].total), now,
                         as_utc(rows[0].valid_until), cache_key)


def my_live_slot_ids(worker_id: int, *, now: datetime | None = None) -> frozenset[int]:
    """The slots of the worker's live bookings that have not ended ("you have booked this").

    Cached per worker under `user:<id>:bookings`: a slot that has not ended at a later moment
    had not ended when the set was read either, so the set stays right for it.
    """
    now = now or utcnow()

    def compute() -> frozenset[int]:
        return frozenset(db.session.scalars(
            select(Booking.slot_id).join(Slot, Booking.slot_id == Slot.id)
            .where(Booking.worker_id == worker_id, Booking.status.not_in(CLOSED),
                   Slot.ends_at > now - timedelta(minutes=1))))

    return cache.cached(f"bookings:mine:{worker_id}", compute,
                        depends_on=[worker_bookings_ns(worker_id)])


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


class UpcomingBooking(NamedTuple):
    id: int
    status: BookingStatus
    starts_at: datetime
    ends_at: datetime
    title: str


def next_bookings(worker_id: int, *, limit: int = 3,
                  now: datetime | None = None) -> list[UpcomingBooking]:
    """The worker's next live bookings for the home panel: (id, status, starts_at, ends_at,
    title) rows.

    The worker's bookings that have not ended are cached under `user:<id>:bookings` (and the
    services' names) and filtered by the time at each request, so a cached list never shows an
    ended slot.
    """
    now = now or utcnow()
    ahead = cache.cached(f"bookings:next:{worker_id}",
                         lambda: _bookings_ahead(worker_id, since=now - timedelta(minutes=1)),
                         depends_on=[worker_bookings_ns(worker_id), SERVICES_NS])
    shown = [row for row in ahead if row.ends_at > now][:limit]
    if len(shown) < limit and len(ahead) == NEXT_FETCH:  # more may follow the cached ones
        shown = [row for row in _bookings_ahead(worker_id, since=now)][:limit]
    if shown:
        cache.valid_until(min(row.ends_at for row in shown))  # the list changes when one ends
    return shown


def _bookings_ahead(worker_id: int, *, since: datetime) -> tuple[UpcomingBooking, ...]:
    rows = db.session.execute(
        select(Booking.id, Booking.status, Slot.starts_at, Slot.ends_at, Service.title)
        .join(Slot, Booking.slot_id == Slot.id).join(Service, Service.id == Slot.service_id)
        .where(Booking.worker_id == worker_id, Slot.ends_at > since, Booking.status.not_in(CLOSED))
        .order_by(Slot.starts_at, Booking.id).limit(NEXT_FETCH))
    return tuple(UpcomingBooking(row.id, row.status, as_utc(row.starts_at), as_utc(row.ends_at),
                                 row.title) for row in rows)


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


# Booking reads the slot and its service, not the provider (which Service joins by default),
# by a statement built once: `Session.get` builds and keys a new one on every call, which cost
# a third of the slot's read.
_SLOT_TO_BOOK = select(Slot).options(joinedload(Slot.service).lazyload(Service.provider)) \
    .where(Slot.id == bindparam("slot_id"))


def bookable_slot_or_404(slot_id: int) -> Slot:
    """A slot of an active service, for booking it."""
    slot = db.session.execute(_SLOT_TO_BOOK, {"slot_id": slot_id}).scalar_one_or_none()
    return visible_or_404(slot, lambda s: s.service.active)


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
