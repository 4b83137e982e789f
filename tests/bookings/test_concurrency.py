"""Many workers booking the last seats at the same instant, in threads, without HTTP.

Each thread has its own app context, session and database connection; a barrier releases them
together. Runs on a file SQLite database always and on PostgreSQL when TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from services.accounts.models import User
from services.bookings import operations
from services.bookings.models import Booking, BookingStatus, Slot
from services.core.errors import DomainError
from services.extensions import db
from tests.bookings.helpers import make_service, make_slot
from tests.conftest import build_app
from tests.factories import make_user

WORKERS = 30
CAPACITY = 5


def _run_together(app, jobs) -> list[str]:
    barrier = threading.Barrier(len(jobs))
    answers: list[str] = []
    lock = threading.Lock()

    def run(job) -> None:
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                outcome = job()
                db.session.commit()
                answer = "created" if outcome.created else "replayed"
            except DomainError as error:
                db.session.rollback()
                answer = error.code
            except Exception as error:  # noqa: BLE001  (reported, and fails the test)
                db.session.rollback()
                answer = f"crash:{type(error).__name__}:{error}"
            finally:
                db.session.remove()
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a booking thread hung"
    return answers


def _book_job(worker_id: int, slot_id: int, **kwargs):
    def job():
        worker = db.session.get(User, worker_id)
        slot = db.session.get(Slot, slot_id)
        return operations.book(worker=worker, slot=slot, **kwargs)
    return job


def _check(app) -> None:
    with app.app_context():
        db.drop_all()
        db.create_all()
        slot = make_slot(make_service(), capacity=CAPACITY)
        workers = [make_user("worker").id for _ in range(WORKERS)]
        slot_id = slot.id
        db.session.remove()
    answers = _run_together(app, [_book_job(w, slot_id) for w in workers])
    assert Counter(answers) == {"created": CAPACITY, "slot_full": WORKERS - CAPACITY}, answers

    with app.app_context():
        same_key = make_user("worker").id
        other_slot = make_slot(db.session.get(Slot, slot_id).service, capacity=CAPACITY,
                               start_in_hours=100).id
        db.session.remove()
    answers = _run_together(app, [_book_job(same_key, other_slot, idempotency_key="double-tap-1")
                                  for _ in range(10)])
    assert Counter(answers) == {"created": 1, "replayed": 9}, answers

    with app.app_context():
        for sid, expected in ((slot_id, CAPACITY), (other_slot, 1)):
            slot = db.session.get(Slot, sid)
            rows = db.session.scalar(select(func.count(Booking.id)).where(
                Booking.slot_id == sid, Booking.status == BookingStatus.BOOKED))
            assert slot.booked_count == rows == expected
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_booking_race_sqlite(tmp_path):
    _check(build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/race.db"))


@pytest.mark.postgres
def test_booking_race_postgres(tmp_path, pg_url):
    _check(build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
