"""`flask bookings …` commands and the demo data."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from services.bookings import operations
from services.bookings.demo import seed_demo
from services.bookings.models import Booking, BookingStatus, Service, Slot
from services.bookings.operations.common import local
from services.core.jobs import JobRun
from services.core.notify import Notification
from services.extensions import db
from tests.bookings.helpers import book, make_service, make_slot, utc
from tests.factories import make_user


def run(app, *args):
    return app.test_cli_runner().invoke(args=["bookings", *args])


def _tomorrow_slot(service, provider):
    noon = (local(utc()) + timedelta(days=1)).replace(hour=12, minute=0, second=0)
    slot = operations.add_slot(actor=provider, service=service, starts_at=noon,
                               ends_at=noon + timedelta(hours=1), capacity=3)
    db.session.commit()
    return slot


def test_remind_sends_once(app):
    provider = make_user("provider")
    slot = _tomorrow_slot(make_service(provider), provider)
    worker = make_user("worker")
    book(worker, slot)
    first, second = run(app, "remind"), run(app, "remind")
    assert first.exit_code == second.exit_code == 0
    assert first.output.strip() == "sent 1 reminders" and second.output.strip() == "sent 0 reminders"
    assert db.session.scalar(select(func.count(Notification.id))) == 1


def test_remind_and_sweep_as_jobs(app):
    provider = make_user("provider")
    book(make_user("worker"), _tomorrow_slot(make_service(provider), provider))
    result = run(app, "remind", "--queue")
    assert result.exit_code == 0 and "done" in result.output
    assert db.session.scalar(select(JobRun.result)) == {"reminders": 1}
    assert run(app, "sweep", "--queue").exit_code == 0


def test_sweep_and_draw_commands(app):
    service = make_service(mode="lottery", lottery_hours_before=1)
    slot = make_slot(service, capacity=1, start_in_hours=3)
    book(make_user("worker"), slot)
    result = run(app, "sweep")
    assert result.exit_code == 0 and "drawn=0" in result.output
    early = run(app, "draw", str(slot.id))
    assert early.exit_code != 0 and early.output.count("\n") == 1
    assert run(app, "draw", "99999").exit_code != 0


def test_demo_data_is_idempotent(app):
    from services import demo

    demo.seed_small()
    seed_demo()
    db.session.commit()
    counts = (db.session.scalar(select(func.count(Service.id))),
              db.session.scalar(select(func.count(Slot.id))),
              db.session.scalar(select(func.count(Booking.id))))
    seed_demo()
    db.session.commit()
    assert counts[0] == 3 and counts[1] >= 20 and counts[2] == 1
    assert counts == (db.session.scalar(select(func.count(Service.id))),
                      db.session.scalar(select(func.count(Slot.id))),
                      db.session.scalar(select(func.count(Booking.id))))
    titles = set(db.session.scalars(select(Service.title)))
    assert "劳动争议法律咨询" in titles
    assert db.session.scalar(select(Booking.status)) is BookingStatus.BOOKED
