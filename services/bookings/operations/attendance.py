"""Check-in at the place (signed QR token or short code), no-shows and suspensions."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from services.core.i18n import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, or_, select

from services.accounts.models import User
from services.bookings.models import Booking, BookingStatus, Service, Slot, Suspension, as_utc
from services.bookings.operations.booking import active_suspension, normalise_code
from services.bookings.operations.common import booking_snapshot, changed, local, now_utc
from services.core.access import Role
from services.core.audit import record
from services.core.errors import InvalidState, NotFound
from services.extensions import db

TOKEN_SALT = "anju-bookings-check-in"
CHECK_IN_EARLY = timedelta(hours=2)  # staff may check people in from 2 h before the start …
CHECK_IN_LATE = timedelta(hours=6)  # … until 6 h after the end
NO_SHOW_GRACE = timedelta(hours=6)  # a booking still open this long after the end is a no-show


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def check_in_token(booking: Booking) -> str:
    """The signed token in the booking's QR code (booking id and its short code)."""
    return _serializer().dumps({"b": booking.id, "c": booking.check_in_code})


def booking_from_token(token: str) -> Booking:
    """The booking a QR token names; NotFound for a forged or stale token."""
    try:
        data = _serializer().loads(token)
        booking_id, code = int(data["b"]), str(data["c"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(str(_l("This check-in code is not valid."))) from None
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.check_in_code != code:
        raise NotFound(str(_l("This check-in code is not valid.")))
    return booking


def staff_may_handle(actor: User, service: Service) -> bool:
    return actor.role is Role.PROVIDER and actor.org_id == service.provider_id


def check_in(*, actor: User, booking: Booking, now: datetime | None = None) -> Booking:
    """Mark a booked worker as attended (provider staff of the service, around the slot's time)."""
    now = now_utc(now)
    slot = booking.slot
    if not staff_may_handle(actor, slot.service):
        raise NotFound(str(_l("Not found.")))
    if booking.status is BookingStatus.ATTENDED:
        raise InvalidState(str(_l("%(name)s is already checked in.",
                                  name=booking.worker.display_name)), code="already_checked_in")
    if booking.status not in (BookingStatus.BOOKED, BookingStatus.NO_SHOW):
        raise InvalidState(str(_l("This booking is not for a seat (status: %(status)s).",
                                  status=booking.status.value)))
    if not as_utc(slot.starts_at) - CHECK_IN_EARLY <= now <= as_utc(slot.ends_at) + CHECK_IN_LATE:
        raise InvalidState(str(_l("Check-in is open from 2 hours before the slot starts until "
                                  "6 hours after it ends.")), code="check_in_closed")
    before = booking_snapshot(booking)
    changed(workers=[booking.worker_id])
    booking.status, booking.attended_at, booking.checked_in_by = (BookingStatus.ATTENDED, now,
                                                                  actor.id)
    db.session.flush()
    record(action="booking.attended", object_type="booking", object_id=booking.id,
           actor_id=actor.id, before=before, after=booking_snapshot(booking))
    return booking


def check_in_by_code(*, actor: User, slot: Slot, code: str,
                     now: datetime | None = None) -> Booking:
    """Check in the booking of this slot whose short code the staff typed."""
    booking = db.session.scalar(select(Booking).where(
        Booking.slot_id == slot.id, Booking.check_in_code == normalise_code(code)))
    if booking is None:
        raise NotFound(str(_l("No booking of this slot has that code.")),
                       fields={"code": str(_l("No booking of this slot has that code."))})
    return check_in(actor=actor, booking=booking, now=now)


def apply_no_show_rule(*, worker_id: int, service: Service,
                       now: datetime | None = None) -> Suspension | None:
    """Suspend booking of the service after `no_show_limit` no-shows (or late cancellations)
    within `no_show_window_days`."""
    now = now_utc(now)
    if service.suspension_days == 0 or active_suspension(worker_id, service.id, now):
        return None
    since = now - timedelta(days=service.no_show_window_days)
    misses = db.session.scalar(
        select(func.count(Booking.id)).join(Slot, Booking.slot_id == Slot.id).where(
            Booking.worker_id == worker_id, Booking.service_id == service.id,
            Slot.starts_at >= since,
            or_(Booking.status == BookingStatus.NO_SHOW, Booking.late_cancel.is_(True)))
    ) or 0
    latest = db.session.scalar(select(func.max(Suspension.created_at)).where(
        Suspension.worker_id == worker_id, Suspension.service_id == service.id))
    if misses < service.no_show_limit or (latest and as_utc(latest) >= since):
        return None  # below the limit, or these misses already led to a suspension
    suspension = Suspension(worker_id=worker_id, service_id=service.id, no_shows=misses,
                            until=now + timedelta(days=service.suspension_days))
    db.session.add(suspension)
    db.session.flush()
    record(action="booking_suspension.created", object_type="booking_suspension",
           object_id=suspension.id, actor_id=None,
           after={"worker_id": worker_id, "service_id": service.id, "no_shows": misses,
                  "until": suspension.until})
    from services.core import notify

    notify.send(user_id=worker_id, kind="booking",
                title=str(_l("Booking of %(service)s is paused until %(date)s",
                             service=service.title, date=local(suspension.until).strftime("%Y-%m-%d"))),
                body=str(_l("You missed %(n)s booked appointments without cancelling in time. "
                            "Others were waiting for those places.", n=misses)))
    return suspension


def mark_no_shows(*, now: datetime | None = None) -> list[Booking]:
    """Bookings still open well after their slot ended become no-shows (then the rule applies)."""
    now = now_utc(now)
    missed = list(db.session.scalars(
        select(Booking).join(Slot, Booking.slot_id == Slot.id)
        .where(Booking.status == BookingStatus.BOOKED, Slot.ends_at <= now - NO_SHOW_GRACE)
        .order_by(Booking.id)
    ))
    changed(workers=[booking.worker_id for booking in missed])
    for booking in missed:
        before = booking_snapshot(booking)
        booking.status = BookingStatus.NO_SHOW
        db.session.flush()
        record(action="booking.no_show", object_type="booking", object_id=booking.id,
               actor_id=None, before=before, after=booking_snapshot(booking))
    for worker_id, service in {(b.worker_id, b.slot.service) for b in missed}:
        apply_no_show_rule(worker_id=worker_id, service=service, now=now)
    return missed


def lift_suspension(*, actor: User, suspension: Suspension,
                    now: datetime | None = None) -> Suspension:
    """Provider staff end a suspension early (e.g. the worker explained the absences)."""
    service = db.session.get(Service, suspension.service_id)
    if not staff_may_handle(actor, service):
        raise NotFound(str(_l("Not found.")))
    suspension.lifted_at = now_utc(now)
    db.session.flush()
    record(action="booking_suspension.lifted", object_type="booking_suspension",
           object_id=suspension.id, actor_id=actor.id, after={"lifted_at": suspension.lifted_at})
    return suspension


__all__ = ["check_in", "check_in_by_code", "check_in_token", "booking_from_token",
           "apply_no_show_rule", "mark_no_shows", "lift_suspension", "staff_may_handle"]
