"""Periodic jobs: registration, due times, the scheduler loop."""
from __future__ import annotations

import pytest

from services.core import schedule


def test_due_runs_everything_at_start_then_by_interval():
    import services.bookings.jobs  # noqa: F401
    import services.cases.jobs  # noqa: F401
    import services.dorms.jobs  # noqa: F401

    names = {p.name for p in schedule.registered()}
    assert {"bookings.sweep", "dorms.expire_offers", "cases.sweep", "jobs.fail_abandoned"} <= names
    first = schedule.due({}, now=1000.0)
    assert {p.name for p in first} == names
    last = {p.name: 1000.0 for p in first}
    assert schedule.due(last, now=1100.0) == []
    assert {p.name for p in schedule.due(last, now=1300.0)} == names - {"jobs.fail_abandoned"}
    assert "jobs.fail_abandoned" in {p.name for p in schedule.due(last, now=1600.0)}


def test_too_frequent_is_refused():
    with pytest.raises(ValueError):
        schedule.every(1, "x")


def test_scheduler_enqueues_and_survives_a_failing_enqueue(app):
    calls = []

    def enqueue(job):
        calls.append(job.__name__)
        if len(calls) == 1:
            raise RuntimeError("redis down")

    count = schedule.run_forever(enqueue=enqueue, tick_seconds=0, stop_after=1)
    assert len(calls) == len(schedule.registered()) and count == len(calls) - 1


def test_the_real_jobs_run_inline(app):
    from services.core import jobs
    from services.dorms.jobs import expire_offers_job

    job = jobs.enqueue(expire_offers_job)
    assert job.status == "done" and job.result == {"expired": 0}
