"""The job of the job drill in `bench/fault_drills.py`, run by a real RQ worker.

It writes one effect row (an audit event naming the job) in the job's transaction, then, on its
first attempt only, fails the way the drill asks: `raise` an exception, or `kill` its own process
with SIGKILL (the RQ work-horse dies mid-transaction). The drill counts the effect rows: one,
whatever happened to the first attempt.
"""
from __future__ import annotations

import os
import signal

from services.core.audit import record
from services.core.jobs import JobRun
from services.extensions import db

EFFECT = "drill.job_effect"


def effect_job(*, job_id: int, mode: str) -> dict:
    """Apply the effect once; the first attempt fails after writing it (rolled back)."""
    record(action=EFFECT, object_type="job_run", object_id=job_id, actor_id=None,
           after={"mode": mode})
    db.session.flush()
    attempt = db.session.get(JobRun, job_id).attempts
    if attempt == 1 and mode == "raise":
        raise RuntimeError("drill: the first attempt fails after writing its effect")
    if attempt == 1 and mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    return {"attempt": attempt}
