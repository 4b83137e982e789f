"""Dormitory pages and API: permissions (every role, someone else's object), flows, bad input."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from services.core.access import Role
from services.dorms.models import ApplicationStatus, Bed, DormApplication, Room, Stay, StayStatus
from services.dorms.operations import allocation
from services.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.dorms.factories import HEADER, apply, make_park
from tests.factories import PASSWORD, make_user

ROOMS = "A,101,1,F,2,standard,no,20,300,,\nA,102,1,M,2,standard,no,20,300,,"


def client_for(app, user):
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def bearer(client, user):
    token = client.post("/api/v1/auth/token", json={"username": user.username,
                                                    "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_worker_applies_through_the_form_and_sees_position_and_points(app):
    park, employer, _ = make_park(ROOMS)
    worker = make_user("worker", org=employer)
    client = client_for(app, worker)
    assert park.name in client.get("/dorms/").get_data(as_text=True)
    token = csrf_token(client, f"/dorms/apply/{park.id}")
    response = client.post(f"/dorms/apply/{park.id}", data={
        "csrf_token": token, "gender": "F", "move_in_date": "2099-01-01", "shift": "day",
        "max_rent_yuan": "400", "building_1": "A", "building_2": "", "building_3": ""})
    assert response.status_code == 200 and 'id="move_in_date-error"' in response.get_data(as_text=True)
    from datetime import date, timedelta

    day = (date.today() + timedelta(days=5)).isoformat()
    response = client.post(f"/dorms/apply/{park.id}", data={
        "csrf_token": token, "gender": "F", "move_in_date": day, "shift": "day",
        "max_rent_yuan": "400", "building_1": "A", "building_2": "", "building_3": ""})
    application = db.session.scalar(select(DormApplication))
    assert response.status_code == 302 and response.location == f"/dorms/applications/{application.id}"
    assert application.max_rent_fen == 40000 and application.preferred_buildings == ["A"]
    page = client.get(response.location).get_data(as_text=True)
    assert "1" in page and str(application.points) in page


def test_worker_accepts_an_offer_on_the_page(app):
    park, employer, manager = make_park(ROOMS)
    worker = make_user("worker", org=employer)
    application = apply(worker, park)
    allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
    db.session.commit()
    stay = db.session.scalar(select(Stay))
    client = client_for(app, worker)
    path = f"/dorms/applications/{application.id}"
    response = post_form(client, f"/dorms/offers/{stay.id}/accept", {}, token_from=path)
    assert response.status_code == 302
    db.session.refresh(stay)
    assert stay.status is StayStatus.RESERVED and application.status is ApplicationStatus.ACCEPTED


def test_other_workers_and_other_parks_cannot_see_or_touch(app):
    park, employer, manager = make_park(ROOMS)
    other_park, _, other_manager = make_park(ROOMS)
    owner = make_user("worker", org=employer)
    application = apply(owner, park)
    allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
    db.session.commit()
    stay = db.session.scalar(select(Stay))
    intruders = [make_user("worker", org=employer), other_manager, make_user("caseworker"),
                 make_user("provider"), make_user("admin"), make_user("coordinator")]
    for intruder in intruders:
        client = client_for(app, intruder)
        assert client.get(f"/dorms/applications/{application.id}").status_code in (403, 404)
        response = post_form(client, f"/dorms/offers/{stay.id}/decline", {})
        assert response.status_code in (403, 404)
        headers = bearer(client, intruder)
        answer = client.get(f"/api/v1/dorm-applications/{application.id}", headers=headers)
        assert answer.status_code in (403, 404) and owner.name not in answer.get_data(as_text=True)
    db.session.refresh(stay)
    assert stay.status is StayStatus.OFFERED
    manager_client = client_for(app, manager)
    assert manager_client.get(f"/dorms/applications/{application.id}").status_code == 200


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.PARK_MANAGER])
def test_manager_pages_refuse_other_roles(app, role):
    user = make_user(role)
    client = client_for(app, user)
    for path in ("/dorms/manage", "/dorms/manage/rooms", "/dorms/manage/import",
                 "/dorms/manage/policy", "/dorms/manage/runs", "/dorms/manage/queue"):
        assert client.get(path).status_code == 403, path


def test_manager_import_preview_then_confirm(app):
    park, employer, manager = make_park()
    client = client_for(app, manager)
    bad = (HEADER + "\nA,101,1,F,4,standard,no,20,300,,\nA,102,1,Q,4,standard,no,20,300,,\n").encode()
    token = csrf_token(client, "/dorms/manage/import")
    response = client.post("/dorms/manage/import", data={
        "csrf_token": token, "file": (io.BytesIO(bad), "rooms.csv")}, content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert "3" in body and "confirm" not in body.split("</form>")[-2]
    assert db.session.scalar(select(func.count(Room.id))) == 0
    good = (HEADER + "\nA,101,1,F,4,standard,no,20,300,,\nA,102,1,M,4,standard,no,20,300,,\n").encode()
    response = client.post("/dorms/manage/import", data={
        "csrf_token": token, "file": (io.BytesIO(good), "rooms.csv")}, content_type="multipart/form-data")
    assert db.session.scalar(select(func.count(Room.id))) == 0  # nothing saved before confirming
    import re

    confirm_token = re.search(r'name="token" type="hidden" value="([^"]+)"', response.get_data(as_text=True))
    assert confirm_token
    response = client.post("/dorms/manage/import/confirm", data={
        "csrf_token": token, "token": confirm_token.group(1)})
    assert response.status_code == 302 and response.location == "/dorms/manage/rooms"
    assert db.session.scalar(select(func.count(Room.id))) == 2
    assert db.session.scalar(select(func.count(Bed.id))) == 8
    # a replayed confirmation does nothing
    client.post("/dorms/manage/import/confirm", data={"csrf_token": token, "token": confirm_token.group(1)})
    assert db.session.scalar(select(func.count(Room.id))) == 2


def test_manager_runs_dry_run_then_commit(app):
    park, employer, manager = make_park(ROOMS)
    apply(make_user("worker", org=employer), park)
    client = client_for(app, manager)
    response = post_form(client, "/dorms/manage/runs", {"commit": "0"}, token_from="/dorms/manage/runs")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert db.session.scalar(select(func.count(Stay.id))) == 0
    response = post_form(client, "/dorms/manage/runs", {"commit": "1"}, token_from="/dorms/manage/runs")
    assert db.session.scalar(select(func.count(Stay.id))) == 1
    assert client.get(response.location).status_code == 200
    assert page


def test_run_whose_attempt_died_shows_failed_after_the_clocks_sweep(app, monkeypatch):
    from datetime import timedelta

    from services.core import jobs
    from services.core.audit import utcnow
    from services.dorms.models import AllocationRun

    park, employer, manager = make_park(ROOMS)
    apply(make_user("worker", org=employer), park)
    client = client_for(app, manager)
    # The attempt starts and its process is killed (a gunicorn worker past its timeout): the
    # job is claimed and never finished.
    monkeypatch.setattr(jobs, "start", lambda job: jobs._claim(job.id))
    response = post_form(client, "/dorms/manage/runs", {"commit": "1"},
                         token_from="/dorms/manage/runs")
    assert response.status_code == 302
    run = db.session.scalar(select(AllocationRun).order_by(AllocationRun.id.desc()))
    assert run.status == "queued" and run.job_id is not None  # linked before it started
    assert 'http-equiv="refresh"' in client.get(response.location).get_data(as_text=True)

    assert jobs.fail_abandoned(now=utcnow() + timedelta(minutes=1)) == 0  # may still run
    assert jobs.fail_abandoned(now=utcnow() + jobs.ABANDONED_AFTER + timedelta(seconds=1)) == 1
    db.session.commit()
    page = client.get(response.location).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page and 'class="notice"' in page
    assert db.session.scalar(select(func.count(Stay.id))) == 0
    listed = client.get("/dorms/manage/runs").get_data(as_text=True)
    assert '<td colspan="2">失败</td>' in listed  # the runs list says so too (Chinese default)
    assert f"#{run.id} · " in client.get("/dorms/manage").get_data(as_text=True)
    assert "· 失败</a>" in client.get("/dorms/manage").get_data(as_text=True)


def test_manager_cannot_open_another_parks_run_or_bed(app):
    park, employer, manager = make_park(ROOMS)
    other_park, _, other_manager = make_park(ROOMS)
    run = allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=False)
    db.session.commit()
    bed = db.session.scalar(select(Bed).join(Room).where(Room.building.has(park_id=park.id)))
    client = client_for(app, other_manager)
    assert client.get(f"/dorms/manage/runs/{run.id}").status_code == 404
    assert client.get(f"/dorms/manage/beds/{bed.id}/assign").status_code == 404
    headers = bearer(client, other_manager)
    assert client.post(f"/api/v1/beds/{bed.id}/assign", json={"application_id": 1},
                       headers=headers).status_code == 404
    assert client.get(f"/api/v1/parks/{park.id}/rooms", headers=headers).status_code == 404


def test_api_application_offer_and_assignment(app):
    park, employer, manager = make_park(ROOMS)
    worker = make_user("worker", org=employer)
    client = app.test_client()
    headers = bearer(client, worker)
    from datetime import date, timedelta

    body = {"park_id": park.id, "gender": "F", "shift": "day", "smoker": False,
            "needs_accessible": False, "max_rent_fen": 50000, "preferred_buildings": ["A"],
            "move_in_date": (date.today() + timedelta(days=3)).isoformat()}
    for bad, status in (({**body, "gender": "X"}, 422), ({**body, "max_rent_fen": -5}, 422),
                        ({**body, "move_in_date": "9999-12-31"}, 422), ({**body, "park_id": 999}, 404)):
        assert client.post("/api/v1/dorm-applications", json=bad, headers=headers).status_code == status
    response = client.post("/api/v1/dorm-applications", json=body, headers=headers)
    assert response.status_code == 201
    created = response.get_json()
    assert created["queue_position"] == 1 and created["status"] == "waitlisted"
    assert client.post("/api/v1/dorm-applications", json=body, headers=headers).status_code == 409
    manager_headers = bearer(client, manager)
    rooms = client.get(f"/api/v1/parks/{park.id}/rooms?vacant=1", headers=manager_headers).get_json()
    assert rooms["total"] == 2
    bed_id = rooms["items"][0]["beds"][0]["id"]
    answer = client.post(f"/api/v1/beds/{bed_id}/assign", json={"application_id": created["id"]},
                         headers=manager_headers)
    assert answer.status_code == 200
    again = client.post(f"/api/v1/beds/{bed_id}/assign", json={"application_id": created["id"]},
                        headers=manager_headers)
    assert again.status_code == 409
    detail = client.get(f"/api/v1/dorm-applications/{created['id']}", headers=headers).get_json()
    assert detail["status"] == "offered" and detail["offer"]["status"] == "offered"
    accepted = client.post(f"/api/v1/dorm-offers/{detail['offer']['id']}/accept", headers=headers)
    assert accepted.get_json() == {"status": "reserved"}
    assert client.post(f"/api/v1/dorm-offers/{detail['offer']['id']}/decline",
                       headers=headers).status_code == 409


def test_opening_the_policy_page_saves_nothing(app):
    from services.dorms.models import DormPolicy

    park, _, manager = make_park()
    client = client_for(app, manager)
    assert client.get("/dorms/manage/policy").status_code == 200
    db.session.expire_all()
    assert db.session.get(DormPolicy, park.id) is None  # no state change on GET
