"""Worker facts (points) kept by the park manager: who may, what is saved, what points follow."""
from __future__ import annotations

import pytest

from services.accounts.models import WorkerFacts
from services.core.access import Role
from services.dorms.operations import allocation
from services.extensions import db
from tests.conftest import login, post_form
from tests.dorms.factories import apply, make_park
from tests.factories import make_user


def test_manager_records_facts_and_points_follow_at_the_next_run(app):
    park, employer, manager = make_park("A,101,1,F,2,standard,no,20,300,,")
    worker = make_user("worker", org=employer)
    application = apply(worker, park)
    assert application.points == 0
    client = app.test_client()
    login(client, manager.username)
    assert worker.username in client.get("/dorms/manage/facts").get_data(as_text=True)
    path = f"/dorms/manage/facts/{worker.id}"
    bad = post_form(client, path, {"honour": "king", "skill_grade": "9"}, token_from=path)
    assert bad.status_code == 200 and db.session.get(WorkerFacts, worker.id) is None
    response = post_form(client, path, {"honour": "model_worker", "hardship_registered": "y",
                                        "skill_grade": "2", "in_park_since": ""}, token_from=path)
    assert response.status_code == 302
    facts = db.session.get(WorkerFacts, worker.id)
    assert facts.honour.value == "model_worker" and facts.hardship_registered and facts.skill_grade == 2
    allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=False)
    assert application.points == 20 + 15 + 2 * 3


def test_facts_of_other_parks_workers_are_hidden(app):
    park, employer, manager = make_park()
    other_park, other_employer, _ = make_park()
    stranger = make_user("worker", org=other_employer)
    client = app.test_client()
    login(client, manager.username)
    assert client.get(f"/dorms/manage/facts/{stranger.id}").status_code == 404
    assert stranger.username not in client.get("/dorms/manage/facts").get_data(as_text=True)


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.PARK_MANAGER])
def test_only_park_managers(app, role):
    user = make_user(role)
    client = app.test_client()
    login(client, user.username)
    assert client.get("/dorms/manage/facts").status_code == 403
