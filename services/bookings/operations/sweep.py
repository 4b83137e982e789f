"""The periodic sweep: lottery draws due, closed waitlists, no-shows, tomorrow's reminders."""
from __future__ import annotations

from datetime import datetime

from services.bookings.operations.attendance import mark_no_shows
from services.bookings.operations.booking import expire_waitlists
from services.bookings.operations.common import now_utc
from services.bookings.operations.lottery import draw_due, send_reminders


def sweep(*, now: datetime | None = None) -> dict:
    """Do everything that has fallen due; safe to run as often as one likes."""
    now = now_utc(now)
    return {
        "drawn": len(draw_due(now=now)),
        "waitlists_expired": expire_waitlists(now=now),
        "no_shows": len(mark_no_shows(now=now)),
        "reminders": send_reminders(now=now),
    }
