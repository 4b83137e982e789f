"""Background jobs of the bookings domain (`services.core.jobs.enqueue(fn, ...)` after a commit).

Each does its work without committing; `services.core.jobs.execute` commits it with the job's
status. `flask bookings sweep` runs the same work from cron (every 5 minutes is plenty).
"""
from __future__ import annotations

from services.bookings import operations
from services.core.schedule import every


@every(300, "bookings.sweep")
def sweep_job(*, job_id: int) -> dict:
    """Draw due lotteries, expire closed waitlists, mark no-shows, send tomorrow's reminders."""
    return operations.sweep()


def remind_job(*, job_id: int) -> dict:
    """Send the reminders for tomorrow's bookings."""
    return {"reminders": operations.send_reminders()}
