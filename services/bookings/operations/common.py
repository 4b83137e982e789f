"""Helpers shared by the booking operations: time zone, errors, snapshots for the audit trail."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from services.bookings.models import (CATALOGUE_NS, SERVICES_NS, Booking, Service, Slot,
                                      as_utc, worker_bookings_ns)
from services.core import cache
from services.core.audit import utcnow
from services.core.errors import ValidationFailed

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now_utc(now: datetime | None = None) -> datetime:
    return as_utc(now) if now is not None else utcnow()


def local(value: datetime) -> datetime:
    return as_utc(value).astimezone(LOCAL_TZ)


def changed(*, catalogue: bool = False, services: bool = False,
            workers: Iterable[int] = ()) -> None:
    """The current transaction changes the catalogue (slots, seat counts), the services
    themselves (which changes the catalogue too) and/or these workers' bookings: cached reads
    of them are read again after the commit (see services.core.cache)."""
    namespaces = [worker_bookings_ns(worker_id) for worker_id in set(workers)]
    if catalogue or services:
        namespaces.append(CATALOGUE_NS)
    if services:
        namespaces.append(SERVICES_NS)
    cache.touch(*namespaces)


def invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(message), fields={field: str(message)})


def aware(value: datetime, field: str) -> datetime:
    """A timezone-aware datetime in UTC; naive input is read as Asia/Shanghai local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(timezone.utc)


def service_snapshot(service: Service) -> dict:
    return {field: getattr(service, field) for field in (
        "title", "description", "category", "location", "map_url", "online", "eligibility",
        "eligible_park_id", "mode", "max_active_bookings", "open_days_before",
        "close_minutes_before", "cancel_hours_before", "lottery_hours_before", "no_show_limit",
        "no_show_window_days", "suspension_days", "active")}


def slot_snapshot(slot: Slot) -> dict:
    return {"service_id": slot.service_id, "starts_at": as_utc(slot.starts_at),
            "ends_at": as_utc(slot.ends_at), "capacity": slot.capacity,
            "opens_at": as_utc(slot.opens_at), "closes_at": as_utc(slot.closes_at),
            "cancel_until": as_utc(slot.cancel_until), "draw_at": as_utc(slot.draw_at),
            "lottery_seed": slot.lottery_seed}


def booking_snapshot(booking: Booking) -> dict:
    return {"slot_id": booking.slot_id, "worker_id": booking.worker_id,
            "status": booking.status, "late_cancel": booking.late_cancel}
