"""Background jobs of the cases domain: the deadline sweep every 5 minutes (the clock process).

The sweep is idempotent (each escalation step happens once, stored on the case), so running it
often, twice, or after a restart changes nothing more. The job runner commits its work.
"""
from __future__ import annotations

from services.cases.operations.deadlines import sweep
from services.core.schedule import every


@every(300, "cases.sweep")
def sweep_job(*, job_id: int) -> dict:
    """Mark at-risk and overdue cases, escalate, expire unanswered handoffs, close follow-ups."""
    return sweep()
