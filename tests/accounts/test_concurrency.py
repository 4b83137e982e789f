"""Two people registering the same username or phone at the same instant: one wins, one 409."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from services.accounts.models import User
from services.extensions import db
from tests.conftest import build_app


def _race(app, bodies: list[dict]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def register(body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/api/v1/auth/register", json=body).status_code)

    threads = [threading.Thread(target=register, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


def _check(app) -> None:
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
    same_name = [{"username": "racer", "password": "racing-pass-1", "phone": f"1370000000{n}",
                  "name": "r"} for n in range(4)]
    assert _race(app, same_name) == [201, 409, 409, 409]
    same_phone = [{"username": f"phone{n}", "password": "racing-pass-1", "phone": "13711112222",
                   "name": "p"} for n in range(4)]
    assert _race(app, same_phone) == [201, 409, 409, 409]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == 2
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_registration_race_sqlite(tmp_path):
    _check(build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/race.db"))


@pytest.mark.postgres
def test_registration_race_postgres(tmp_path, pg_url):
    _check(build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
