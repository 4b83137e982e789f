"""Background jobs of the dormitory domain (run inline without Redis, on RQ with it)."""
from __future__ import annotations

from services.core import jobs
from services.core.jobs import report_progress
from services.core.schedule import every
from services.dorms.models import AllocationRun
from services.dorms.operations.allocation import run_allocation
from services.extensions import db


def allocation_job(*, job_id: int, run_id: int, commit: bool, actor_id: int | None) -> dict:
    """Solve (and with commit, make offers for) the run's park; the job runner commits."""
    run = db.session.get(AllocationRun, run_id)
    run_allocation(actor_id=actor_id, park_id=run.park_id, commit=commit, run=run,
                   progress=lambda percent: report_progress(job_id, percent))
    return {"run_id": run.id, "placed": run.summary["placed"], "unplaced": run.summary["unplaced"]}


def queue_allocation(*, park_id: int, actor_id: int, commit: bool) -> AllocationRun:
    """A queued run of the park and its job, linked before the job starts (an attempt killed
    mid-way then still shows as the run's failure), then started: inline now, or on RQ."""
    run = AllocationRun(park_id=park_id, created_by=actor_id, status="queued")
    db.session.add(run)
    db.session.flush()
    job = jobs.record(allocation_job, created_by=actor_id, run_id=run.id, commit=commit,
                      actor_id=actor_id)  # commits the run with the job
    run.job_id = job.id
    db.session.commit()
    jobs.start(job)
    return run


@every(300, "dorms.expire_offers")
def expire_offers_job(*, job_id: int) -> dict:
    """Expire unanswered offers and offer the freed beds to the next applicants."""
    from services.dorms.operations.offers import expire_offers

    return {"expired": len(expire_offers())}
