"""Booking pages: who may open them, where they redirect, what they save, bad input."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from services.bookings import operations
from services.bookings.models import Booking, BookingStatus, Service, Slot
from services.core.access import Role
from services.extensions import db
from tests.bookings.helpers import book, make_service, make_slot
from tests.conftest import csrf_token, login, post_form
from tests.factories import make_user

KEY_RE = re.compile(r'name="idempotency_key"[^>]*value="([^"]+)"')


def signed_in(app, role: str, **kwargs):
    """A signed-in client reading the pages in English (the tests match English texts)."""
    user = make_user(role, **kwargs)
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert login(client, user.username).status_code == 302
    return client, user


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


@pytest.fixture
def catalogue(app):
    provider = make_user("provider")
    service = make_service(provider, title="Legal consultation 法律咨询")
    slot = make_slot(service, capacity=2, provider=provider)
    return provider, service, slot


# --- worker ----------------------------------------------------------------------------------

def test_worker_browses_searches_and_sees_free_seats(app, catalogue):
    _provider, service, _slot = catalogue
    make_service(title="Forklift training", category="training")
    client, _ = signed_in(app, "worker")
    body = client.get("/services").get_data(as_text=True)
    assert "Legal consultation" in body and "Forklift training" in body
    assert "2 seats free" in body  # (msgid until the catalogue has it)
    filtered = client.get("/services?q=Forklift&category=training&free=1").get_data(as_text=True)
    assert "Forklift training" not in filtered  # no open slots, so not "with free seats"
    training = client.get("/services?category=training").get_data(as_text=True)
    assert f'href="/services/{service.id}"' not in training and "Forklift training" in training
    assert f'href="/services/{service.id}"' in client.get("/services?q=consult").get_data(as_text=True)
    assert client.get("/services?page=abc&category=<script>").status_code == 200


def test_worker_books_in_two_taps_and_a_double_tap_makes_one_booking(app, catalogue):
    _provider, service, slot = catalogue
    client, worker = signed_in(app, "worker")
    page = client.get(f"/services/{service.id}").get_data(as_text=True)
    key = KEY_RE.search(page).group(1)
    token = csrf_token(client, f"/services/{service.id}")
    data = {"csrf_token": token, "idempotency_key": key, "waitlist": ""}
    first = client.post(f"/services/slots/{slot.id}/book", data=data)
    second = client.post(f"/services/slots/{slot.id}/book", data=data)
    booking = db.session.scalar(select(Booking))
    assert first.status_code == second.status_code == 302
    assert first.location == second.location == f"/bookings/{booking.id}"
    assert count(Booking) == 1 and booking.worker_id == worker.id
    assert booking.status is BookingStatus.BOOKED
    detail = client.get(first.location).get_data(as_text=True)
    assert f"/bookings/{booking.id}/qr.svg" in detail
    assert booking.check_in_code[:4] in detail
    qr = client.get(f"/bookings/{booking.id}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data and qr.headers["Cache-Control"] == "no-store"


def test_qr_code_encodes_the_check_in_url(app, catalogue):
    _provider, _service, slot = catalogue
    client, worker = signed_in(app, "worker")
    booking = book(worker, slot)
    svg = client.get(f"/bookings/{booking.id}/qr.svg").data
    assert svg.startswith(b"<svg")  # no XML declaration; rendered by segno
    token = operations.check_in_token(booking)
    assert operations.booking_from_token(token).id == booking.id


def test_book_with_bad_input_changes_nothing(app, catalogue):
    _provider, service, slot = catalogue
    client, _ = signed_in(app, "worker")
    response = post_form(client, f"/services/slots/{slot.id}/book", {"idempotency_key": ""},
                         token_from=f"/services/{service.id}")
    assert response.status_code == 302 and response.location == f"/services/{service.id}"
    post_form(client, f"/services/slots/{slot.id}/book", {"idempotency_key": "x" * 500},
              token_from=f"/services/{service.id}")
    assert count(Booking) == 0
    assert post_form(client, "/services/slots/99999/book", {"idempotency_key": "a" * 20},
                     token_from="/services").status_code == 404
    no_csrf = client.post(f"/services/slots/{slot.id}/book", data={"idempotency_key": "a" * 20})
    assert no_csrf.status_code == 400 and count(Booking) == 0


def test_full_slot_offers_the_waitlist_and_rule_messages_are_shown(app, catalogue):
    _provider, service, slot = catalogue
    book(make_user("worker"), slot)
    book(make_user("worker"), slot)
    client, worker = signed_in(app, "worker")
    page = client.get(f"/services/{service.id}").get_data(as_text=True)
    assert 'name="waitlist" value="1"' in page
    response = post_form(client, f"/services/slots/{slot.id}/book",
                         {"idempotency_key": "w" * 20, "waitlist": "1"},
                         token_from=f"/services/{service.id}")
    waiting = db.session.scalar(select(Booking).where(Booking.worker_id == worker.id))
    assert waiting.status is BookingStatus.WAITLISTED
    assert response.location == f"/bookings/{waiting.id}"
    refused = post_form(client, f"/services/slots/{slot.id}/book", {"idempotency_key": "v" * 20},
                        token_from=f"/services/{service.id}")
    assert refused.location == f"/services/{service.id}"
    assert count(Booking) == 3


def test_worker_cancels_own_booking_only(app, catalogue):
    _provider, _service, slot = catalogue
    client, worker = signed_in(app, "worker")
    mine = book(worker, slot)
    theirs = book(make_user("worker"), slot)
    for path in (f"/bookings/{theirs.id}", f"/bookings/{theirs.id}/qr.svg"):
        response = client.get(path)
        assert response.status_code == 404 and theirs.check_in_code.encode() not in response.data
    assert post_form(client, f"/bookings/{theirs.id}/cancel", {},
                     token_from="/bookings").status_code == 404
    db.session.refresh(theirs)
    assert theirs.status is BookingStatus.BOOKED
    response = post_form(client, f"/bookings/{mine.id}/cancel", {}, token_from="/bookings")
    assert response.location == f"/bookings/{mine.id}"
    db.session.refresh(mine)
    assert mine.status is BookingStatus.CANCELLED
    assert f"/bookings/{mine.id}/cancel" not in client.get(f"/bookings/{mine.id}").get_data(as_text=True)
    listing = client.get("/bookings").get_data(as_text=True)
    assert f"/bookings/{mine.id}" in listing


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.WORKER])
def test_worker_pages_refuse_other_roles(app, catalogue, role):
    _provider, _service, slot = catalogue
    booking = book(make_user("worker"), slot)
    client, _ = signed_in(app, role)
    assert client.get("/bookings").status_code == 403
    assert client.get(f"/bookings/{booking.id}").status_code == 403
    assert post_form(client, f"/services/slots/{slot.id}/book", {"idempotency_key": "a" * 20},
                     token_from="/").status_code == 403
    assert post_form(client, f"/bookings/{booking.id}/cancel", {}, token_from="/").status_code == 403
    assert count(Booking) == 1
    assert client.get("/services").status_code == 200  # everyone may browse


def test_anonymous_is_sent_to_sign_in(client):
    for path in ("/services", "/bookings", "/provider/services", "/booking-reports"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location


# --- provider --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.PROVIDER])
def test_provider_pages_refuse_other_roles(app, catalogue, role):
    _provider, service, slot = catalogue
    client, _ = signed_in(app, role)
    for path in ("/provider/services", "/provider/services/new", f"/provider/services/{service.id}",
                 f"/provider/slots/{slot.id}", f"/provider/services/{service.id}/pattern"):
        assert client.get(path).status_code == 403, path
    response = post_form(client, f"/provider/services/{service.id}/slots/new",
                         {"day": "2030-01-01", "start_time": "09:00", "end_time": "10:00",
                          "capacity": "3"}, token_from="/")
    assert response.status_code == 403 and count(Slot) == 1


def test_another_providers_objects_are_404(app, catalogue):
    _provider, service, slot = catalogue
    booking = book(make_user("worker"), slot)
    client, _ = signed_in(app, "provider")
    for path in (f"/provider/services/{service.id}", f"/provider/services/{service.id}/edit",
                 f"/provider/services/{service.id}/slots/new",
                 f"/provider/services/{service.id}/pattern", f"/provider/slots/{slot.id}",
                 f"/provider/check-in?t={operations.check_in_token(booking)}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert booking.check_in_code.encode() not in response.data
    for path, data in ((f"/provider/slots/{slot.id}/check-in", {"code": booking.check_in_code}),
                       (f"/provider/bookings/{booking.id}/check-in", {}),
                       (f"/provider/slots/{slot.id}/draw", {}),
                       (f"/provider/services/{service.id}/edit", {"title": "Hijacked"})):
        assert post_form(client, path, data, token_from="/provider/services").status_code == 404
    db.session.refresh(booking)
    db.session.refresh(service)
    assert booking.status is BookingStatus.BOOKED and service.title.startswith("Legal")


def _service_form(**overrides) -> dict:
    data = {"title": "Health check-up", "category": "health", "description": "Blood pressure",
            "location": "Park clinic", "map_url": "", "eligibility": "all", "eligible_park": "",
            "mode": "first_come", "max_active_bookings": "2", "open_days_before": "14",
            "close_minutes_before": "60", "cancel_hours_before": "12",
            "lottery_hours_before": "48", "no_show_limit": "3", "no_show_window_days": "90",
            "suspension_days": "30"}
    data.update(overrides)
    return data


def test_provider_creates_service_slot_and_weekly_pattern(app):
    client, provider = signed_in(app, "provider")
    assert client.get("/provider/services/new").status_code == 200
    response = post_form(client, "/provider/services/new", _service_form(),
                         token_from="/provider/services/new")
    service = db.session.scalar(select(Service))
    assert response.location == f"/provider/services/{service.id}"
    assert service.provider_id == provider.org_id and service.title == "Health check-up"
    day = (date.today() + timedelta(days=3)).isoformat()
    response = post_form(client, f"/provider/services/{service.id}/slots/new",
                         {"day": day, "start_time": "09:00", "end_time": "10:30", "capacity": "4"},
                         token_from=f"/provider/services/{service.id}/slots/new")
    assert response.location == f"/provider/services/{service.id}" and count(Slot) == 1
    first = date.today() + timedelta(days=1)
    response = client.post(f"/provider/services/{service.id}/pattern", data={
        "csrf_token": csrf_token(client, f"/provider/services/{service.id}/pattern"),
        "weekdays": ["2", "4"], "start_time": "14:00", "end_time": "16:00", "capacity": "3",
        "first_date": first.isoformat(), "last_date": (first + timedelta(days=13)).isoformat()})
    assert response.status_code == 302 and count(Slot) == 5
    page = client.get(f"/provider/services/{service.id}").get_data(as_text=True)
    assert page.count("/provider/slots/") >= 5


def test_provider_bad_input_is_shown_and_saves_nothing(app):
    client, _provider = signed_in(app, "provider")
    response = post_form(client, "/provider/services/new",
                         _service_form(title="", max_active_bookings="-4", category="x" * 300),
                         token_from="/provider/services/new")
    assert response.status_code == 200 and count(Service) == 0
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    response = post_form(client, "/provider/services/new", _service_form(location="", online=""),
                         token_from="/provider/services/new")
    assert response.status_code == 200 and count(Service) == 0
    client2, provider2 = signed_in(app, "provider")
    own = make_service(provider2)
    for data in ({"day": "2020-01-01", "start_time": "09:00", "end_time": "10:00", "capacity": "3"},
                 {"day": "9999-12-31", "start_time": "09:00", "end_time": "10:00", "capacity": "3"},
                 {"day": (date.today() + timedelta(days=2)).isoformat(), "start_time": "11:00",
                  "end_time": "10:00", "capacity": "3"},
                 {"day": "not a date", "start_time": "25:00", "end_time": "x", "capacity": "many"}):
        response = post_form(client2, f"/provider/services/{own.id}/slots/new", data,
                             token_from=f"/provider/services/{own.id}/slots/new")
        assert response.status_code == 200, data
    assert count(Slot) == 0


def test_provider_checks_in_by_code_and_by_qr_url(app):
    provider = make_user("provider")
    slot = make_slot(make_service(provider), capacity=3, start_in_hours=1.5, provider=provider)
    first, second = book(make_user("worker"), slot), book(make_user("worker"), slot)
    client = app.test_client()
    login(client, provider.username)
    page = client.get(f"/provider/slots/{slot.id}").get_data(as_text=True)
    assert first.worker.display_name in page
    code = first.check_in_code
    response = post_form(client, f"/provider/slots/{slot.id}/check-in",
                         {"code": f"{code[:4].lower()}-{code[4:]}"},
                         token_from=f"/provider/slots/{slot.id}")
    assert response.location == f"/provider/slots/{slot.id}"
    db.session.refresh(first)
    assert first.status is BookingStatus.ATTENDED
    wrong = post_form(client, f"/provider/slots/{slot.id}/check-in", {"code": "WRONG123"},
                      token_from=f"/provider/slots/{slot.id}")
    assert wrong.status_code == 422
    url = f"/provider/check-in?t={operations.check_in_token(second)}"
    confirm = client.get(url)
    assert confirm.status_code == 200 and second.worker.display_name in confirm.get_data(as_text=True)
    db.session.refresh(second)
    assert second.status is BookingStatus.BOOKED  # GET changes nothing
    response = client.post(url, data={"csrf_token": csrf_token(client, url)})
    assert response.location == f"/provider/slots/{slot.id}"
    db.session.refresh(second)
    assert second.status is BookingStatus.ATTENDED and second.checked_in_by == provider.id
    assert client.get("/provider/check-in?t=forged.token").status_code == 404
    assert client.get("/provider/check-in").status_code == 404


def test_provider_draws_a_lottery_when_due(app):
    provider = make_user("provider")
    service = make_service(provider, mode="lottery", lottery_hours_before=1)
    slot = make_slot(service, capacity=1, start_in_hours=3, provider=provider)
    book(make_user("worker"), slot)
    client = app.test_client()
    login(client, provider.username)
    assert slot.lottery_seed in client.get(f"/provider/slots/{slot.id}").get_data(as_text=True)
    post_form(client, f"/provider/slots/{slot.id}/draw", {}, token_from=f"/provider/slots/{slot.id}")
    db.session.refresh(slot)
    assert slot.drawn_at is None  # not due yet: refused with a message


# --- dashboard -------------------------------------------------------------------------------

def test_dashboard_scopes_and_exports(app, catalogue):
    provider, service, slot = catalogue
    other = make_service(title="=HYPERLINK(evil)")
    book(make_user("worker"), slot)
    client = app.test_client()
    login(client, provider.username)
    page = client.get("/booking-reports").get_data(as_text=True)
    assert "Legal consultation" in page and "HYPERLINK" not in page and "<svg" in page
    csv_text = client.get("/booking-reports.csv").get_data(as_text=True)
    assert "Legal consultation" in csv_text and "service_id" in csv_text
    coordinator, _ = signed_in(app, "coordinator")
    csv_all = coordinator.get("/booking-reports.csv").get_data(as_text=True)
    assert "'=HYPERLINK(evil)" in csv_all  # formula injection defused
    xlsx = coordinator.get("/booking-reports.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    titles = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "Legal consultation 法律咨询" in titles and other.id
    worker, _ = signed_in(app, "worker")
    assert worker.get("/booking-reports").status_code == 403
    assert worker.get("/booking-reports.xlsx").status_code == 403


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_home_page_renders_booking_panels_for_every_role(app, catalogue, role):
    client, _ = signed_in(app, role)
    assert client.get("/").status_code == 200


def test_each_slot_form_carries_its_own_key(app, catalogue):
    _provider, service, slot = catalogue
    other = make_slot(service, start_in_hours=100)
    client, _ = signed_in(app, "worker")
    page = client.get(f"/services/{service.id}").get_data(as_text=True)
    keys = KEY_RE.findall(page)
    assert len(keys) == 2 and len(set(keys)) == 2
    assert keys[0].endswith(f"-{slot.id}") and keys[1].endswith(f"-{other.id}")


def test_worker_books_the_next_slot_straight_from_the_list(app, catalogue):
    _provider, service, slot = catalogue
    client, worker = signed_in(app, "worker")
    page = client.get("/services").get_data(as_text=True)
    assert f'action="/services/slots/{slot.id}/book"' in page
    key = KEY_RE.search(page).group(1)
    response = post_form(client, f"/services/slots/{slot.id}/book", {"idempotency_key": key},
                         token_from="/services")
    booking = db.session.scalar(select(Booking).where(Booking.worker_id == worker.id))
    assert response.location == f"/bookings/{booking.id}"
    assert f'action="/services/slots/{slot.id}/book"' not in client.get("/services").get_data(as_text=True)


def test_provider_sees_and_lifts_suspensions_and_downloads_the_list(app):
    from services.bookings.models import Suspension
    from tests.bookings.helpers import utc

    provider = make_user("provider")
    service = make_service(provider, no_show_limit=1, max_active_bookings=5)
    slot = make_slot(service, provider=provider)
    worker = make_user("worker")
    book(worker, slot)
    operations.mark_no_shows(now=utc(days=3))
    db.session.commit()
    suspension = db.session.scalar(select(Suspension))
    client = app.test_client()
    login(client, provider.username)
    page = client.get(f"/provider/services/{service.id}").get_data(as_text=True)
    assert worker.display_name in page
    csv_text = client.get(f"/provider/slots/{slot.id}/attendance.csv").get_data(as_text=True)
    assert worker.display_name in csv_text and "no_show" in csv_text
    other, _ = signed_in(app, "provider")
    assert post_form(other, f"/provider/suspensions/{suspension.id}/lift", {},
                     token_from="/provider/services").status_code == 404
    assert other.get(f"/provider/slots/{slot.id}/attendance.csv").status_code == 404
    response = post_form(client, f"/provider/suspensions/{suspension.id}/lift", {},
                         token_from=f"/provider/services/{service.id}")
    assert response.location == f"/provider/services/{service.id}"
    db.session.refresh(suspension)
    assert suspension.lifted_at is not None
    assert operations.book(worker=worker, slot=make_slot(service, start_in_hours=80,
                                                         provider=provider)).created


def test_inactive_service_and_not_yet_open_slots(app):
    provider = make_user("provider")
    service = make_service(provider, open_days_before=1)
    later = make_slot(service, start_in_hours=24 * 5, provider=provider)
    client, worker = signed_in(app, "worker")
    page = client.get(f"/services/{service.id}").get_data(as_text=True)
    assert f'action="/services/slots/{later.id}/book"' not in page  # opens later: no button
    assert f'action="/services/slots/{later.id}/book"' not in client.get("/services").get_data(as_text=True)
    operations.update_service(actor=provider, service=service, title=service.title,
                              category="legal", location="hall", active=False)
    db.session.commit()
    assert client.get(f"/services/{service.id}").status_code == 404
    staff = app.test_client()
    login(staff, provider.username)
    assert staff.get(f"/services/{service.id}").status_code == 200  # the owner still sees it


def test_waitlist_position_is_shown(app, catalogue):
    _provider, _service, slot = catalogue
    book(make_user("worker"), slot)
    book(make_user("worker"), slot)
    book(make_user("worker"), slot, join_waitlist=True)
    client, worker = signed_in(app, "worker")
    mine = book(worker, slot, join_waitlist=True)
    assert "number 2 on the waitlist" in client.get(f"/bookings/{mine.id}").get_data(as_text=True)
