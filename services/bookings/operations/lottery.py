"""Lottery for oversubscribed services, and the day-before reminders.

Requests are collected until the slot's `draw_at`; then the seats are drawn in the order of
`lottery_value(seed, worker_id)` (lower first) — the dormitory lottery's recipe, with the
worker's id so that cancelling and asking again cannot change one's number. The seed is
published on the slot page from the moment the slot is offered, so anyone holding it and the
list of requests can recompute the result.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from hashlib import sha256

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import select

from services.bookings.models import Booking, BookingStatus, Slot, as_utc
from services.bookings.operations.booking import _slot_text, _tell, take_seat
from services.bookings.operations.common import LOCAL_TZ, booking_snapshot, changed, now_utc
from services.core.audit import record
from services.core.errors import InvalidState
from services.extensions import db


def lottery_value(seed: str, applicant_id: int) -> float:
    """The published draw value in [0, 1); lower goes first."""
    return int.from_bytes(sha256(f"{seed}:{applicant_id}".encode()).digest()[:8], "big") / 2**64


def draw(*, slot: Slot, actor_id: int | None = None, now: datetime | None = None) -> dict:
    """Draw the seats of a lottery slot among its requests; the rest are not drawn."""
    now = now_utc(now)
    if not slot.is_lottery:
        raise InvalidState(str(_l("This slot is first come, first served.")))
    if slot.drawn_at is not None:
        raise InvalidState(str(_l("This slot has already been drawn.")), code="already_drawn")
    if now < as_utc(slot.draw_at):
        raise InvalidState(str(_l("The draw is due at the deadline, not before.")),
                           code="draw_not_due")
    requests = list(db.session.scalars(select(Booking).where(
        Booking.slot_id == slot.id, Booking.status == BookingStatus.REQUESTED)))
    requests.sort(key=lambda b: (lottery_value(slot.lottery_seed, b.worker_id), b.id))
    changed(catalogue=True, workers=[b.worker_id for b in requests])
    winners, losers = [], []
    for booking in requests:
        before = booking_snapshot(booking)
        if take_seat(slot.id):
            booking.status, booking.seated_at = BookingStatus.BOOKED, now
            winners.append(booking)
            _tell(booking, _l("You were drawn: you are booked for %(slot)s.", slot=_slot_text(slot)))
        else:
            booking.status = BookingStatus.NOT_DRAWN
            losers.append(booking)
            _tell(booking, _l("Not drawn this time for %(slot)s.", slot=_slot_text(slot)),
                  _l("The seats were drawn with the published seed %(seed)s.",
                     seed=slot.lottery_seed))
        db.session.flush()
        record(action=f"booking.{booking.status.value}", object_type="booking",
               object_id=booking.id, actor_id=actor_id, before=before,
               after=booking_snapshot(booking))
    slot.drawn_at = now
    db.session.flush()
    result = {"slot_id": slot.id, "seed": slot.lottery_seed,
              "order": [b.worker_id for b in winners + losers],
              "booked": [b.id for b in winners], "not_drawn": [b.id for b in losers]}
    record(action="booking_slot.drawn", object_type="booking_slot", object_id=slot.id,
           actor_id=actor_id, after={"seed": slot.lottery_seed, "booked": len(winners),
                                     "not_drawn": len(losers)})
    return result


def draw_due(*, now: datetime | None = None) -> list[dict]:
    """Draw every lottery slot whose deadline has passed."""
    now = now_utc(now)
    due = list(db.session.scalars(select(Slot).where(
        Slot.draw_at.is_not(None), Slot.drawn_at.is_(None), Slot.draw_at <= now
    ).order_by(Slot.draw_at, Slot.id)))
    return [draw(slot=slot, now=now) for slot in due]


def send_reminders(*, now: datetime | None = None) -> int:
    """Remind everyone booked for a slot tomorrow (Asia/Shanghai), once per booking."""
    now = now_utc(now)
    tomorrow = now.astimezone(LOCAL_TZ).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time(), LOCAL_TZ)
    bookings = list(db.session.scalars(
        select(Booking).join(Slot, Booking.slot_id == Slot.id).where(
            Booking.status == BookingStatus.BOOKED, Booking.reminded_at.is_(None),
            Slot.starts_at >= start, Slot.starts_at < start + timedelta(days=1))
        .order_by(Booking.id)
    ))
    for booking in bookings:
        booking.reminded_at = now
        _tell(booking, _l("Reminder: %(slot)s, tomorrow.", slot=_slot_text(booking.slot)),
              _l("Place: %(place)s. Show the QR code on your booking page when you arrive; if "
                 "you cannot come, please cancel.",
                 place=booking.slot.service.location or _l("online")))
        record(action="booking.reminded", object_type="booking", object_id=booking.id,
               actor_id=None, after={"reminded_at": now})
    db.session.flush()
    return len(bookings)


__all__ = ["lottery_value", "draw", "draw_due", "send_reminders"]
