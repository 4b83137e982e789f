"""Applications: eligibility with reasons, points and breakdown, queue position, lottery seed."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from services.accounts.models import EmploymentForm, Honour, WorkerFacts
from services.core.errors import Conflict, ValidationFailed
from services.dorms.models import ApplicationStatus, DormApplication, Shift
from services.dorms.operations import applications as ops
from services.extensions import db
from tests.dorms.factories import apply, make_park
from tests.factories import make_user


def test_worker_of_a_park_company_applies_and_is_queued(app):
    park, employer, _ = make_park("A,101,1,F,4,standard,no,20,300,,")
    worker = make_user("worker", org=employer)
    application = apply(worker, park, preferred_buildings=["a"])
    assert application.status is ApplicationStatus.WAITLISTED
    assert application.preferred_buildings == ["A"]
    assert 0 <= application.lottery < 1
    assert ops.queue_position(application) == 1


@pytest.mark.parametrize("who", ["other_park", "no_employer", "staff"])
def test_ineligible_workers_get_a_reason(app, who):
    park, employer, _ = make_park()
    other_park, other_employer, _ = make_park()
    user = {"other_park": lambda: make_user("worker", org=other_employer),
            "no_employer": lambda: make_user("worker"),
            "staff": lambda: make_user("caseworker")}[who]()
    problem = ops.eligibility_problem(user, park.id)
    assert problem
    with pytest.raises(Conflict) as caught:
        apply(user, park)
    assert caught.value.message == problem


def test_gig_workers_are_admitted_unless_the_park_says_no(app):
    park, _, _ = make_park()
    rider = make_user("worker")
    rider.employment_form = EmploymentForm.PLATFORM
    db.session.commit()
    assert ops.eligibility_problem(rider, park.id) is None
    ops.ensure_policy(park.id).admits_gig_workers = False
    assert ops.eligibility_problem(rider, park.id)


def test_one_open_application_per_worker_and_park(app):
    park, employer, _ = make_park()
    worker = make_user("worker", org=employer)
    apply(worker, park)
    with pytest.raises(Conflict):
        apply(worker, park)
    db.session.add(DormApplication(worker_id=worker.id, park_id=park.id, gender="F",
                                   move_in_date=date.today(), shift=Shift.DAY, max_rent_fen=1,
                                   status=ApplicationStatus.SUBMITTED))
    with pytest.raises(IntegrityError):  # the database guarantees it too
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("field,value", [
    ("gender", "X"), ("move_in_date", date.today() - timedelta(days=1)),
    ("move_in_date", date(9999, 1, 1)), ("max_rent_fen", -1),
    ("preferred_buildings", ["A", "B", "C", "D"]), ("preferred_buildings", ["Z"]),
    ("group_code", "x"), ("couple_with_username", "nobody-here"),
])
def test_bad_input_is_refused_and_nothing_saved(app, field, value):
    park, employer, _ = make_park("A,101,1,F,4,standard,no,20,300,,")
    worker = make_user("worker", org=employer)
    with pytest.raises(ValidationFailed):
        apply(worker, park, **{field: value})
    db.session.rollback()
    assert db.session.query(DormApplication).count() == 0


def test_points_breakdown_and_queue_order(app):
    park, employer, _ = make_park()
    honoured, plain = make_user("worker", org=employer), make_user("worker", org=employer)
    db.session.add(WorkerFacts(user_id=honoured.id, honour=Honour.MODEL_WORKER, skill_grade=2,
                               hardship_registered=True, in_park_since=date.today() - timedelta(days=3 * 365 + 2)))
    db.session.commit()
    first, second = apply(plain, park), apply(honoured, park)
    assert second.points == 20 + 15 + 2 * 3 + 3 * 2
    assert {item["factor"] for item in second.points_breakdown} == {
        "model_worker", "hardship", "skill_grade", "years_in_park"}
    assert ops.queue_position(second) == 1 and ops.queue_position(first) == 2


def test_publishing_a_seed_redraws_ties(app):
    park, employer, manager = make_park()
    apps = [apply(make_user("worker", org=employer), park) for _ in range(5)]
    assert ops.publish_seed(actor_id=manager.id, park_id=park.id, seed="2026-12-01 draw") == 5
    db.session.commit()
    for application in apps:
        assert application.lottery == ops.lottery_value("2026-12-01 draw", str(application.id))
    order = sorted(apps, key=lambda a: a.lottery)
    assert [ops.queue_position(a) for a in order] == [1, 2, 3, 4, 5]


def test_lottery_recipe_matches_the_design():
    import hashlib

    digest = hashlib.sha256(b"seed:42").digest()
    assert ops.lottery_value("seed", "42") == int.from_bytes(digest[:8], "big") / 2**64


def test_withdraw_only_own_waiting_application(app):
    park, employer, _ = make_park()
    worker, other = make_user("worker", org=employer), make_user("worker", org=employer)
    application = apply(worker, park)
    with pytest.raises(Exception):
        ops.withdraw_application(worker=other, application=application)
    ops.withdraw_application(worker=worker, application=application)
    assert application.status is ApplicationStatus.WITHDRAWN
    apply(worker, park)  # may apply again once the old one is closed
