"""API v1 booking endpoints: catalogue, slots, bookings with idempotency keys, cancel."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.accounts.sessions import issue_token
from services.bookings.models import Booking, BookingStatus, Service, Slot
from services.extensions import db
from tests.bookings.helpers import book, make_service, make_slot, utc
from tests.factories import make_user


def auth(user) -> dict:
    return {"Authorization": f"Bearer {issue_token(user)[0]}"}


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def test_any_role_lists_services_with_next_slots(client):
    service = make_service(title="Legal consultation")
    slot = make_slot(service, capacity=3)
    book(make_user("worker"), slot)
    for role in ("worker", "caseworker", "provider", "admin"):
        response = client.get("/api/v1/services", headers=auth(make_user(role)))
        assert response.status_code == 200
        body = response.get_json()
        assert set(body) == {"items", "page", "per_page", "total"} and body["total"] == 1
        item = body["items"][0]
        assert item["title"] == "Legal consultation" and item["free_seats"] == 2
        assert item["next_slots"][0]["id"] == slot.id and item["next_slots"][0]["free_seats"] == 2
        assert item["next_slots"][0]["starts_at"].endswith("+00:00")
    assert client.get("/api/v1/services").status_code == 401
    worker = make_user("worker")
    assert client.get("/api/v1/services?per_page=500", headers=auth(worker)).status_code == 422
    assert client.get("/api/v1/services?category=nope", headers=auth(worker)).status_code == 422
    assert client.get("/api/v1/services?category=training",
                      headers=auth(worker)).get_json()["total"] == 0


def test_provider_creates_service_and_slot(client):
    provider = make_user("provider")
    response = client.post("/api/v1/services", headers=auth(provider), json={
        "title": "Forklift course", "description": "Two days", "category": "training",
        "location": "Training centre", "max_active_bookings": 1})
    assert response.status_code == 201
    service = db.session.get(Service, response.get_json()["id"])
    assert service.provider_id == provider.org_id and service.max_active_bookings == 1
    starts = utc(48).astimezone().isoformat()
    response = client.post(f"/api/v1/services/{service.id}/slots", headers=auth(provider),
                           json={"starts_at": starts, "ends_at": utc(50).isoformat(),
                                 "capacity": 10})
    assert response.status_code == 201
    assert db.session.get(Slot, response.get_json()["id"]).capacity == 10


@pytest.mark.parametrize("body, status", [
    ({"title": "x", "category": "astrology", "location": "here"}, 422),
    ({"title": "", "category": "legal", "location": "here"}, 422),
    ({"title": "x" * 500, "category": "legal", "location": "here"}, 422),
    ({"title": "x", "category": "legal"}, 422),  # no place and not online
    ({"title": "x", "category": "legal", "location": "h", "max_active_bookings": -1}, 422),
    ({"title": "x", "category": "legal", "location": "h", "provider_id": 99}, 422),
    ([1, 2], 400),
])
def test_service_bad_input(client, body, status):
    response = client.post("/api/v1/services", headers=auth(make_user("provider")), json=body)
    assert response.status_code == status and "error" in response.get_json()
    assert count(Service) == 0


def test_slot_bad_input_and_other_providers_service(client):
    service = make_service()
    other = make_user("provider")
    good = {"starts_at": utc(48).isoformat(), "ends_at": utc(49).isoformat(), "capacity": 3}
    assert client.post(f"/api/v1/services/{service.id}/slots", headers=auth(other),
                       json=good).status_code == 404
    assert client.post("/api/v1/services/9999/slots", headers=auth(other), json=good).status_code == 404
    owner = db.session.scalar(select(Service)).provider_id
    from services.accounts.models import User

    owner_user = db.session.scalar(select(User).where(User.org_id == owner))
    for bad in ({**good, "starts_at": "2030-01-01T09:00:00"},  # no offset
                {**good, "starts_at": "9999-12-31T09:00:00+08:00", "ends_at": "9999-12-31T10:00:00+08:00"},
                {**good, "starts_at": utc(-5).isoformat()},
                {**good, "capacity": "3"}, {**good, "capacity": 0},
                {**good, "ends_at": good["starts_at"]}):
        response = client.post(f"/api/v1/services/{service.id}/slots", headers=auth(owner_user),
                               json=bad)
        assert response.status_code == 422, bad
    assert client.post(f"/api/v1/services/{service.id}/slots", headers=auth(make_user("worker")),
                       json=good).status_code == 403
    assert count(Slot) == 0


def test_book_replay_full_and_cancel(client):
    slot = make_slot(make_service(), capacity=1)
    worker, other = make_user("worker"), make_user("worker")
    body = {"slot_id": slot.id, "idempotency_key": "mini-program-0001"}
    first = client.post("/api/v1/bookings", headers=auth(worker), json=body)
    again = client.post("/api/v1/bookings", headers=auth(worker), json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert first.get_json()["status"] == "booked" and again.headers["Idempotent-Replayed"] == "true"
    assert "/provider/check-in?t=" in first.get_json()["check_in_url"]
    assert count(Booking) == 1
    duplicate = client.post("/api/v1/bookings", headers=auth(worker), json={"slot_id": slot.id})
    assert duplicate.status_code == 409 and duplicate.get_json()["error"]["code"] == "already_booked"
    full = client.post("/api/v1/bookings", headers=auth(other), json={"slot_id": slot.id})
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "slot_full"
    waiting = client.post("/api/v1/bookings", headers=auth(other),
                          json={"slot_id": slot.id, "waitlist": True})
    assert waiting.status_code == 201 and waiting.get_json()["status"] == "waitlisted"
    booking_id = first.get_json()["id"]
    assert client.post(f"/api/v1/bookings/{booking_id}/cancel",
                       headers=auth(other)).status_code == 404
    assert client.get(f"/api/v1/bookings/{booking_id}", headers=auth(other)).status_code == 404
    cancelled = client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=auth(worker))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    promoted = client.get(f"/api/v1/bookings/{waiting.get_json()['id']}", headers=auth(other))
    assert promoted.get_json()["status"] == "booked" and promoted.get_json()["check_in_code"]
    again = client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=auth(worker))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_state"


@pytest.mark.parametrize("body, status", [
    ({}, 422), ({"slot_id": "1"}, 422), ({"slot_id": -1}, 422), ({"slot_id": 999999}, 404),
    ({"slot_id": 1, "idempotency_key": "short"}, 422),
    ({"slot_id": 1, "idempotency_key": "x" * 65}, 422),
    ({"slot_id": 1, "idempotency_key": "bad key with spaces"}, 422),
])
def test_booking_bad_input(client, body, status):
    make_slot(make_service())
    response = client.post("/api/v1/bookings", headers=auth(make_user("worker")), json=body)
    assert response.status_code == status
    assert count(Booking) == 0


def test_booking_roles(client):
    slot = make_slot(make_service())
    for role in ("provider", "caseworker", "admin"):
        response = client.post("/api/v1/bookings", headers=auth(make_user(role)),
                               json={"slot_id": slot.id})
        assert response.status_code == 403
    assert client.post("/api/v1/bookings", json={"slot_id": slot.id}).status_code == 401
    assert count(Booking) == 0


def test_booking_window_errors_are_409(client):
    service = make_service(open_days_before=1)
    slot = make_slot(service, start_in_hours=24 * 5)
    response = client.post("/api/v1/bookings", headers=auth(make_user("worker")),
                           json={"slot_id": slot.id})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_open"
    assert BookingStatus.BOOKED.value == "booked" and timedelta


def test_openapi_has_the_booking_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/services"])
    assert "post" in spec["paths"]["/services/{service_id}/slots"]
    assert "post" in spec["paths"]["/bookings"]
    assert "409" in spec["paths"]["/bookings"]["post"]["responses"]
    assert "post" in spec["paths"]["/bookings/{booking_id}/cancel"]


def test_personal_data_export_has_the_bookings(client):
    worker = make_user("worker")
    booking = book(worker, make_slot(make_service(title="Legal consultation")))
    data = client.get("/api/v1/me/export", headers=auth(worker)).get_json()
    assert data["bookings"]["bookings"][0]["id"] == booking.id
    assert data["bookings"]["bookings"][0]["service"] == "Legal consultation"
