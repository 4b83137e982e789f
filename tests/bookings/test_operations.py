"""Booking operations without HTTP: catalogue, booking rules, waitlist, lottery, no-shows."""
from __future__ import annotations

from datetime import date, time, timedelta
from hashlib import sha256

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from services.bookings import operations
from services.bookings.models import (Booking, BookingStatus, Slot, SlotPattern, Suspension,
                                      as_utc)
from services.bookings.operations.common import LOCAL_TZ
from services.core.audit import AuditEvent
from services.core.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from services.core.notify import Notification
from services.extensions import db
from tests.bookings.helpers import book, make_service, make_slot, utc
from tests.factories import make_org, make_user


def actions(object_type: str) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == object_type).order_by(AuditEvent.id)))


# --- catalogue -------------------------------------------------------------------------------

def test_provider_creates_service_and_slot_with_window_and_cutoff(app):
    provider = make_user("provider")
    service = make_service(provider, cancel_hours_before=24, close_minutes_before=30)
    assert service.provider_id == provider.org_id
    slot = make_slot(service, capacity=3, start_in_hours=72)
    assert as_utc(slot.closes_at) == as_utc(slot.starts_at) - timedelta(minutes=30)
    assert as_utc(slot.cancel_until) == as_utc(slot.starts_at) - timedelta(hours=24)
    assert slot.booked_count == 0 and slot.free_seats == 3 and not slot.is_lottery
    assert actions("booking_service") == ["booking_service.created"]
    assert actions("booking_slot") == ["booking_slot.created"]


@pytest.mark.parametrize("role", ["worker", "caseworker", "admin", "park_manager"])
def test_only_provider_staff_create_services(app, role):
    with pytest.raises(Forbidden):
        operations.create_service(actor=make_user(role), title="x", category="legal",
                                  location="here")


@pytest.mark.parametrize("fields, bad", [
    ({"title": ""}, "title"), ({"category": "astrology"}, "category"),
    ({"location": "", "online": False}, "location"), ({"max_active_bookings": 0}, "max_active_bookings"),
    ({"eligibility": "park", "eligible_park": None}, "eligible_park"),
    ({"map_url": "javascript:alert(1)"}, "map_url"),
])
def test_service_shape_rules(app, fields, bad):
    values = {"title": "Legal", "category": "legal", "location": "hall"} | fields
    with pytest.raises(ValidationFailed) as error:
        operations.create_service(actor=make_user("provider"), **values)
    assert bad in error.value.fields


def test_slot_rules_and_other_providers_service(app):
    service = make_service()
    provider = db.session.scalar(select(Slot).limit(1))  # no slot yet
    assert provider is None
    owner = db.session.scalar(text("select id from users where role='provider'"))
    from services.accounts.models import User

    owner = db.session.get(User, owner)
    start = utc(24)
    for kwargs, field in [
        ({"starts_at": utc(-1), "ends_at": utc(1), "capacity": 2}, "starts_at"),
        ({"starts_at": start, "ends_at": start, "capacity": 2}, "ends_at"),
        ({"starts_at": start, "ends_at": start + timedelta(hours=1), "capacity": 0}, "capacity"),
        ({"starts_at": start, "ends_at": start + timedelta(hours=1), "capacity": True}, "capacity"),
        ({"starts_at": utc(days=400), "ends_at": utc(days=400.1), "capacity": 2}, "starts_at"),
    ]:
        with pytest.raises(ValidationFailed) as error:
            operations.add_slot(actor=owner, service=service, **kwargs)
        assert field in error.value.fields
    with pytest.raises(Forbidden):
        operations.add_slot(actor=make_user("provider"), service=service, starts_at=start,
                            ends_at=start + timedelta(hours=1), capacity=2)


def test_weekly_pattern_makes_local_time_slots_and_skips_existing(app):
    provider = make_user("provider")
    service = make_service(provider)
    first = date.today() + timedelta(days=1)
    pattern, slots = operations.add_weekly_pattern(
        actor=provider, service=service, weekdays=[1, 3, 5], start_time=time(9, 0),
        end_time=time(11, 0), capacity=4, first_date=first, last_date=first + timedelta(days=13))
    db.session.commit()
    assert len(slots) == 6
    for slot in slots:
        starts = as_utc(slot.starts_at).astimezone(LOCAL_TZ)
        assert starts.isoweekday() in (1, 3, 5) and starts.time() == time(9, 0)
        assert slot.pattern_id == pattern.id and slot.capacity == 4
    again = operations.add_weekly_pattern(
        actor=provider, service=service, weekdays=[1, 3, 5, 7], start_time=time(9, 0),
        end_time=time(11, 0), capacity=4, first_date=first, last_date=first + timedelta(days=13))[1]
    assert len(again) == 2  # only the Sundays are new
    with pytest.raises(ValidationFailed):
        operations.add_weekly_pattern(actor=provider, service=service, weekdays=[], capacity=4,
                                      start_time=time(9), end_time=time(10), first_date=first,
                                      last_date=first)
    with pytest.raises(ValidationFailed):
        operations.add_weekly_pattern(actor=provider, service=service, weekdays=[1], capacity=4,
                                      start_time=time(9), end_time=time(10), first_date=first,
                                      last_date=first + timedelta(days=400))
    assert actions("booking_slot_pattern") == ["booking_pattern.created"] * 2


# --- booking rules ---------------------------------------------------------------------------

def test_book_takes_a_seat_and_is_audited(app):
    slot = make_slot(make_service(), capacity=2)
    worker = make_user("worker")
    booking = book(worker, slot)
    assert booking.status is BookingStatus.BOOKED and len(booking.check_in_code) == 8
    db.session.refresh(slot)
    assert slot.booked_count == 1 == operations.seat_count(slot.id)
    assert actions("booking") == ["booking.booked"]


def test_full_slot_says_slot_full_or_waitlists(app):
    slot = make_slot(make_service(), capacity=1)
    book(make_user("worker"), slot)
    with pytest.raises(Conflict) as error:
        operations.book(worker=make_user("worker"), slot=slot)
    assert error.value.code == "slot_full"
    db.session.rollback()
    waiting = book(make_user("worker"), slot, join_waitlist=True)
    assert waiting.status is BookingStatus.WAITLISTED
    db.session.refresh(slot)
    assert slot.booked_count == 1


def test_one_booking_per_slot_and_no_overlap_and_service_limit(app):
    service = make_service(max_active_bookings=2)
    worker = make_user("worker")
    first = make_slot(service, start_in_hours=48)
    overlapping = make_slot(service, start_in_hours=48.5)
    book(worker, first)
    with pytest.raises(Conflict) as error:
        operations.book(worker=worker, slot=first)
    assert error.value.code == "already_booked"
    with pytest.raises(Conflict) as error:
        operations.book(worker=worker, slot=overlapping)
    assert error.value.code == "overlapping"
    book(worker, make_slot(service, start_in_hours=72))
    with pytest.raises(Conflict) as error:
        operations.book(worker=worker, slot=make_slot(service, start_in_hours=96))
    assert error.value.code == "limit_reached"


def test_idempotency_key_returns_the_same_booking(app):
    slot = make_slot(make_service())
    worker = make_user("worker")
    first = operations.book(worker=worker, slot=slot, idempotency_key="form-key-123456")
    db.session.commit()
    again = operations.book(worker=worker, slot=slot, idempotency_key="form-key-123456")
    assert first.created and not again.created and again.booking.id == first.booking.id
    assert db.session.scalar(select(func.count(Booking.id))) == 1
    with pytest.raises(ValidationFailed):
        operations.book(worker=worker, slot=slot, idempotency_key="bad key!")


def test_booking_window_and_roles_and_eligibility(app):
    service = make_service(open_days_before=1)
    later = make_slot(service, start_in_hours=24 * 5)
    with pytest.raises(InvalidState) as error:
        operations.book(worker=make_user("worker"), slot=later)
    assert error.value.code == "not_open"
    soon = make_slot(service, start_in_hours=2)
    with pytest.raises(InvalidState) as error:
        operations.book(worker=make_user("worker"), slot=soon, now=utc(1.5))
    assert error.value.code == "booking_closed"
    with pytest.raises(Forbidden):
        operations.book(worker=make_user("caseworker"), slot=soon)
    gig_only = make_service(eligibility="platform", title="Rider rest")
    with pytest.raises(Forbidden) as error:
        operations.book(worker=make_user("worker"), slot=make_slot(gig_only))
    assert error.value.code == "not_eligible"


def test_park_eligibility_uses_the_employers_park(app):
    park = make_org("park", code="yc-etdz")
    employer = make_org("employer", park_code="yc-etdz")
    service = make_service(eligibility="park", eligible_park="yc-etdz")
    slot = make_slot(service)
    assert book(make_user("worker", org=employer), slot).status is BookingStatus.BOOKED
    with pytest.raises(Forbidden):
        operations.book(worker=make_user("worker"), slot=slot)
    assert service.eligible_park_id == park.id


def test_database_refuses_overbooking_and_duplicates(app):
    slot = make_slot(make_service(), capacity=1)
    worker = make_user("worker")
    booking = book(worker, slot)
    with pytest.raises(IntegrityError):
        db.session.execute(update(Slot).where(Slot.id == slot.id).values(booked_count=2))
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(update(Slot).where(Slot.id == slot.id).values(booked_count=-1))
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.add(Booking(slot_id=slot.id, service_id=slot.service_id, worker_id=worker.id,
                               status=BookingStatus.WAITLISTED, check_in_code="ZZZZ2222"))
        db.session.flush()
    db.session.rollback()
    booking.idempotency_key = "k" * 10
    db.session.commit()
    other = make_slot(slot.service, start_in_hours=100)
    with pytest.raises(IntegrityError):
        db.session.add(Booking(slot_id=other.id, service_id=slot.service_id, worker_id=worker.id,
                               status=BookingStatus.BOOKED, check_in_code="ZZZZ3333",
                               idempotency_key="k" * 10))
        db.session.flush()
    db.session.rollback()


# --- cancel and waitlist ---------------------------------------------------------------------

def test_cancel_frees_the_seat_and_promotes_the_waitlist(app):
    slot = make_slot(make_service(), capacity=1)
    holder, first, second = make_user("worker"), make_user("worker"), make_user("worker")
    booking = book(holder, slot)
    waiting1 = book(first, slot, join_waitlist=True)
    waiting2 = book(second, slot, join_waitlist=True)
    with pytest.raises(Forbidden):
        operations.cancel(actor=first, booking=booking)
    operations.cancel(actor=holder, booking=booking)
    db.session.commit()
    assert booking.status is BookingStatus.CANCELLED and not booking.late_cancel
    assert waiting1.status is BookingStatus.BOOKED and waiting2.status is BookingStatus.WAITLISTED
    db.session.refresh(slot)
    assert slot.booked_count == 1 == operations.seat_count(slot.id)
    note = db.session.scalar(select(Notification).where(Notification.user_id == first.id))
    assert note is not None and note.link == f"/bookings/{waiting1.id}"
    assert "booking.promoted" in actions("booking")
    with pytest.raises(InvalidState):
        operations.cancel(actor=holder, booking=booking)
    # the worker may book the slot again after cancelling (joins the waitlist: it is full)
    assert book(holder, slot, join_waitlist=True).status is BookingStatus.WAITLISTED


def test_late_cancellation_counts_and_after_start_is_refused(app):
    service = make_service(cancel_hours_before=24)
    slot = make_slot(service, start_in_hours=10)
    worker = make_user("worker")
    booking = book(worker, slot)
    operations.cancel(actor=worker, booking=booking)
    assert booking.late_cancel
    started = make_slot(service, start_in_hours=30)
    booking = book(worker, started)
    with pytest.raises(InvalidState):
        operations.cancel(actor=worker, booking=booking, now=utc(31))


def test_waitlist_expires_when_booking_closes(app):
    slot = make_slot(make_service(), capacity=1, start_in_hours=5)
    book(make_user("worker"), slot)
    waiting = book(make_user("worker"), slot, join_waitlist=True)
    assert operations.expire_waitlists(now=utc(4.5)) == 1
    assert waiting.status is BookingStatus.EXPIRED


# --- lottery ---------------------------------------------------------------------------------

def test_lottery_value_is_the_dormitory_recipe():
    digest = sha256(b"2026-12-01 draw:42").digest()
    assert operations.lottery_value("2026-12-01 draw", 42) == int.from_bytes(digest[:8], "big") / 2**64


def test_lottery_collects_requests_then_draws_with_the_published_seed(app):
    service = make_service(mode="lottery", lottery_hours_before=24)
    slot = make_slot(service, capacity=2, start_in_hours=72)
    assert slot.is_lottery and slot.lottery_seed
    workers = [make_user("worker") for _ in range(5)]
    requests = [book(worker, slot) for worker in workers]
    assert {b.status for b in requests} == {BookingStatus.REQUESTED}
    db.session.refresh(slot)
    assert slot.booked_count == 0
    with pytest.raises(InvalidState):
        operations.draw(slot=slot)
    result = operations.draw(slot=slot, now=utc(50))
    db.session.commit()
    expected = sorted(workers, key=lambda w: operations.lottery_value(slot.lottery_seed, w.id))
    assert result["order"] == [w.id for w in expected]
    booked = {b.worker_id for b in requests if b.status is BookingStatus.BOOKED}
    assert booked == {expected[0].id, expected[1].id}
    assert sum(b.status is BookingStatus.NOT_DRAWN for b in requests) == 3
    db.session.refresh(slot)
    assert slot.booked_count == 2 and slot.drawn_at is not None
    with pytest.raises(InvalidState):
        operations.draw(slot=slot, now=utc(51))
    assert operations.draw_due(now=utc(52)) == []


# --- attendance, no-shows, reminders ---------------------------------------------------------

def test_check_in_by_token_and_code(app):
    provider = make_user("provider")
    slot = make_slot(make_service(provider), start_in_hours=1.5)
    first, second = book(make_user("worker"), slot), book(make_user("worker"), slot)
    token = operations.check_in_token(first)
    assert operations.booking_from_token(token).id == first.id
    with pytest.raises(NotFound):
        operations.booking_from_token(token[:-2] + "xx")
    with pytest.raises(NotFound):
        operations.check_in(actor=make_user("provider"), booking=first)
    with pytest.raises(InvalidState):
        operations.check_in(actor=provider, booking=first, now=utc(-5))
    operations.check_in(actor=provider, booking=first)
    assert first.status is BookingStatus.ATTENDED and first.checked_in_by == provider.id
    with pytest.raises(InvalidState):
        operations.check_in(actor=provider, booking=first)
    code = second.check_in_code
    operations.check_in_by_code(actor=provider, slot=slot, code=f" {code[:4].lower()}-{code[4:]} ")
    assert second.status is BookingStatus.ATTENDED
    with pytest.raises(NotFound):
        operations.check_in_by_code(actor=provider, slot=slot, code="NOPE1234")
    assert actions("booking").count("booking.attended") == 2


def test_three_no_shows_suspend_booking(app):
    service = make_service(no_show_limit=3, suspension_days=30, max_active_bookings=5)
    worker = make_user("worker")
    slots = [make_slot(service, start_in_hours=24 * (n + 1)) for n in range(4)]
    for slot in slots[:3]:
        book(worker, slot)
    missed = operations.mark_no_shows(now=utc(days=5))
    db.session.commit()
    assert len(missed) == 3 and {b.status for b in missed} == {BookingStatus.NO_SHOW}
    suspension = db.session.scalar(select(Suspension))
    assert suspension.worker_id == worker.id and suspension.no_shows == 3
    with pytest.raises(Forbidden) as error:
        operations.book(worker=worker, slot=slots[3], now=utc(days=3.5))
    assert error.value.code == "suspended"
    db.session.rollback()
    assert operations.mark_no_shows(now=utc(days=6)) == []  # nothing twice


def test_reminders_go_once_for_tomorrow(app):
    from services.bookings.operations.common import local

    service = make_service()
    tomorrow_noon = (local(utc()) + timedelta(days=1)).replace(hour=12, minute=0, second=0)
    provider = db.session.scalar(text("select id from users where role='provider'"))
    from services.accounts.models import User

    slot = operations.add_slot(actor=db.session.get(User, provider), service=service,
                               starts_at=tomorrow_noon, ends_at=tomorrow_noon + timedelta(hours=1),
                               capacity=3)
    later = make_slot(service, start_in_hours=24 * 4)
    worker = make_user("worker")
    book(worker, slot)
    book(worker, later)
    assert operations.send_reminders() == 1
    db.session.commit()
    assert operations.send_reminders() == 0
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == worker.id)) == 1
    assert app.extensions["anju_notify_adapter"].sent[-1].channel == "sms"


def test_sweep_runs_everything_due(app):
    result = operations.sweep()
    assert result == {"drawn": 0, "waitlists_expired": 0, "no_shows": 0, "reminders": 0}
    assert db.session.scalar(select(func.count(SlotPattern.id))) == 0


# --- the same rules on PostgreSQL (partial unique index, CHECKs, savepoints) -----------------

@pytest.mark.postgres
def test_database_constraints_postgres(pg_app):
    test_database_refuses_overbooking_and_duplicates(pg_app)


@pytest.mark.postgres
def test_waitlist_postgres(pg_app):
    test_cancel_frees_the_seat_and_promotes_the_waitlist(pg_app)


@pytest.mark.postgres
def test_lottery_postgres(pg_app):
    test_lottery_collects_requests_then_draws_with_the_published_seed(pg_app)


@pytest.mark.postgres
def test_no_shows_postgres(pg_app):
    test_three_no_shows_suspend_booking(pg_app)


@pytest.mark.postgres
def test_weekly_pattern_postgres(pg_app):
    test_weekly_pattern_makes_local_time_slots_and_skips_existing(pg_app)


def test_an_idempotency_key_cannot_book_another_slot(app):
    service = make_service()
    first, second = make_slot(service), make_slot(service, start_in_hours=100)
    worker = make_user("worker")
    operations.book(worker=worker, slot=first, idempotency_key="page-key-000001")
    with pytest.raises(ValidationFailed) as error:
        operations.book(worker=worker, slot=second, idempotency_key="page-key-000001")
    assert "idempotency_key" in error.value.fields


def test_a_lost_race_undoes_the_seat_it_took(app, monkeypatch):
    """If a duplicate slips past the checks, the unique index refuses it and the savepoint
    gives the seat back."""
    from services.bookings.operations import booking as booking_ops

    slot = make_slot(make_service(), capacity=3)
    worker = make_user("worker")
    book(worker, slot)
    monkeypatch.setattr(booking_ops, "_check_rules", lambda *args: None)
    with pytest.raises(Conflict) as error:
        operations.book(worker=worker, slot=slot)
    assert error.value.code == "already_booked"
    db.session.commit()
    db.session.refresh(slot)
    assert slot.booked_count == 1 == operations.seat_count(slot.id)


@pytest.mark.postgres
def test_a_lost_race_undoes_the_seat_it_took_postgres(pg_app, monkeypatch):
    test_a_lost_race_undoes_the_seat_it_took(pg_app, monkeypatch)


def test_park_only_service_admits_dormitory_residents(app):
    """A gig worker employed elsewhere may book a park's service once they live in its dormitory."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from services.accounts.models import EmploymentForm
    from services.bookings.operations.booking import _check_eligible
    from services.bookings.models import Eligibility
    from services.core.errors import Forbidden
    from services.dorms.models import Stay
    from services.dorms.operations import allocation, offers
    from tests.dorms.factories import make_park

    park, employer, manager = make_park("A,101,1,F,2,standard,no,20,300,,")
    rider = make_user("worker")
    rider.employment_form = EmploymentForm.PLATFORM
    db.session.commit()

    class ParkService:
        eligibility = Eligibility.PARK
        eligible_park_id = park.id
        eligible_park = park

    with pytest.raises(Forbidden):
        _check_eligible(rider, ParkService)
    from services.dorms.operations.applications import submit_application

    submit_application(worker=rider, park_id=park.id, gender="F",
                       move_in_date=date.today() + timedelta(days=1), shift="day", smoker=False,
                       needs_accessible=False, max_rent_fen=50000, preferred_buildings=[])
    allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
    offers.accept_offer(worker=rider, stay=db.session.scalar(select(Stay)))
    _check_eligible(rider, ParkService)  # now a resident: no exception
