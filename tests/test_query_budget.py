"""Query budget of the benchmarked endpoints: a fixed number of SQL statements whatever the size.

Each endpoint of the throughput benchmark (bench/throughput_bench.py) is requested once to warm
up, then once more with a listener on the engine counting the statements it sends. That is done
on a small data set and on one ten times larger (rooms, cases, services with slots, bookings,
notifications, waiting applications), on SQLite and on PostgreSQL. The count must be the same at
both sizes (no statement per row: no N+1) and at most the endpoint's budget below.

The budgets are today's counts; lower one when an endpoint needs fewer statements, never raise
one without knowing which statement was added and why it cannot be joined to another.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from services.accounts.sessions import issue_token
from services.cases.operations import lifecycle
from services.core import notify
from services.core.audit import utcnow
from services.dorms.models import ApplicationStatus, Bed, Stay, StayStatus
from services.extensions import db, limiter
from tests.bookings.helpers import book, make_service, make_slot
from tests.cases.factories import agencies, file_case, load_calendar_rows
from tests.conftest import build_app, login, require
from tests.dorms.factories import apply, make_park
from tests.factories import make_user

# Statements of one request (loading the signed-in user included; not the BEGIN that opens the
# transaction: SQLite's is sent as a statement, PostgreSQL's driver sends its own unseen).
BUDGET = {  # without the read cache (no Redis); each counts the signed-in user's row and,
    # on pages, the inbox (the header's unread count)
    "home": 7,  # the worker's panels: notifications, case requests, stay, applications, bookings
    "rooms": 4,  # the park manager's room list (20 a page) with beds, holds and buildings
    "cases": 4,  # an HRSS caseworker's own cases (the default tab) and the tab counts
    "services": 4,  # the worker's catalogue with each service's next slots and free seats
    "api services": 2,
    "api cases": 3,
    "api dorm application": 2,  # a waiting application with its queue position
    "api dorm application offered": 2,  # an offered one with the offer's bed, room and building
    "api booking": 7,  # POST: rules, the seat, the booking, its audit event
}
SMALL, LARGE = 3, 30


def _park(n: int):
    """A park with n rooms of two beds (one occupied) and n waiting applications."""
    lines = "\n".join(f"{'AB'[i % 2]},{100 + i},1,F,2,standard,no,20,300,," for i in range(n))
    park, employer, manager = make_park(lines)
    beds = list(db.session.scalars(select(Bed).order_by(Bed.id)))[::2]
    for bed in beds:
        db.session.add(Stay(worker_id=make_user("worker", org=employer).id, bed_id=bed.id,
                            status=StayStatus.ACTIVE, start_date=utcnow().date()))
    db.session.commit()
    waiting = [apply(make_user("worker", org=employer), park) for _ in range(n)]
    return park, employer, manager, waiting


def _world(n: int) -> dict:
    """Every endpoint's caller and its data, n of each listed thing; ids and tokens only."""
    load_calendar_rows()
    people = agencies()
    hrss, hrss2 = people["hrss"]["cw"], people["hrss"]["cw2"]
    lifecycle.set_availability(actor=hrss2, user=hrss2, available=False)  # hrss takes them all
    db.session.commit()

    park, employer, manager, waiting = _park(n)
    worker = make_user("worker", org=employer)
    application = apply(worker, park)
    free_bed = db.session.scalars(select(Bed).order_by(Bed.id.desc())).first()  # odd: empty
    db.session.add(Stay(worker_id=worker.id, bed_id=free_bed.id, application_id=application.id,
                        status=StayStatus.OFFERED, offer_expires_at=utcnow() + timedelta(hours=20)))
    application.status = ApplicationStatus.OFFERED
    db.session.commit()

    for index in range(n):
        case = file_case(worker, employer=f"盐城第{index}电子有限公司")
        lifecycle.accept_case(actor=hrss, case=case)
        db.session.commit()

    provider = make_user("provider")
    for index in range(n):
        service = make_service(provider, title=f"Service {index}")
        slot = make_slot(service, start_in_hours=48 + 2 * index, capacity=n + 2)
        book(worker, slot)
        book(waiting[index].worker, slot)
    target = make_service(provider, title="Health check")
    to_book = [make_slot(target, start_in_hours=30 + 3 * i).id for i in range(2)]
    for index in range(n):
        notify.send(user_id=worker.id, kind="booking", title=f"Message {index}")
    db.session.commit()

    return {"worker": worker.username, "manager": manager.username, "hrss": hrss.username,
            "application": application.id, "waiting": waiting[-1].id, "to_book": to_book,
            "tokens": {"worker": issue_token(worker)[0], "hrss": issue_token(hrss)[0],
                       "waiting": issue_token(waiting[-1].worker)[0]}}


def _requests(app, world: dict) -> dict:
    """name -> (client, method, the keyword arguments of the warm-up call and the measured one)."""
    signed_in = {who: _signed_in(app, world[who]) for who in ("worker", "manager", "hrss")}
    api = app.test_client()

    def bearer(who):
        return {"Authorization": f"Bearer {world['tokens'][who]}"}

    def get(path, who):
        return [{"path": path, "headers": bearer(who)}] * 2

    bookings = [{"path": "/api/v1/bookings", "headers": bearer("worker"),
                 "json": {"slot_id": slot_id, "idempotency_key": f"budget-{slot_id}-key"}}
                for slot_id in world["to_book"]]
    return {
        "home": (signed_in["worker"], "get", [{"path": "/"}] * 2),
        "rooms": (signed_in["manager"], "get", [{"path": "/dorms/manage/rooms"}] * 2),
        "cases": (signed_in["hrss"], "get", [{"path": "/cases"}] * 2),
        "services": (signed_in["worker"], "get", [{"path": "/services"}] * 2),
        "api services": (api, "get", get("/api/v1/services", "worker")),
        "api cases": (api, "get", get("/api/v1/cases", "hrss")),
        "api dorm application": (api, "get",
                                 get(f"/api/v1/dorm-applications/{world['waiting']}", "waiting")),
        "api dorm application offered": (
            api, "get", get(f"/api/v1/dorm-applications/{world['application']}", "worker")),
        "api booking": (api, "post", bookings),
    }


def _signed_in(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _measure(app, n: int) -> dict[str, int]:
    with app.app_context():
        db.drop_all()
        db.create_all()
        limiter.reset()
        world = _world(n)
        engine = db.engine
        db.session.remove()
    # Outside the set-up's app context: each request has its own session, as under gunicorn.
    counts = {}
    for name, (client, method, calls) in _requests(app, world).items():
        warm_up, measured = calls
        response = getattr(client, method)(**warm_up)
        assert response.status_code in (200, 201), (name, response.status_code)
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            if statement != "BEGIN IMMEDIATE":
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            response = getattr(client, method)(**measured)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code in (200, 201), (name, response.status_code)
        counts[name] = len(statements)
    return counts


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                               marks=pytest.mark.postgres)])
def measured(request, tmp_path_factory):
    """{endpoint: (statements at the small size, at the large size)} on one database."""
    overrides = {}
    if request.param == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL")
        require(bool(url), "PostgreSQL (TEST_DATABASE_URL)")
        overrides["SQLALCHEMY_DATABASE_URI"] = url
    app = build_app(tmp_path_factory.mktemp(request.param), **overrides)
    try:
        small, large = _measure(app, SMALL), _measure(app, LARGE)
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
    return {name: (small[name], large[name]) for name in BUDGET}


@pytest.mark.parametrize("endpoint", list(BUDGET))
def test_statements_do_not_grow_with_the_data(measured, endpoint):
    small, large = measured[endpoint]
    assert small == large, f"{endpoint}: {small} statements with {SMALL} rows, {large} with {LARGE}"
    assert large <= BUDGET[endpoint], f"{endpoint}: {large} statements, budget {BUDGET[endpoint]}"
