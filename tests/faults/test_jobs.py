"""A job that fails is retried and its effect is applied exactly once.

The job (`bench/drill_jobs.py`, also run by the drill) writes one effect row and fails after it
on its first attempt. Its retry applies the effect once; a done job never runs again; an attempt
left `running` by a killed process is taken over; and of two attempts that overlap, only the
later one commits.
"""
from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import func, select

from bench.drill_jobs import EFFECT, effect_job
from services.core import jobs
from services.core.audit import AuditEvent, record
from services.core.jobs import JobRun
from services.extensions import db
from tests.conftest import build_app


def _effects(job_id: int) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == EFFECT, AuditEvent.object_id == str(job_id)))


def _state(job_id: int) -> tuple[str, int, int]:
    db.session.expire_all()
    job = db.session.get(JobRun, job_id)
    return job.status, job.attempts, _effects(job_id)


def slow_effect_job(*, job_id: int, hold: float) -> dict:
    """Write the effect, then take `hold` seconds before the runner commits."""
    record(action=EFFECT, object_type="job_run", object_id=job_id, actor_id=None)
    db.session.flush()
    time.sleep(hold)
    return {"attempt": db.session.get(JobRun, job_id).attempts}


def test_failed_first_attempt_is_retried_and_applied_once(app):
    job = jobs.enqueue(effect_job, mode="raise")
    assert _state(job.id) == ("failed", 1, 0)  # the failed attempt's effect was rolled back
    jobs.execute(job.id)  # the retry
    assert _state(job.id) == ("done", 2, 1)
    jobs.execute(job.id)  # a late duplicate delivery: a done job never runs again
    assert _state(job.id) == ("done", 2, 1)


def test_attempt_of_a_killed_process_is_taken_over(app):
    job = JobRun(name=jobs._dotted(effect_job), kwargs={"mode": "none"}, status="running",
                 attempts=1)  # what a SIGKILL in the middle of the first attempt leaves
    db.session.add(job)
    db.session.commit()
    jobs.execute(job.id)
    assert _state(job.id) == ("done", 2, 1)


@pytest.mark.postgres
def test_overlapping_attempts_apply_once(pg_app, caplog):
    job = JobRun(name=jobs._dotted(slow_effect_job), kwargs={"hold": 1.0})
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    db.session.remove()
    errors = []

    def attempt() -> None:
        with pg_app.app_context():
            try:
                jobs.execute(job_id)
            except Exception as error:  # noqa: BLE001  (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    first = threading.Thread(target=attempt)
    second = threading.Thread(target=attempt)
    first.start()
    time.sleep(0.3)  # the second starts while the first holds its uncommitted effect
    second.start()
    first.join(10)
    second.join(10)
    assert errors == []
    assert _state(job_id) == ("done", 2, 1)
    assert any(r.levelno == logging.WARNING and "overtaken" in r.getMessage()
               for r in caplog.records)


@pytest.mark.redis
def test_rq_retries_a_failed_job_and_applies_it_once(tmp_path, redis_url, monkeypatch):
    from redis import Redis
    from rq import SimpleWorker

    monkeypatch.setattr(jobs, "RETRY_INTERVALS", [0])  # at once: no RQ scheduler in the test
    name = f"anju-faults-{tmp_path.name}"
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/rq.db",
                    REDIS_URL=redis_url, JOBS_INLINE=False, RQ_QUEUE=name)
    with app.app_context():
        db.create_all()
        job = jobs.enqueue(effect_job, mode="raise")
        assert job.status == "queued"
        queue = jobs.queue()
        try:
            SimpleWorker([queue], connection=queue.connection).work(burst=True)
            assert _state(job.id) == ("done", 2, 1)
        finally:
            connection = Redis.from_url(redis_url)
            for key in connection.scan_iter(f"rq:*{name}*"):
                connection.delete(key)
            db.session.remove()
            db.drop_all()


def test_attempts_abandoned_by_their_process_are_failed_by_the_sweep(app):
    from datetime import timedelta

    from services.core.audit import utcnow

    def started(minutes_ago: float | None, status: str = "running") -> int:
        job = JobRun(name=jobs._dotted(effect_job), kwargs={"mode": "none"}, status=status,
                     attempts=0 if minutes_ago is None else 1,
                     started_at=None if minutes_ago is None
                     else utcnow() - timedelta(minutes=minutes_ago))
        db.session.add(job)
        db.session.commit()
        return job.id

    limit = jobs.ABANDONED_AFTER.total_seconds() / 60
    dead, recent = started(limit + 1), started(limit - 1)
    finished, waiting = started(limit + 60, status="done"), started(None, status="queued")

    assert jobs.fail_abandoned() == 1
    db.session.commit()
    assert _state(dead) == ("failed", 1, 0)
    assert db.session.get(JobRun, dead).error == jobs.ABANDONED_ERROR
    assert db.session.get(JobRun, dead).finished_at is not None
    assert [_state(j)[0] for j in (recent, finished, waiting)] == ["running", "done", "queued"]
    assert jobs.fail_abandoned() == 0  # a second sweep does nothing

    jobs.execute(dead)  # a late retry still takes it, and applies it once
    assert _state(dead) == ("done", 2, 1)


def test_an_attempt_swept_while_still_running_cannot_commit(app):
    """The sweep's limit is far beyond any attempt's life; an attempt that outlived it anyway
    cannot record itself done (execute() then rolls its work back), and a retry does it once."""
    from datetime import timedelta

    from services.core.audit import utcnow

    job = jobs.record(effect_job, mode="none")
    attempt = jobs._claim(job.id)
    assert db.session.get(JobRun, job.id).started_at is not None
    assert jobs.fail_abandoned(now=utcnow() + jobs.ABANDONED_AFTER + timedelta(seconds=1)) == 1
    db.session.commit()
    assert not jobs._finish(job.id, attempt, status="done")
    db.session.rollback()
    jobs.execute(job.id)
    assert _state(job.id) == ("done", 2, 1)
