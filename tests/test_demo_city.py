"""The city-scale demo data set, built at a small scale: counts, invariants, sign-in, refusal."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from services.accounts.models import Organisation, User
from services.bookings.models import SEATED, Booking, Slot
from services.cases.models import OPEN_STATUSES, Case, CaseCounter, CaseLeadPeriod
from services.cases.routing import seed_rules
from services.demo import DEMO_PASSWORD
from services.demo_city import counts, seed_city
from services.dorms.models import HOLDING_STAY, Bed, Room, Stay
from services.extensions import db
from tests.conftest import login

SCALE = 0.002


@pytest.fixture
def city(app):
    seed_rules()
    db.session.commit()
    steps = []
    result = seed_city(scale=SCALE,
                       progress=lambda step, done, total: steps.append((step, done, total)))
    return result, steps


def count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def test_counts_scale(city):
    result, steps = city
    expected = counts(SCALE)
    assert expected == {"parks": 1, "enterprises": 2, "beds": 200, "workers": 600, "cases": 100,
                        "bookings": 400}
    assert result["parks"] == count(select(Organisation).where(
        Organisation.kind == "park", Organisation.code.like("city-p%"))) == 1
    assert result["enterprises"] == count(select(Organisation).where(
        Organisation.code.like("city-e%"))) == 2
    assert result["beds"] == 200
    assert result["workers"] == count(select(User).where(User.username.like("cw%"))) == 600
    # the small demo set, made first, has cases of its own: count the city workers' cases
    assert result["cases"] == count(select(Case).join(User, User.id == Case.worker_id)
                                    .where(User.username.like("cw%"))) == 100
    assert result["lead_periods"] == 100
    assert result["bookings"] == 400
    assert result["stays"] == 160  # 80 % of the beds
    assert result["applications"] == 20
    names = {step for step, _, _ in steps}
    assert {"workers", "beds", "bookings", "cases"} <= names
    assert all(done <= total for _, done, total in steps)


def test_invariants(city):
    # beds per room within capacity
    over = db.session.execute(select(Room.id).join(Bed, Bed.room_id == Room.id)
                              .group_by(Room.id, Room.capacity)
                              .having(func.count(Bed.id) > Room.capacity)).all()
    assert over == []
    couple = db.session.scalars(select(Room).where(Room.kind == "couple")).all()
    assert all(r.capacity == 2 and r.gender.value == "any" for r in couple)
    # one holding stay per bed and per worker
    holding = select(Stay).where(Stay.status.in_(HOLDING_STAY))
    for column in (Stay.bed_id, Stay.worker_id):
        dup = db.session.execute(select(column).where(Stay.status.in_(HOLDING_STAY))
                                 .group_by(column).having(func.count() > 1)).all()
        assert dup == []
    assert count(holding) >= 160
    # booked_count equals the seated bookings and stays within capacity
    seated = (select(Booking.slot_id, func.count().label("n")).where(Booking.status.in_(SEATED))
              .group_by(Booking.slot_id).subquery())
    rows = db.session.execute(select(Slot.booked_count, Slot.capacity, seated.c.n)
                              .outerjoin(seated, seated.c.slot_id == Slot.id)).all()
    assert rows and all(booked == (n or 0) <= cap for booked, cap, n in rows)
    # unique case numbers, counter at the last one
    numbers = db.session.scalars(select(Case.case_no)).all()
    assert len(numbers) == len(set(numbers))
    counter = db.session.scalars(select(CaseCounter)).one()
    assert max(numbers) == f"YC-{counter.year}-{counter.last_no:06d}"
    # one lead period per city case, by its lead, from dispatch; running exactly while it is open
    city_cases = select(Case).join(User, User.id == Case.worker_id).where(User.username.like("cw%"))
    periods = db.session.execute(
        select(Case.status, Case.lead_agency, Case.dispatched_at, Case.resolved_at,
               CaseLeadPeriod.agency, CaseLeadPeriod.started_at, CaseLeadPeriod.ended_at)
        .join(CaseLeadPeriod, CaseLeadPeriod.case_id == Case.id)
        .join(User, User.id == Case.worker_id).where(User.username.like("cw%"))).all()
    assert len(periods) == count(city_cases) == 100
    for status, lead, dispatched, resolved, agency, started, ended in periods:
        assert (agency, started) == (lead, dispatched)
        assert (ended is None) == (status in OPEN_STATUSES)
        if resolved is not None:
            assert ended == resolved
    # workers have an encrypted phone that reads back and a unique blind index
    worker = db.session.scalar(select(User).where(User.username == "cw000001"))
    assert worker.phone.startswith("15") and len(worker.phone) == 11
    raw = db.session.execute(text("SELECT phone_enc FROM users WHERE id = :id"),
                             {"id": worker.id}).scalar()
    assert raw.startswith("v1.") and worker.phone not in raw


def test_demo_worker_signs_in(city, client):
    response = login(client, "cw000001", DEMO_PASSWORD)
    assert response.status_code in (302, 303)
    assert "/login" not in response.headers.get("Location", "")


def test_second_run_refuses(city):
    with pytest.raises(RuntimeError, match="already exists"):
        seed_city(scale=SCALE)


def test_cli_city_size_with_progress(app):
    from services.cases.routing import seed_rules

    seed_rules()
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["seed-demo", "--size", "city", "--scale", "0.002"])
    assert result.exit_code == 0, result.output
    assert "workers" in result.output and "anju-demo-2026" in result.output
    again = app.test_cli_runner().invoke(args=["seed-demo", "--size", "city", "--scale", "0.002"])
    assert again.exit_code != 0 and again.output.startswith("Error:")
