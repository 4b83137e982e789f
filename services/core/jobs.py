"""Background jobs: run now (no Redis: development and tests) or on RQ (REDIS_URL set).

Call `enqueue()` at the boundary, after the request's commit. Each job is a JobRun row; the
job function receives the row id and its keyword arguments, does its work without committing,
and `execute()` commits the work together with `status = done`. A job that is already done is
never run again, so a retry after a crash cannot apply it twice; a failed attempt is rolled
back, recorded, and retried by RQ (3 tries, growing intervals).

Exactly once, even when two attempts overlap (a retry while a stuck attempt still runs, or a
job that went both to RQ and inline): each attempt claims the row with one conditional UPDATE
(`attempts + 1 WHERE status != 'done'`), and its work commits only together with
`status = done WHERE attempts = <its own number>`; an attempt overtaken by a later one is rolled
back. An attempt whose process was killed leaves `running`, which a retry may take over.

Abandoned attempts: a job run inline (no Redis, or Redis unreachable) whose process was killed
— a gunicorn worker past its timeout or SIGKILLed, the clock restarted — gets no retry, and
its row would say `running` for ever (a manager's allocation run page would keep refreshing
"Running… 0 %"). Every ABANDON_CHECK_SECONDS the clock marks `failed` each attempt still
`running` ABANDONED_AFTER after it started: no attempt lives that long (a web request ends at
gunicorn's 30 s timeout, an RQ attempt at RQ's 180 s), and an attempt that somehow still ran
would only see its work rolled back (its `_finish` requires `running`), never half applied. A
failed job can be claimed again by a late retry, and is then done once.

Redis unreachable when a job is enqueued: the job runs inline, at once, with a warning in the
log (`anju.jobs`), rather than failing the request that asked for it. The queue's connection
gives up after a few seconds, so a hung Redis cannot hang the request either.
"""
from __future__ import annotations

import importlib
import logging
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app, has_app_context
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, update
from sqlalchemy.orm import Mapped, mapped_column

from services.core.audit import utcnow
from services.core.schedule import every
from services.extensions import db

log = logging.getLogger("anju.jobs")
RETRY_INTERVALS = [10, 60, 300]
ABANDONED_AFTER = timedelta(minutes=15)
ABANDON_CHECK_SECONDS = 600
ABANDONED_ERROR = "abandoned: the process running it ended before it finished"


class JobRun(db.Model):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kwargs: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last attempt
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _dotted(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(name: str) -> Callable[..., Any]:
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def uses_redis() -> bool:
    return bool(current_app.config.get("REDIS_URL")) and not current_app.config.get("JOBS_INLINE")


def queue():
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2,
                                socket_timeout=2)  # an RQ worker raises it above its own wait
    return Queue(current_app.config["RQ_QUEUE"], connection=connection)


def record(fn: Callable[..., Any], *, created_by: int | None = None, **kwargs: Any) -> JobRun:
    """The job's row, committed, not started yet: for a caller that links it to its own row
    before `start` (an attempt that dies then still leaves the link)."""
    job = JobRun(name=_dotted(fn), kwargs=kwargs, created_by=created_by)
    db.session.add(job)
    db.session.commit()
    return job


def enqueue(fn: Callable[..., Any], *, created_by: int | None = None, **kwargs: Any) -> JobRun:
    """Record the job and run it: inline now, or on the RQ queue. Call after your commit."""
    return start(record(fn, created_by=created_by, **kwargs))


def start(job: JobRun) -> JobRun:
    """Run a recorded job: inline now, or on the RQ queue; the row as it is afterwards."""
    if uses_redis():
        from redis.exceptions import RedisError
        from rq import Retry

        try:
            queue().enqueue(execute, job.id, retry=Retry(max=3, interval=RETRY_INTERVALS),
                            job_id=f"anju-job-{job.id}")
            return db.session.get(JobRun, job.id)
        except RedisError as error:
            log.warning("redis unavailable (%s): job %s (%s) runs inline",
                        type(error).__name__, job.id, job.name)
    try:
        execute(job.id)
    except Exception:  # recorded on the JobRun; inline callers read its status
        log.warning("inline job %s failed", job.id)
    return db.session.get(JobRun, job.id)


def report_progress(job_id: int, percent: int) -> None:
    """Show progress to whoever watches the job, outside the job's own transaction.

    SQLite has one writer at a time and the job's transaction holds it, so there progress
    shows only when the job ends; PostgreSQL shows it live.
    """
    if db.engine.dialect.name == "sqlite":
        return
    with db.engine.begin() as connection:
        connection.execute(
            update(JobRun).where(JobRun.id == job_id).values(progress=max(0, min(100, percent)))
        )


def execute(job_id: int) -> None:
    """Run one JobRun (the RQ entry point); commits its work and its status together."""
    if not has_app_context():
        from app import create_app

        with create_app().app_context():
            return execute(job_id)
    attempt = _claim(job_id)
    if attempt is None:  # unknown, or already done
        return None
    job = db.session.get(JobRun, job_id)
    try:
        result = _resolve(job.name)(job_id=job.id, **job.kwargs)
        if not _finish(job_id, attempt, status="done", progress=100, result=result):
            db.session.rollback()
            log.warning("job %s attempt %s was overtaken by a later attempt; its work is rolled "
                        "back", job_id, attempt)
            return None
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        _finish(job_id, attempt, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        db.session.commit()
        raise
    return None


def _claim(job_id: int) -> int | None:
    """Start an attempt unless the job is done; its attempt number, committed at once."""
    attempt = db.session.scalar(
        update(JobRun).where(JobRun.id == job_id, JobRun.status != "done")
        .values(status="running", attempts=JobRun.attempts + 1, started_at=utcnow())
        .returning(JobRun.attempts).execution_options(synchronize_session=False))
    db.session.commit()
    return attempt


def _finish(job_id: int, attempt: int, **values: Any) -> bool:
    """Record the attempt's outcome, in the caller's transaction, if no later attempt started."""
    outcome = db.session.execute(
        update(JobRun).where(JobRun.id == job_id, JobRun.attempts == attempt,
                             JobRun.status == "running")
        .values(finished_at=utcnow(), **values).execution_options(synchronize_session=False))
    return outcome.rowcount == 1


def fail_abandoned(*, now: datetime | None = None) -> int:
    """Mark `failed` the attempts still `running` ABANDONED_AFTER after they started; how many.
    The caller commits."""
    moment = now or utcnow()
    outcome = db.session.execute(
        update(JobRun).where(JobRun.status == "running",
                             JobRun.started_at < moment - ABANDONED_AFTER)
        .values(status="failed", error=ABANDONED_ERROR, finished_at=moment)
        .execution_options(synchronize_session=False))
    if outcome.rowcount:
        log.warning("%s job attempt(s) abandoned by their process marked failed", outcome.rowcount)
    return outcome.rowcount


@every(ABANDON_CHECK_SECONDS, "jobs.fail_abandoned")
def fail_abandoned_job(*, job_id: int) -> dict:
    """The clock's sweep of abandoned attempts (this job's own attempt is recent)."""
    return {"failed": fail_abandoned()}
