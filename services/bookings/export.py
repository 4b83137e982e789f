"""What the bookings domain holds about a worker, for their personal-data export."""
from __future__ import annotations

from sqlalchemy import select

from services.bookings.models import Booking, Suspension
from services.core.exports import register_section
from services.extensions import db


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def bookings_section(user) -> dict:
    bookings = db.session.scalars(select(Booking).where(Booking.worker_id == user.id)
                                  .order_by(Booking.id))
    suspensions = db.session.scalars(select(Suspension).where(Suspension.worker_id == user.id)
                                     .order_by(Suspension.id))
    return {
        "bookings": [{"id": b.id, "service": b.slot.service.title,
                      "starts_at": _iso(b.slot.starts_at), "status": b.status.value,
                      "booked_at": _iso(b.created_at), "cancelled_at": _iso(b.cancelled_at),
                      "attended_at": _iso(b.attended_at), "late_cancel": b.late_cancel}
                     for b in bookings],
        "suspensions": [{"service_id": s.service_id, "until": _iso(s.until),
                         "no_shows": s.no_shows, "lifted_at": _iso(s.lifted_at)}
                        for s in suspensions],
    }


register_section("bookings", bookings_section)
