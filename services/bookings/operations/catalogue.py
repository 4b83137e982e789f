"""The catalogue: services of a provider organisation, their slots, weekly patterns."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta, timezone

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import select

from services.accounts.models import Organisation, OrgKind, User
from services.bookings.models import as_utc, Category, Eligibility, Mode, Service, Slot, SlotPattern
from services.bookings.operations.common import (LOCAL_TZ, aware, changed, invalid, now_utc,
                                                 service_snapshot, slot_snapshot)
from services.core.access import Role
from services.core.audit import record
from services.core.errors import Forbidden
from services.extensions import db

MAX_CAPACITY = 10_000
MAX_PATTERN_DAYS = 184  # half a year of weekly slots at once
MAX_AHEAD_DAYS = 366
SETTING_LIMITS = {
    "max_active_bookings": (1, 50), "open_days_before": (0, 365),
    "close_minutes_before": (0, 7 * 24 * 60), "cancel_hours_before": (0, 30 * 24),
    "lottery_hours_before": (1, 30 * 24), "no_show_limit": (1, 50),
    "no_show_window_days": (1, 365), "suspension_days": (0, 365),
}


def _provider_org(actor: User) -> int:
    if actor.role is not Role.PROVIDER or actor.org_id is None:
        raise Forbidden(str(_l("Only staff of a service provider can manage services.")))
    return actor.org_id


def _enum(enum_cls, value, field: str):
    try:
        return enum_cls(value.value if hasattr(value, "value") else value)
    except ValueError:
        raise invalid(field, _l("Choose a value from the list.")) from None


def _clean_settings(values: dict) -> dict:
    clean: dict = {}
    for name, raw in values.items():
        if name not in SETTING_LIMITS or raw is None:
            continue
        low, high = SETTING_LIMITS[name]
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise invalid(name, _l("Enter a whole number from %(low)s to %(high)s.",
                                   low=low, high=high))
        clean[name] = raw
    return clean


def _park_id(code_or_id) -> int | None:
    if code_or_id in (None, ""):
        return None
    query = select(Organisation).where(Organisation.kind == OrgKind.PARK)
    if isinstance(code_or_id, int):
        query = query.where(Organisation.id == code_or_id)
    else:
        query = query.where(Organisation.code == str(code_or_id).strip().lower())
    park = db.session.scalar(query)
    if park is None:
        raise invalid("eligible_park", _l("Choose a park from the list."))
    return park.id


def _apply_fields(service: Service, *, title, description, category, location, map_url, online,
                  eligibility, eligible_park, mode, settings) -> None:
    title = (title or "").strip()
    if not 1 <= len(title) <= 120:
        raise invalid("title", _l("Enter a title (up to 120 characters)."))
    if len(description or "") > 5000:
        raise invalid("description", _l("The description is too long (up to 5000 characters)."))
    location = (location or "").strip()
    if len(location) > 200:
        raise invalid("location", _l("The place is too long (up to 200 characters)."))
    if not online and not location:
        raise invalid("location", _l("Enter the address, or mark the service as online."))
    map_url = (map_url or "").strip() or None
    if map_url and (len(map_url) > 300 or not map_url.startswith(("https://", "http://"))):
        raise invalid("map_url", _l("Enter a web address starting with https://."))
    eligibility = _enum(Eligibility, eligibility or Eligibility.ALL, "eligibility")
    park_id = _park_id(eligible_park) if eligibility is Eligibility.PARK else None
    if eligibility is Eligibility.PARK and park_id is None:
        raise invalid("eligible_park", _l("Choose the park whose workers may book."))
    service.title, service.description = title, (description or "").strip()
    service.category = _enum(Category, category, "category")
    service.location, service.map_url, service.online = location, map_url, bool(online)
    service.eligibility, service.eligible_park_id = eligibility, park_id
    service.mode = _enum(Mode, mode or Mode.FIRST_COME, "mode")
    for name, value in _clean_settings(settings).items():
        setattr(service, name, value)


def create_service(
    *, actor: User, title: str, category: Category | str, description: str = "",
    location: str = "", map_url: str | None = None, online: bool = False,
    eligibility: Eligibility | str = Eligibility.ALL, eligible_park: int | str | None = None,
    mode: Mode | str = Mode.FIRST_COME, **settings: int,
) -> Service:
    """Create a service of the actor's provider organisation."""
    service = Service(provider_id=_provider_org(actor))
    for name in SETTING_LIMITS:
        setattr(service, name, default_setting(name))
    _apply_fields(service, title=title, description=description, category=category,
                  location=location, map_url=map_url, online=online, eligibility=eligibility,
                  eligible_park=eligible_park, mode=mode, settings=settings)
    service.active = True
    db.session.add(service)
    db.session.flush()
    changed(services=True)
    record(action="booking_service.created", object_type="booking_service", object_id=service.id,
           actor_id=actor.id, after=service_snapshot(service))
    return service


def update_service(
    *, actor: User, service: Service, title: str, category: Category | str, description: str = "",
    location: str = "", map_url: str | None = None, online: bool = False,
    eligibility: Eligibility | str = Eligibility.ALL, eligible_park: int | str | None = None,
    mode: Mode | str = Mode.FIRST_COME, active: bool = True, **settings: int,
) -> Service:
    """Change a service's description and rules (slots already made keep their times)."""
    if service.provider_id != _provider_org(actor):
        raise Forbidden(str(_l("This service belongs to another provider.")))
    before = service_snapshot(service)
    _apply_fields(service, title=title, description=description, category=category,
                  location=location, map_url=map_url, online=online, eligibility=eligibility,
                  eligible_park=eligible_park, mode=mode, settings=settings)
    service.active = bool(active)
    db.session.flush()
    changed(services=True)
    record(action="booking_service.updated", object_type="booking_service", object_id=service.id,
           actor_id=actor.id, before=before, after=service_snapshot(service))
    return service


def _check_capacity(capacity) -> None:
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise invalid("capacity", _l("Enter a number of seats from 1 to %(max)s.", max=MAX_CAPACITY))


def _new_slot(service: Service, *, starts_at: datetime, ends_at: datetime, capacity: int,
              now: datetime, pattern_id: int | None = None) -> Slot:
    _check_capacity(capacity)
    starts_at, ends_at = aware(starts_at, "starts_at"), aware(ends_at, "ends_at")
    if starts_at <= now:
        raise invalid("starts_at", _l("The slot must start in the future."))
    if starts_at > now + timedelta(days=MAX_AHEAD_DAYS):
        raise invalid("starts_at", _l("Slots can be offered up to one year ahead."))
    if not starts_at < ends_at <= starts_at + timedelta(hours=24):
        raise invalid("ends_at", _l("The slot must end after it starts, within 24 hours."))
    closes_at = starts_at - timedelta(minutes=service.close_minutes_before)
    # 0 days means "open from now"; a window never opens after it closes.
    opens_at = starts_at - timedelta(days=service.open_days_before) if service.open_days_before else now
    opens_at = min(opens_at, closes_at - timedelta(minutes=1))
    if closes_at <= now:
        raise invalid("starts_at", _l("Booking for this slot would already be closed."))
    slot = Slot(service_id=service.id, pattern_id=pattern_id, starts_at=starts_at,
                ends_at=ends_at, capacity=capacity, booked_count=0, opens_at=opens_at,
                closes_at=closes_at,
                cancel_until=starts_at - timedelta(hours=service.cancel_hours_before))
    if service.mode is Mode.LOTTERY:
        draw_at = min(starts_at - timedelta(hours=service.lottery_hours_before), closes_at)
        if draw_at <= now:
            raise invalid("starts_at", _l("Too late for a lottery: the draw would already be due."))
        # The seed is published with the slot, before anyone asks, so nobody can choose it later.
        slot.draw_at, slot.lottery_seed = draw_at, secrets.token_hex(8)
    slot.service = service
    return slot


def add_slot(*, actor: User, service: Service, starts_at: datetime, ends_at: datetime,
             capacity: int, now: datetime | None = None) -> Slot:
    """Offer one slot of the actor's service (times with an offset, or Asia/Shanghai local)."""
    if service.provider_id != _provider_org(actor):
        raise Forbidden(str(_l("This service belongs to another provider.")))
    slot = _new_slot(service, starts_at=starts_at, ends_at=ends_at, capacity=capacity,
                     now=now_utc(now))
    db.session.add(slot)
    db.session.flush()
    changed(catalogue=True)
    record(action="booking_slot.created", object_type="booking_slot", object_id=slot.id,
           actor_id=actor.id, after=slot_snapshot(slot))
    return slot


def add_weekly_pattern(
    *, actor: User, service: Service, weekdays: list[int], start_time: time, end_time: time,
    capacity: int, first_date: date, last_date: date, now: datetime | None = None,
) -> tuple[SlotPattern, list[Slot]]:
    """Offer a slot on each chosen weekday (1 = Monday) between two dates, at local times."""
    if service.provider_id != _provider_org(actor):
        raise Forbidden(str(_l("This service belongs to another provider.")))
    now = now_utc(now)
    days = sorted({int(day) for day in weekdays or []})
    if not days or not all(1 <= day <= 7 for day in days):
        raise invalid("weekdays", _l("Choose at least one weekday."))
    if end_time <= start_time:
        raise invalid("end_time", _l("The end time must be after the start time."))
    if last_date < first_date:
        raise invalid("last_date", _l("The last day must not be before the first day."))
    _check_capacity(capacity)
    if (last_date - first_date).days > MAX_PATTERN_DAYS:
        raise invalid("last_date", _l("A pattern can cover at most 26 weeks at once."))
    pattern = SlotPattern(service_id=service.id, weekdays=",".join(map(str, days)),
                          start_time=start_time, end_time=end_time, capacity=capacity,
                          first_date=first_date, last_date=last_date, created_by=actor.id)
    db.session.add(pattern)
    db.session.flush()
    taken = {as_utc(value).astimezone(timezone.utc) for value in
             db.session.scalars(select(Slot.starts_at).where(Slot.service_id == service.id))}
    slots, day = [], first_date
    while day <= last_date:
        starts = datetime.combine(day, start_time, LOCAL_TZ)
        if day.isoweekday() in days and aware(starts, "") > now + timedelta(
                minutes=service.close_minutes_before):
            if aware(starts, "") not in taken:
                slots.append(_new_slot(service, starts_at=starts,
                                       ends_at=datetime.combine(day, end_time, LOCAL_TZ),
                                       capacity=capacity, now=now, pattern_id=pattern.id))
        day += timedelta(days=1)
    if not slots:
        raise invalid("first_date", _l("These dates and weekdays give no new slot in the future."))
    db.session.add_all(slots)
    db.session.flush()
    changed(catalogue=True)
    record(action="booking_pattern.created", object_type="booking_slot_pattern",
           object_id=pattern.id, actor_id=actor.id,
           after={"service_id": service.id, "weekdays": pattern.weekdays,
                  "start_time": start_time.isoformat(), "end_time": end_time.isoformat(),
                  "capacity": capacity, "first_date": first_date.isoformat(),
                  "last_date": last_date.isoformat(), "slots": len(slots)})
    return pattern, slots


def default_setting(name: str) -> int:
    """The default of a service setting (shown on the new-service form)."""
    return Service.__table__.c[name].default.arg
