"""Booking, cancelling and the waitlist.

A seat is taken by one atomic conditional UPDATE of the slot's counter
(`booked_count = booked_count + 1 WHERE booked_count < capacity`) followed by the INSERT of the
booking, both in the caller's transaction: two requests for the last seat cannot both succeed,
on SQLite (one writer at a time) or PostgreSQL (the UPDATE takes the row lock and re-checks the
condition). The CHECK `booked_count <= capacity` and the partial unique index on live
(slot, worker) pairs guarantee the rest even if a code path forgot a check.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from services.accounts.models import EmploymentForm, User
from services.bookings.models import (CLOSED, PENDING, Booking, BookingStatus, Eligibility,
                                      Service, Slot, Suspension, as_utc)
from services.bookings.operations.common import booking_snapshot, invalid, local, now_utc
from services.core import notify
from services.core.access import Role
from services.core.audit import record
from services.core.errors import Conflict, Forbidden, InvalidState
from services.extensions import db

IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on phones


@dataclass(frozen=True)
class BookingOutcome:
    booking: Booking
    created: bool  # False when the idempotency key had already made this booking


def new_check_in_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def normalise_code(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "").upper()[:12]


def _lock_worker(worker: User) -> None:
    """Serialise one worker's bookings (PostgreSQL row lock; SQLite has one writer anyway)."""
    db.session.execute(select(User.id).where(User.id == worker.id).with_for_update())


def _by_key(worker: User, key: str) -> Booking | None:
    return db.session.scalar(select(Booking).where(Booking.worker_id == worker.id,
                                                   Booking.idempotency_key == key))


def _check_eligible(worker: User, service: Service) -> None:
    rule = service.eligibility
    if rule is Eligibility.ALL:
        return
    if rule is Eligibility.PLATFORM and worker.employment_form is EmploymentForm.PLATFORM:
        return
    if rule is Eligibility.EMPLOYEES and worker.employment_form is not EmploymentForm.PLATFORM:
        return
    if rule is Eligibility.PARK and _of_park(worker, service.eligible_park_id):
        return
    raise Forbidden(str(_l("This service is only for: %(who)s.", who=_eligibility_text(service))),
                    code="not_eligible")


def _of_park(worker: User, park_id: int) -> bool:
    """Employed by a company in the park, or living in the park's dormitories."""
    from services.dorms.operations.stays import lives_in_park

    if worker.org is not None and worker.org.park_id == park_id:
        return True
    return lives_in_park(worker_id=worker.id, park_id=park_id)


def _eligibility_text(service: Service) -> str:
    from services.bookings.models import ELIGIBILITY_LABELS

    text = str(ELIGIBILITY_LABELS[service.eligibility])
    return f"{text} ({service.eligible_park.name})" if service.eligible_park else text


def active_suspension(worker_id: int, service_id: int, now: datetime) -> Suspension | None:
    return db.session.scalar(
        select(Suspension).where(Suspension.worker_id == worker_id,
                                 Suspension.service_id == service_id, Suspension.until > now,
                                 Suspension.lifted_at.is_(None))
        .order_by(Suspension.until.desc()).limit(1)
    )


def _overlapping(worker: User, slot: Slot) -> Booking | None:
    return db.session.scalar(
        select(Booking).join(Slot, Booking.slot_id == Slot.id).where(
            Booking.worker_id == worker.id,
            Booking.status.in_((BookingStatus.BOOKED, BookingStatus.REQUESTED)),
            Slot.id != slot.id, Slot.starts_at < slot.ends_at, Slot.ends_at > slot.starts_at,
        ).limit(1)
    )


def _pending_count(worker: User, service: Service, now: datetime) -> int:
    return db.session.scalar(
        select(func.count(Booking.id)).join(Slot, Booking.slot_id == Slot.id).where(
            Booking.worker_id == worker.id, Booking.service_id == service.id,
            Booking.status.in_(PENDING), Slot.ends_at > now)
    ) or 0


def _check_rules(worker: User, slot: Slot, now: datetime) -> None:
    service = slot.service
    if worker.role is not Role.WORKER:
        raise Forbidden(str(_l("Only workers can book services.")))
    if not service.active:
        raise InvalidState(str(_l("This service is not taking bookings.")), code="booking_closed")
    _check_eligible(worker, service)
    suspension = active_suspension(worker.id, service.id, now)
    if suspension is not None:
        raise Forbidden(str(_l("After repeated no-shows you can book this service again from "
                               "%(date)s.", date=local(suspension.until).strftime("%Y-%m-%d"))),
                        code="suspended")
    if now < as_utc(slot.opens_at):
        raise InvalidState(str(_l("Booking for this slot opens on %(date)s.",
                                  date=local(slot.opens_at).strftime("%Y-%m-%d %H:%M"))),
                           code="not_open")
    if now >= as_utc(slot.closes_at):
        raise InvalidState(str(_l("Booking for this slot has closed.")), code="booking_closed")
    live = db.session.scalar(select(Booking.id).where(
        Booking.slot_id == slot.id, Booking.worker_id == worker.id, Booking.status.not_in(CLOSED)))
    if live:
        raise Conflict(str(_l("You have already booked this slot.")), code="already_booked")
    if _overlapping(worker, slot) is not None:
        raise Conflict(str(_l("You have another booking at this time.")), code="overlapping")
    if _pending_count(worker, service, now) >= service.max_active_bookings:
        raise Conflict(str(_l("You can hold at most %(n)s open bookings for this service.",
                              n=service.max_active_bookings)), code="limit_reached")


def take_seat(slot_id: int) -> bool:
    """Atomically take one seat of the slot; False when it is full."""
    result = db.session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked_count < Slot.capacity)
        .values(booked_count=Slot.booked_count + 1)
        .execution_options(synchronize_session=False)
    )
    _refresh_counter(slot_id)
    return result.rowcount == 1


def free_seat(slot_id: int) -> None:
    db.session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked_count > 0)
        .values(booked_count=Slot.booked_count - 1)
        .execution_options(synchronize_session=False)
    )
    _refresh_counter(slot_id)


def _refresh_counter(slot_id: int) -> None:
    db.session.refresh(db.session.get(Slot, slot_id), attribute_names=["booked_count"])


def _status_for(slot: Slot, now: datetime, join_waitlist: bool) -> BookingStatus:
    if slot.is_lottery and slot.drawn_at is None and now < as_utc(slot.draw_at):
        return BookingStatus.REQUESTED
    if take_seat(slot.id):
        return BookingStatus.BOOKED
    if join_waitlist:
        return BookingStatus.WAITLISTED
    raise Conflict(str(_l("This slot is full.")), code="slot_full")


def _replay(earlier: Booking, slot: Slot) -> BookingOutcome:
    if earlier.slot_id != slot.id:
        raise invalid("idempotency_key", _l("This idempotency key was already used for another "
                                            "slot; send a new key for a new booking."))
    return BookingOutcome(earlier, False)


def book(*, worker: User, slot: Slot, idempotency_key: str | None = None,
         join_waitlist: bool = False, now: datetime | None = None) -> BookingOutcome:
    """Book a seat (or join the waitlist or the lottery); a repeated idempotency key returns the
    booking it made."""
    now = now_utc(now)
    if idempotency_key is not None and not IDEMPOTENCY_KEY_RE.match(idempotency_key):
        raise invalid("idempotency_key", _l("The idempotency key must be 8–64 letters, digits "
                                            "or . _ : -"))
    _lock_worker(worker)
    if idempotency_key and (earlier := _by_key(worker, idempotency_key)) is not None:
        return _replay(earlier, slot)
    _check_rules(worker, slot, now)
    try:
        with db.session.begin_nested():
            status = _status_for(slot, now, join_waitlist)
            booking = Booking(slot_id=slot.id, service_id=slot.service_id, worker_id=worker.id,
                              status=status, idempotency_key=idempotency_key,
                              check_in_code=new_check_in_code(),
                              seated_at=now if status is BookingStatus.BOOKED else None)
            db.session.add(booking)
            db.session.flush()
    except IntegrityError:
        # Another request of the same worker won the race (same key, or same slot).
        _refresh_counter(slot.id)
        if idempotency_key and (earlier := _by_key(worker, idempotency_key)) is not None:
            return _replay(earlier, slot)
        raise Conflict(str(_l("You have already booked this slot.")),
                       code="already_booked") from None
    record(action=f"booking.{status.value}", object_type="booking", object_id=booking.id,
           actor_id=worker.id, after=booking_snapshot(booking))
    return BookingOutcome(booking, True)


def _tell(booking: Booking, title, body="") -> None:
    """In-app message (and SMS after the commit) to the booking's worker, linking the booking."""
    link = f"/bookings/{booking.id}"  # the worker's booking page (also from CLI and jobs)
    notify.send(user_id=booking.worker_id, kind="booking", title=str(title), body=str(body),
                link=link, channels=("sms",))


def _slot_text(slot: Slot) -> str:
    return f"{slot.service.title} {local(slot.starts_at).strftime('%Y-%m-%d %H:%M')}"


def cancel(*, actor: User, booking: Booking, now: datetime | None = None) -> Booking:
    """Cancel the worker's own booking; a freed seat goes to the first on the waitlist."""
    now = now_utc(now)
    if booking.worker_id != actor.id:
        raise Forbidden(str(_l("Only the person who booked can cancel.")))
    slot = booking.slot
    if booking.status not in PENDING:
        raise InvalidState(str(_l("This booking cannot be cancelled any more.")))
    if now >= as_utc(slot.starts_at):
        raise InvalidState(str(_l("The slot has started; it can no longer be cancelled.")))
    before = booking_snapshot(booking)
    seated = booking.status is BookingStatus.BOOKED
    booking.status, booking.cancelled_at = BookingStatus.CANCELLED, now
    # After the cutoff the seat is still freed for someone on the waitlist, but the late
    # cancellation counts like a no-show for the no-show rule.
    booking.late_cancel = seated and now > as_utc(slot.cancel_until)
    db.session.flush()
    record(action="booking.cancelled", object_type="booking", object_id=booking.id,
           actor_id=actor.id, before=before, after=booking_snapshot(booking))
    if seated:
        free_seat(slot.id)
        promote_waitlist(slot=slot, now=now)
    if booking.late_cancel:
        from services.bookings.operations.attendance import apply_no_show_rule

        apply_no_show_rule(worker_id=booking.worker_id, service=slot.service, now=now)
    return booking


def promote_waitlist(*, slot: Slot, now: datetime | None = None) -> list[Booking]:
    """Give free seats to the waitlist in order of joining, and tell those promoted."""
    now = now_utc(now)
    promoted: list[Booking] = []
    if now >= as_utc(slot.closes_at):
        return promoted
    waiting = list(db.session.scalars(
        select(Booking).where(Booking.slot_id == slot.id,
                              Booking.status == BookingStatus.WAITLISTED).order_by(Booking.id)
    ))
    for booking in waiting:
        if slot.booked_count >= slot.capacity:
            break
        worker = booking.worker
        if _overlapping(worker, slot) is not None or active_suspension(
                worker.id, slot.service_id, now):
            _expire(booking, now)
            continue
        if not take_seat(slot.id):
            break
        before = booking_snapshot(booking)
        booking.status, booking.seated_at = BookingStatus.BOOKED, now
        db.session.flush()
        record(action="booking.promoted", object_type="booking", object_id=booking.id,
               actor_id=None, before=before, after=booking_snapshot(booking))
        _tell(booking, _l("A place came free: you are booked for %(slot)s.",
                          slot=_slot_text(slot)),
              _l("Show the QR code on your booking page when you arrive. If you cannot come, "
                 "please cancel so that someone else can have the place."))
        promoted.append(booking)
    return promoted


def _expire(booking: Booking, now: datetime) -> None:
    before = booking_snapshot(booking)
    booking.status = BookingStatus.EXPIRED
    db.session.flush()
    record(action="booking.expired", object_type="booking", object_id=booking.id, actor_id=None,
           before=before, after=booking_snapshot(booking))


def expire_waitlists(*, now: datetime | None = None) -> int:
    """Close the waitlists of slots whose booking has closed."""
    now = now_utc(now)
    stale = list(db.session.scalars(
        select(Booking).join(Slot, Booking.slot_id == Slot.id)
        .where(Booking.status == BookingStatus.WAITLISTED, Slot.closes_at <= now)
    ))
    for booking in stale:
        _expire(booking, now)
    return len(stale)


def seat_count(slot_id: int) -> int:
    """Seats taken according to the booking rows (the counter must always equal this)."""
    from services.bookings.models import SEATED

    return db.session.scalar(select(func.count(Booking.id)).where(
        and_(Booking.slot_id == slot_id, Booking.status.in_(SEATED)))) or 0


__all__ = ["BookingOutcome", "book", "cancel", "promote_waitlist", "expire_waitlists",
           "seat_count", "take_seat", "free_seat", "normalise_code"]
