"""The concurrency proof: the real app under gunicorn (4 worker processes), 100 workers at once.

The schema comes from `db.create_all()` on the same DATABASE_URL (the bookings migration is
generated later), then `gunicorn -w 4 "app:create_app()"` serves it on a free port. A barrier
releases 100 threads together, each `POST /api/v1/bookings` for a 5-seat slot with its own
worker's bearer token: exactly 5 bookings, every other answer a 409 `slot_full`, no 5xx, and the
seat counter equal to the booking rows. Then 10 simultaneous double-submits of one request with
one idempotency key make one booking. Runs on a file SQLite database (WAL) always, and on
PostgreSQL when TEST_DATABASE_URL is set. gunicorn (`tests/live_server.py`) is always stopped,
even when a check fails.
"""
from __future__ import annotations

import http.client
import json
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from services.accounts.sessions import issue_token
from services.bookings.models import Booking, BookingStatus, Slot
from services.extensions import db
from tests.bookings.helpers import make_service, make_slot
from tests.conftest import build_app
from tests.factories import make_user
from tests.live_server import Gunicorn

SECRET_KEY = "gunicorn-race-test-secret-key"
WORKERS = 100
CAPACITY = 5
DOUBLE_SUBMITS = 10
REQUEST_TIMEOUT = 60


def _prepare(tmp_path, database_url: str) -> dict:
    """Schema, a 5-seat slot, 100 workers with tokens, and a slot for the double-submit check."""
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=SECRET_KEY)
    with app.app_context():
        db.drop_all()
        db.create_all()
        provider = make_user("provider")
        service = make_service(provider, max_active_bookings=5)
        slot = make_slot(service, capacity=CAPACITY, provider=provider)
        other = make_slot(service, capacity=CAPACITY, start_in_hours=100, provider=provider)
        tokens = [issue_token(make_user("worker"))[0] for _ in range(WORKERS + 1)]
        prepared = {"app": app, "slot": slot.id, "other": other.id, "tokens": tokens}
        db.session.remove()
        db.engine.dispose()
    return prepared


def _post_together(port: int, requests: list[tuple[str, dict]]) -> list[tuple[int, dict]]:
    """Send every (token, body) at the same instant; (status, JSON) of each answer."""
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def send(token: str, body: dict) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        payload = json.dumps(body)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        barrier.wait(timeout=30)
        try:
            connection.request("POST", "/api/v1/bookings", body=payload, headers=headers)
            response = connection.getresponse()
            answer = (response.status, json.loads(response.read() or b"{}"))
        except Exception as error:  # noqa: BLE001  (a failed request is a finding, reported below)
            answer = (0, {"exception": repr(error)})
        finally:
            connection.close()
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send, args=request, daemon=True) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=REQUEST_TIMEOUT + 30)
    assert not any(thread.is_alive() for thread in threads), "requests hung"
    return answers


def _prove(tmp_path, database_url: str) -> None:
    prepared = _prepare(tmp_path, database_url)
    server = Gunicorn(tmp_path, database_url, secret_key=SECRET_KEY)
    try:
        server.wait_ready()
        tokens = prepared["tokens"]
        answers = _post_together(server.port, [(token, {"slot_id": prepared["slot"]})
                                               for token in tokens[:WORKERS]])
        statuses = Counter(status for status, _ in answers)
        assert statuses == {201: CAPACITY, 409: WORKERS - CAPACITY}, (statuses, answers[:5])
        assert {body["error"]["code"] for status, body in answers if status == 409} == {"slot_full"}

        key = {"slot_id": prepared["other"], "idempotency_key": "double-submit-0001"}
        answers = _post_together(server.port, [(tokens[WORKERS], key)] * DOUBLE_SUBMITS)
        assert [status for status, _ in answers] == [201] * DOUBLE_SUBMITS, answers
        assert len({body["id"] for _, body in answers}) == 1
    finally:
        server.stop()
    app = prepared["app"]
    with app.app_context():
        for slot_id, expected in ((prepared["slot"], CAPACITY), (prepared["other"], 1)):
            rows = db.session.scalar(select(func.count(Booking.id)).where(
                Booking.slot_id == slot_id, Booking.status == BookingStatus.BOOKED))
            assert db.session.get(Slot, slot_id).booked_count == rows == expected
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_gunicorn_booking_race_sqlite(tmp_path):
    _prove(tmp_path, f"sqlite:///{tmp_path / 'race.db'}")


@pytest.mark.postgres
def test_gunicorn_booking_race_postgres(tmp_path, pg_url):
    _prove(tmp_path, pg_url)
