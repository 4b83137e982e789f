"""Allocation runs, offers, expiry with cascade, hand assignment (with its race)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.core.audit import utcnow
from services.core.errors import Conflict, InvalidState, ValidationFailed
from services.dorms.models import (AllocationRun, ApplicationStatus, Bed, DormApplication, Room,
                                   Stay, StayStatus)
from services.dorms.operations import allocation, offers
from services.extensions import db
from tests.concurrency import at_once
from tests.conftest import build_app
from tests.dorms.factories import apply, make_park
from tests.factories import make_user

ROOMS = """A,101,1,F,2,standard,no,20,300,,
A,102,1,M,2,standard,no,20,300,,
B,201,2,F,2,standard,yes,20,200,,
C,301,3,any,2,couple,no,20,500,,"""


def _workers(employer, n):
    return [make_user("worker", org=employer) for _ in range(n)]


def test_dry_run_changes_nothing_and_commit_makes_offers(app):
    park, employer, manager = make_park(ROOMS)
    apps = [apply(w, park) for w in _workers(employer, 3)]
    preview = allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=False)
    db.session.commit()
    # three non-smoking women, one non-smoking women's room of two beds: two placed
    assert preview.summary["placed"] == 2 and not preview.committed
    assert db.session.scalar(select(func.count(Stay.id))) == 0
    assert all(a.status is ApplicationStatus.WAITLISTED for a in apps)
    committed = allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
    db.session.commit()
    assert committed.input_hash == preview.input_hash  # same data, same answer
    assert committed.result["assignments"] == preview.result["assignments"]
    stays = list(db.session.scalars(select(Stay)))
    assert len(stays) == 2 and all(s.status is StayStatus.OFFERED for s in stays)
    assert sorted(a.status.value for a in apps) == ["offered", "offered", "waitlisted"]
    rooms = {db.session.get(Bed, s.bed_id).room.number for s in stays}
    assert rooms == {"101"} and len({s.bed_id for s in stays}) == 2  # never the smoking room


def test_rerun_on_same_input_reproduces_the_result(app):
    park, employer, manager = make_park(ROOMS)
    for worker in _workers(employer, 4):
        apply(worker, park)
    first = allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=False)
    second = allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=False)
    assert first.input_hash == second.input_hash and first.result["assignments"] == second.result["assignments"]
    assert first.engine_version and first.seed == f"park-{park.id}"


def test_unplaced_applicants_get_a_reason(app):
    park, employer, manager = make_park("A,101,1,F,1,standard,no,20,300,,")
    apps = [apply(w, park) for w in _workers(employer, 2)]
    poor = apply(make_user("worker", org=employer), park, max_rent_fen=100)
    allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
    db.session.commit()
    assert sorted(a.status.value for a in apps) == ["offered", "waitlisted"]
    loser = next(a for a in apps if a.status is ApplicationStatus.WAITLISTED)
    assert loser.reason_code == "outranked"
    assert poor.reason_code == "no_room_within_rent"


def test_accept_and_decline(app):
    park, employer, manager = make_park("A,101,1,F,1,standard,no,20,300,,")
    first, second = (apply(w, park) for w in _workers(employer, 2))
    allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
    db.session.commit()
    offered = db.session.scalar(select(Stay))
    holder = offered.worker
    other = first.worker if holder.id == second.worker_id else second.worker
    with pytest.raises(InvalidState):
        offers.accept_offer(worker=other, stay=offered)
    offers.decline_offer(worker=holder, stay=offered)
    db.session.commit()
    # the bed cascades to the other applicant at once
    cascaded = db.session.scalar(select(Stay).where(Stay.status == StayStatus.OFFERED))
    assert cascaded.worker_id == other.id
    offers.accept_offer(worker=other, stay=cascaded)
    db.session.commit()
    assert cascaded.status is StayStatus.RESERVED
    with pytest.raises(InvalidState):
        offers.decline_offer(worker=other, stay=cascaded)


def test_expiry_requeues_once_then_closes(app):
    park, employer, manager = make_park("A,101,1,F,1,standard,no,20,300,,")
    application = apply(make_user("worker", org=employer), park)
    for round_no in (1, 2):
        allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
        db.session.commit()
        expired = offers.expire_offers(now=utcnow() + timedelta(hours=49))
        db.session.commit()
        assert len(expired) == 1
    assert application.status is ApplicationStatus.EXPIRED and application.expired_offers == 2


def test_hand_assignment_follows_the_hard_rules(app):
    park, employer, manager = make_park(ROOMS)
    woman = apply(make_user("worker", org=employer), park)
    man = apply(make_user("worker", org=employer), park, gender="M")
    bed_women = db.session.scalar(select(Bed).join(Room).where(Room.number == "101"))
    bed_smoking = db.session.scalar(select(Bed).join(Room).where(Room.number == "201"))
    with pytest.raises(ValidationFailed):
        offers.assign_bed(actor_id=manager.id, bed=bed_women, application=woman, reason="")
    with pytest.raises(InvalidState):
        offers.assign_bed(actor_id=manager.id, bed=bed_women, application=man, reason="urgent")
    with pytest.raises(InvalidState):
        offers.assign_bed(actor_id=manager.id, bed=bed_smoking, application=woman, reason="urgent")
    stay = offers.assign_bed(actor_id=manager.id, bed=bed_women, application=woman, reason="urgent")
    db.session.commit()
    assert stay.assign_reason == "urgent" and woman.status is ApplicationStatus.OFFERED
    other = apply(make_user("worker", org=employer), park)
    with pytest.raises(Conflict):
        offers.assign_bed(actor_id=manager.id, bed=bed_women, application=other, reason="again")


def test_database_allows_one_holder_per_bed(app):
    from sqlalchemy.exc import IntegrityError

    park, employer, _ = make_park("A,101,1,F,1,standard,no,20,300,,")
    bed = db.session.scalar(select(Bed))
    a, b = (apply(w, park) for w in _workers(employer, 2))
    db.session.add(Stay(worker_id=a.worker_id, bed_id=bed.id, status=StayStatus.OFFERED))
    db.session.add(Stay(worker_id=b.worker_id, bed_id=bed.id, status=StayStatus.RESERVED))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def _race_two_managers(application_factory_app):
    app = application_factory_app
    with app.app_context():
        db.drop_all()
        db.create_all()
        park, employer, manager = make_park("A,101,1,F,1,standard,no,20,300,,")
        second = make_user("park_manager", org=park)
        first_app, second_app = (apply(w, park).id for w in _workers(employer, 2))
        bed_id = db.session.scalar(select(Bed.id))
        managers = (manager.id, second.id)
        db.session.remove()
    def assign(manager_id, application_id):
        offers.assign_bed(actor_id=manager_id, bed=db.session.get(Bed, bed_id),
                          application=db.session.get(DormApplication, application_id),
                          reason="race")

    outcomes = at_once(app, assign, zip(managers, (first_app, second_app)))
    with app.app_context():
        holders = db.session.scalar(select(func.count(Stay.id)).where(Stay.bed_id == bed_id))
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return outcomes, holders


def test_two_managers_one_bed_sqlite(tmp_path):
    outcomes, holders = _race_two_managers(
        build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/race.db"))
    assert outcomes == ["bed_taken", "ok"] and holders == 1


@pytest.mark.postgres
def test_two_managers_one_bed_postgres(tmp_path, pg_url):
    outcomes, holders = _race_two_managers(build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
    assert outcomes == ["bed_taken", "ok"] and holders == 1


def test_run_through_the_job_queue(app):
    from services.core.jobs import JobRun
    from services.dorms.jobs import queue_allocation

    park, employer, manager = make_park(ROOMS)
    apply(make_user("worker", org=employer), park)
    run_id = queue_allocation(park_id=park.id, actor_id=manager.id, commit=False).id
    job = db.session.scalar(select(JobRun).where(JobRun.name == "services.dorms.jobs:allocation_job"))
    assert job.status == "done" and job.result["placed"] == 1
    assert db.session.get(AllocationRun, run_id).job_id == job.id
