"""Bookings in a real browser: a worker books on a phone, a provider adds slots and checks in.

The bookings tables have no Alembic migration yet, so this module serves its own live app on a
file database made by `db.create_all()` and filled with the small demo set plus the bookings
demo (services/bookings/demo.py). Elements are found by form action, input name and button type,
not by visible text, so the tests hold whichever language the catalogue renders.
"""
from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from services.demo import DEMO_PASSWORD
from tests.conftest import build_app
from tests.e2e.conftest import PHONE, TIMEOUT_MS, check_accessibility, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def bookings_server(tmp_path_factory):
    from werkzeug.serving import make_server

    from services import demo
    from services.accounts.models import User
    from services.bookings import operations
    from services.bookings.demo import seed_demo
    from services.bookings.models import Service
    from services.extensions import db
    from tests.bookings.helpers import utc

    folder = tmp_path_factory.mktemp("e2e-bookings")
    app = build_app(folder, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'bookings.db'}")
    with app.app_context():
        db.create_all()
        demo.seed_small()
        seed_demo()
        db.session.commit()
        # A slot starting soon, so that staff can check people in now.
        staff = db.session.scalar(db.select(User).where(User.username == "provider"))
        legal = db.session.scalar(db.select(Service).where(Service.title == "劳动争议法律咨询"))
        soon = operations.add_slot(actor=staff, service=legal, starts_at=utc(1.5),
                                   ends_at=utc(2.5), capacity=4)
        rider = db.session.scalar(db.select(User).where(User.username == "rider"))
        from services.accounts import operations as accounts

        worker = accounts.create_user(actor_id=None, role="worker", username="qrworker",
                                      password=DEMO_PASSWORD, phone="13800000099", name="周QR")
        by_code = operations.book(worker=rider, slot=soon).booking
        by_qr = operations.book(worker=worker, slot=soon).booking
        db.session.commit()
        with app.test_request_context(base_url="http://127.0.0.1"):
            facts = {"slot_id": soon.id, "code": by_code.check_in_code,
                     "qr_path": f"/provider/check-in?t={operations.check_in_token(by_qr)}",
                     "legal_id": legal.id}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-bookings", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", facts
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def phone(browser, bookings_server):
    base, facts = bookings_server
    context = browser.new_context(base_url=base, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm on the cancel form
    try:
        yield page, facts
    finally:
        context.close()


def at(path: str) -> re.Pattern:
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    form = page.locator("main form[action='/login']")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(at("/"))


def test_worker_books_a_legal_consultation_on_a_phone(phone):
    page, facts = phone
    sign_in(page, "worker")
    page.locator("main a[href='/services']").first.click()
    expect(page).to_have_url(at("/services"))
    check_accessibility(page, "services")

    search = page.locator("main form[role=search]")
    search.locator("input[name=q]").fill("法律咨询")
    search.locator("button[type=submit]").click()
    expect(page.locator(f"main a[href='/services/{facts['legal_id']}']")).to_be_visible()
    screenshot(page, "phone-bookings-search")
    page.locator(f"main a[href='/services/{facts['legal_id']}']").click()
    expect(page).to_have_url(at(f"/services/{facts['legal_id']}"))
    check_accessibility(page, "service")
    screenshot(page, "phone-bookings-service")

    # The last slot on the page: weeks ahead, it never overlaps the demo booking the worker
    # already holds tomorrow morning, or the slot that starts 1.5 hours from now (whatever
    # the hour the suite runs at).
    book_form = page.locator("main form.book-form").last
    slot_action = book_form.get_attribute("action")
    book_form.locator("button[type=submit]").click()  # the second tap
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_path = re.sub(r"^https?://[^/]+", "", page.url)
    qr = page.locator("main figure.qr img")
    expect(qr).to_be_visible()
    assert page.evaluate("img => img.naturalWidth > 0", qr.element_handle())
    expect(page.locator("main .check-in-code")).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))
    check_accessibility(page, "booking with QR")
    screenshot(page, "phone-bookings-qr")

    page.locator(f"main form[action='{booking_path}/cancel'] button[type=submit]").click()
    expect(page).to_have_url(at(booking_path))
    expect(page.locator("main .status-cancelled")).to_be_visible()
    expect(page.locator("main figure.qr")).to_have_count(0)
    check_accessibility(page, "cancelled booking")
    screenshot(page, "phone-bookings-cancelled")

    page.goto(f"/services/{facts['legal_id']}")
    page.locator(f"main form[action='{slot_action}'] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    assert re.sub(r"^https?://[^/]+", "", page.url) != booking_path
    expect(page.locator("main .status-booked")).to_be_visible()
    expect(page.locator("main figure.qr img")).to_be_visible()

    page.goto("/bookings")
    check_accessibility(page, "my bookings")
    screenshot(page, "phone-bookings-mine")


def test_provider_adds_weekly_slots_and_checks_workers_in(phone):
    page, facts = phone
    sign_in(page, "provider")
    page.goto("/provider/services")
    check_accessibility(page, "provider services")
    page.locator(f"main a[href='/provider/services/{facts['legal_id']}']").click()
    check_accessibility(page, "provider service")
    page.locator(f"main a[href='/provider/services/{facts['legal_id']}/pattern']").click()
    check_accessibility(page, "weekly pattern form")

    form = page.locator(f"main form[action='/provider/services/{facts['legal_id']}/pattern']")
    for weekday in ("6", "7"):  # weekends: the demo has weekday slots only
        form.locator(f"input[name=weekdays][value='{weekday}']").check()
    form.locator("input[name=start_time]").fill("19:00")
    form.locator("input[name=end_time]").fill("20:00")
    form.locator("input[name=capacity]").fill("6")
    first = date.today() + timedelta(days=1)
    form.locator("input[name=first_date]").fill(first.isoformat())
    form.locator("input[name=last_date]").fill((first + timedelta(days=20)).isoformat())
    screenshot(page, "phone-provider-pattern")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(at(f"/provider/services/{facts['legal_id']}"))
    expect(page.locator(".flash-success")).to_be_visible()
    check_accessibility(page, "service with new slots")

    page.goto(f"/provider/slots/{facts['slot_id']}")
    check_accessibility(page, "attendance list")
    code_form = page.locator(f"main form[action='/provider/slots/{facts['slot_id']}/check-in']")
    code = facts["code"]
    code_form.locator("input[name=code]").fill(f"{code[:4].lower()}-{code[4:]}")
    code_form.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("main .status-attended")).to_have_count(1)

    page.goto(facts["qr_path"])  # what the phone camera opens from the worker's QR code
    check_accessibility(page, "QR check-in")
    screenshot(page, "phone-provider-scan")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(at(f"/provider/slots/{facts['slot_id']}"))
    expect(page.locator("main .status-attended")).to_have_count(2)
    screenshot(page, "phone-provider-attendance")

    page.goto("/booking-reports")
    expect(page.locator("main svg.bar-chart")).to_be_visible()
    check_accessibility(page, "booking dashboard")
    screenshot(page, "phone-provider-dashboard")
