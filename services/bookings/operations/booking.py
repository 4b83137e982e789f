"""Booking, cancelling and the waitlist.

A seat is taken by one atomic conditional UPDATE of the slot's counter
(`booked_count = booked_count + 1 WHERE booked_count < capacity`) in the same transaction as the
INSERT of the booking (which comes first, so the slot's row lock is held briefly): two requests
for the last seat cannot both succeed, on SQLite (one writer at a time) or PostgreSQL (the
UPDATE takes the row lock and re-checks the condition). The CHECK `booked_count <= capacity`
and the partial unique index on live (slot, worker) pairs guarantee the rest even if a code path
forgot a check.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import (DateTime, Integer, and_, bindparam, delete, exists, func, null,
                        select, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from services.accounts.models import EmploymentForm, User
from services.bookings.models import (CLOSED, PENDING, Booking, BookingStatus, Eligibility,
                                      Service, Slot, Suspension, as_utc)
from services.bookings.operations.common import (booking_snapshot, changed, invalid, local,
                                                 now_utc)
from services.core import notify
from services.core.access import Role
from services.core.audit import AuditEvent, diff, insert_event, record, utcnow
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


# The statements of a booking are built once, with bound parameters, over the tables (not the
# mapped classes), and run on the session's connection: building them, or going through the
# ORM, would cost more than running them.
_users, _slots, _bookings = User.__table__, Slot.__table__, Booking.__table__
_LOCK_WORKER = select(_users.c.id).where(_users.c.id == bindparam("worker_id")) \
    .with_for_update(key_share=True)
_TAKE_SEAT = update(_slots).where(
    _slots.c.id == bindparam("seat_slot"), _slots.c.booked_count < _slots.c.capacity
).values(booked_count=_slots.c.booked_count + 1).returning(_slots.c.booked_count)
_FREE_SEAT = update(_slots).where(
    _slots.c.id == bindparam("seat_slot"), _slots.c.booked_count > 0
).values(booked_count=_slots.c.booked_count - 1).returning(_slots.c.booked_count)
# INSERT … ON CONFLICT DO NOTHING: the columns come from the parameters.
_INSERT_BOOKING = {dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(_bookings)
                   .on_conflict_do_nothing().returning(_bookings.c.id)
                   for dialect in (postgresql, sqlite)}


def _connection():
    return db.session.connection()


def _lock_worker(worker: User) -> None:
    """Serialise one worker's bookings (PostgreSQL row lock; SQLite has one writer anyway).

    FOR NO KEY UPDATE: it excludes the worker's other bookings as FOR UPDATE would, without
    holding up rows elsewhere that merely refer to the worker (audit events, notifications).
    """
    _connection().execute(_LOCK_WORKER, {"worker_id": worker.id})


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


class _Facts(NamedTuple):
    """What the booking rules ask of the database, read in one statement after the lock."""

    earlier: int | None  # the booking the idempotency key made
    suspended_until: datetime | None
    live: bool  # a live booking of this slot
    overlapping: bool  # a booked or requested slot at the same time
    pending: int  # open bookings of the service for slots that have not ended


_facts_statements: dict[bool, object] = {}


def _facts_statement(with_key: bool):
    """Built once (per shape) with bound parameters, over the tables (not the mapped classes):
    building it, or going through the ORM, costs more than running it."""
    if with_key not in _facts_statements:
        bookings, suspensions = Booking.__table__.c, Suspension.__table__.c
        other = Slot.__table__.alias("other")
        worker_id = bindparam("worker_id", type_=Integer)
        slot_id = bindparam("slot_id", type_=Integer)
        service_id = bindparam("service_id", type_=Integer)
        moment = DateTime(timezone=True)
        now = bindparam("now", type_=moment)
        earlier = (select(bookings.id).where(bookings.worker_id == worker_id,
                                             bookings.idempotency_key == bindparam("key"))
                   .scalar_subquery() if with_key else null())
        suspended_until = select(func.max(suspensions.until)).where(
            suspensions.worker_id == worker_id, suspensions.service_id == service_id,
            suspensions.until > now, suspensions.lifted_at.is_(None)).scalar_subquery()
        live = exists().where(bookings.slot_id == slot_id, bookings.worker_id == worker_id,
                              bookings.status.not_in(CLOSED))
        overlapping = exists().where(
            bookings.slot_id == other.c.id, bookings.worker_id == worker_id,
            bookings.status.in_((BookingStatus.BOOKED, BookingStatus.REQUESTED)),
            other.c.id != slot_id, other.c.starts_at < bindparam("ends_at", type_=moment),
            other.c.ends_at > bindparam("starts_at", type_=moment))
        pending = (select(func.count(bookings.id))
                   .select_from(Booking.__table__.join(other, bookings.slot_id == other.c.id))
                   .where(bookings.worker_id == worker_id, bookings.service_id == service_id,
                          bookings.status.in_(PENDING), other.c.ends_at > now)
                   .scalar_subquery())
        _facts_statements[with_key] = select(earlier, suspended_until, live, overlapping, pending)
    return _facts_statements[with_key]


def _facts(worker: User, slot: Slot, key: str | None, now: datetime) -> _Facts:
    params = {"worker_id": worker.id, "slot_id": slot.id, "service_id": slot.service_id,
              "now": now, "starts_at": slot.starts_at, "ends_at": slot.ends_at}
    if key:
        params["key"] = key
    row = _connection().execute(_facts_statement(bool(key)), params).one()
    return _Facts(row[0], as_utc(row[1]), bool(row[2]), bool(row[3]), int(row[4] or 0))


def _check_rules(worker: User, slot: Slot, now: datetime, facts: _Facts) -> None:
    service = slot.service
    if worker.role is not Role.WORKER:
        raise Forbidden(str(_l("Only workers can book services.")))
    if not service.active:
        raise InvalidState(str(_l("This service is not taking bookings.")), code="booking_closed")
    _check_eligible(worker, service)
    if facts.suspended_until is not None:
        until = local(facts.suspended_until).strftime("%Y-%m-%d")
        raise Forbidden(str(_l("After repeated no-shows you can book this service again from "
                               "%(date)s.", date=until)), code="suspended")
    if now < as_utc(slot.opens_at):
        raise InvalidState(str(_l("Booking for this slot opens on %(date)s.",
                                  date=local(slot.opens_at).strftime("%Y-%m-%d %H:%M"))),
                           code="not_open")
    if now >= as_utc(slot.closes_at):
        raise InvalidState(str(_l("Booking for this slot has closed.")), code="booking_closed")
    if facts.live:
        raise Conflict(str(_l("You have already booked this slot.")), code="already_booked")
    if facts.overlapping:
        raise Conflict(str(_l("You have another booking at this time.")), code="overlapping")
    if facts.pending >= service.max_active_bookings:
        raise Conflict(str(_l("You can hold at most %(n)s open bookings for this service.",
                              n=service.max_active_bookings)), code="limit_reached")


def take_seat(slot_id: int) -> bool:
    """Atomically take one seat of the slot; False when it is full."""
    taken = _connection().scalar(_TAKE_SEAT, {"seat_slot": slot_id})
    if taken is not None:
        _loaded_counter(slot_id, taken)
    return taken is not None


def free_seat(slot_id: int) -> None:
    left = _connection().scalar(_FREE_SEAT, {"seat_slot": slot_id})
    if left is not None:
        _loaded_counter(slot_id, left)


def _loaded_counter(slot_id: int, value: int) -> None:
    """The loaded slot (if any) shows the counter the UPDATE left, without reading it again."""
    slot = db.session.identity_map.get(db.session.identity_key(Slot, slot_id))
    if slot is not None:
        set_committed_value(slot, "booked_count", value)


def _in_lottery(slot: Slot, now: datetime) -> bool:
    return slot.is_lottery and slot.drawn_at is None and now < as_utc(slot.draw_at)


def _replay(earlier: Booking, slot: Slot) -> BookingOutcome:
    if earlier.slot_id != slot.id:
        raise invalid("idempotency_key", _l("This idempotency key was already used for another "
                                            "slot; send a new key for a new booking."))
    return BookingOutcome(earlier, False)


def _insert_booking(slot: Slot, worker: User, *, key: str | None, status: BookingStatus,
                    now: datetime) -> Booking | None:
    """INSERT the booking, or nothing when a unique index (one live booking per slot and
    worker, one booking per key) refuses it; the transaction goes on either way (no savepoint
    needed). The row comes back as a loaded Booking without being read again."""
    values = {"slot_id": slot.id, "service_id": slot.service_id, "worker_id": worker.id,
              "status": status, "idempotency_key": key, "check_in_code": new_check_in_code(),
              "late_cancel": False, "created_at": utcnow(),
              "seated_at": now if status is BookingStatus.BOOKED else None,
              "cancelled_at": None, "attended_at": None, "checked_in_by": None,
              "reminded_at": None}
    connection = _connection()
    new_id = connection.scalar(_INSERT_BOOKING[connection.dialect.name], values)
    if new_id is None:
        return None
    booking = Booking(id=new_id, **values)
    make_transient_to_detached(booking)
    # A booking of a rolled-back transaction may linger in the session under this id (SQLite
    # gives the id of a rolled-back row again): the new row replaces it.
    stale = db.session.identity_map.get(db.session.identity_key(Booking, new_id))
    if stale is not None:
        db.session.expunge(stale)
    db.session.add(booking)
    set_committed_value(booking, "slot", slot)
    set_committed_value(booking, "worker", worker)
    return booking


def book(*, worker: User, slot: Slot, idempotency_key: str | None = None,
         join_waitlist: bool = False, now: datetime | None = None) -> BookingOutcome:
    """Book a seat (or join the waitlist or the lottery); a repeated idempotency key returns the
    booking it made.

    The seat is taken last: the booking and its audit event are written first, then the slot's
    counter is updated, so the slot's row lock (which every booking of the slot waits for) is
    held only from that UPDATE to the caller's commit. When no seat is left the booking becomes
    a waitlist entry, or both rows are deleted again and the operation raises.
    """
    now = now_utc(now)
    if idempotency_key is not None and not IDEMPOTENCY_KEY_RE.match(idempotency_key):
        raise invalid("idempotency_key", _l("The idempotency key must be 8–64 letters, digits "
                                            "or . _ : -"))
    _lock_worker(worker)
    facts = _facts(worker, slot, idempotency_key, now)
    if facts.earlier is not None:
        return _replay(db.session.get(Booking, facts.earlier), slot)
    _check_rules(worker, slot, now, facts)
    requested = _in_lottery(slot, now)
    changed(catalogue=not requested, workers=[worker.id])
    booking = _insert_booking(slot, worker, key=idempotency_key, now=now,
                              status=BookingStatus.REQUESTED if requested else BookingStatus.BOOKED)
    if booking is None:
        # A unique index refused it: another request of the same worker won the race (same key,
        # or same slot) although the checks above passed.
        if idempotency_key and (earlier := _by_key(worker, idempotency_key)) is not None:
            return _replay(earlier, slot)
        raise Conflict(str(_l("You have already booked this slot.")), code="already_booked")
    event_id = insert_event(action=f"booking.{booking.status.value}", object_type="booking",
                            object_id=booking.id, actor_id=worker.id,
                            after=booking_snapshot(booking))
    if not requested and not take_seat(slot.id):
        events = AuditEvent.__table__
        if not join_waitlist:
            # Taken back at once, so that even a caller that commits keeps no seatless booking.
            _connection().execute(delete(events).where(events.c.id == event_id))
            db.session.delete(booking)
            db.session.flush()
            raise Conflict(str(_l("This slot is full.")), code="slot_full")
        booking.status, booking.seated_at = BookingStatus.WAITLISTED, None
        _connection().execute(update(events).where(events.c.id == event_id).values(
            action="booking.waitlisted", changes=diff({}, booking_snapshot(booking))))
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
    changed(catalogue=seated, workers=[booking.worker_id])
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
        changed(workers=[worker.id])
        if _overlapping(worker, slot) is not None or active_suspension(
                worker.id, slot.service_id, now):
            _expire(booking, now)
            continue
        if not take_seat(slot.id):
            break
        changed(catalogue=True)
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
    changed(workers=[booking.worker_id for booking in stale])
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
