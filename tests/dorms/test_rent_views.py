"""Rent pages: permissions for every role and another park, CSV/XLSX exports, bad input."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from services.core.access import Role
from services.dorms.rent_models import RentPayment, RentSubsidy
from services.extensions import db
from tests.conftest import csrf_token, login
from tests.dorms.factories import make_park
from tests.dorms.test_rent import beds, stay
from tests.factories import make_org, make_user

PAGE = "/dorms/manage/rent"
READERS = (PAGE + "?month=2026-01", PAGE + "/export.csv?month=2026-01",
           PAGE + "/export.xlsx?month=2026-01")
WRITERS = (PAGE + "/subsidies", PAGE + "/payments")


def client_for(app, user):
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


@pytest.fixture
def park_with_rent(app):
    park, employer, manager = make_park("A,101,1,F,2,standard,no,20,300,,")
    alice = make_user("worker", org=employer, phone="13812345678")
    alice.name = "=HYPERLINK(\"http://x\")"
    db.session.commit()
    alice_stay = stay(alice, beds(park)[0], date(2026, 1, 11))
    gig = make_user("worker", phone="13987654321")
    gig_stay = stay(gig, beds(park)[1], date(2025, 12, 1), date(2026, 1, 16))
    return park, employer, manager, alice_stay, gig_stay


def test_only_park_managers_may_use_the_rent_pages(app, park_with_rent):
    for role in Role:
        if role is Role.PARK_MANAGER:
            continue
        client = client_for(app, make_user(role.value))
        for path in READERS:
            assert client.get(path).status_code == 403, (role, path)
        for path in WRITERS:
            token = csrf_token(client, "/")
            assert client.post(path, data={"csrf_token": token}).status_code == 403, (role, path)
    anonymous = app.test_client()
    for path in READERS:
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.location
    for path in WRITERS:
        assert anonymous.post(path).status_code in (302, 400)
    assert db.session.scalar(select(RentPayment)) is None
    assert db.session.scalar(select(RentSubsidy)) is None


def test_another_parks_manager_sees_nothing_and_cannot_record(app, park_with_rent):
    park, employer, manager, alice_stay, _ = park_with_rent
    _, _, other_manager = make_park()
    client = client_for(app, other_manager)
    page = client.get(PAGE + "?month=2026-01").get_data(as_text=True)
    assert "A-101" not in page and alice_stay.worker.name not in page
    body = client.get(PAGE + "/export.csv?month=2026-01").get_data(as_text=True)
    assert body.strip().count("\n") == 0  # the header only
    token = csrf_token(client, PAGE)
    response = client.post(PAGE + "/payments", data={
        "csrf_token": token, "stay_id": alice_stay.id, "month": "2026-01", "amount_yuan": "10",
        "paid_on": "2026-02-01"})
    assert response.status_code == 404
    response = client.post(PAGE + "/subsidies", data={
        "csrf_token": token, "employer": employer.id, "share_percent": "50", "valid_from": "2026-01"})
    # The other park's manager may subsidise for their own park only: the employer has no
    # link with that park, so it is not a choice there.
    assert response.status_code == 302
    assert db.session.scalar(select(RentPayment)) is None
    assert db.session.scalar(select(RentSubsidy).where(RentSubsidy.park_id == park.id)) is None


def test_statement_page_with_totals_subsidy_and_payment(app, park_with_rent):
    park, employer, manager, alice_stay, gig_stay = park_with_rent
    client = client_for(app, manager)
    page = client.get(PAGE + "?month=2026-01")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'aria-current="page"' in html
    assert "203.23" in html and "145.16" in html and "348.39" in html  # 21/31 and 15/31 of 300 (145.16)
    token = csrf_token(client, PAGE)
    response = client.post(PAGE + "/subsidies", data={
        "csrf_token": token, "employer": employer.id, "share_percent": "50", "valid_from": "2026-01"})
    assert response.status_code == 302 and response.location.endswith(PAGE + "?month=2026-01")
    subsidy = db.session.scalar(select(RentSubsidy))
    assert (subsidy.park_id, subsidy.share_percent, subsidy.valid_from) == (park.id, 50, date(2026, 1, 1))
    html = client.get(PAGE + "?month=2026-01").get_data(as_text=True)
    assert "101.62" in html and "101.61" in html  # 20323 fen: employer 10162, worker 10161
    response = client.post(PAGE + "/payments", data={
        "csrf_token": token, "stay_id": alice_stay.id, "month": "2026-01", "amount_yuan": "100.61",
        "paid_on": "2026-02-05"})
    assert response.status_code == 302 and response.location.endswith(PAGE + "?month=2026-01")
    payment = db.session.scalar(select(RentPayment))
    assert (payment.amount_fen, payment.month, payment.recorded_by) == (10061, "2026-01", manager.id)
    # more than is unpaid: refused, nothing saved
    client.post(PAGE + "/payments", data={
        "csrf_token": token, "stay_id": alice_stay.id, "month": "2026-01", "amount_yuan": "1.01",
        "paid_on": "2026-02-05"})
    html = client.get(PAGE + "?month=2026-01").get_data(as_text=True)
    assert "1.00" in html and len(list(db.session.scalars(select(RentPayment)))) == 1


def test_filter_by_employer(app, park_with_rent):
    park, employer, manager, alice_stay, gig_stay = park_with_rent
    client = client_for(app, manager)
    html = client.get(f"{PAGE}?month=2026-01&employer={employer.id}").get_data(as_text=True)
    assert "203.23" in html and "145.16" not in html


def test_csv_export(app, park_with_rent):
    park, employer, manager, alice_stay, gig_stay = park_with_rent
    client = client_for(app, manager)
    response = client.get(PAGE + "/export.csv?month=2026-01")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f"attachment; filename=rent-{park.code}-2026-01.csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert list(rows[0]) == ["month", "employer_code", "employer", "worker", "phone", "bed", "nights",
                             "gross_yuan", "subsidy_percent", "subsidy_yuan", "deduction_yuan",
                             "paid_yuan", "unpaid_yuan"]
    mine = next(r for r in rows if r["employer_code"] == employer.code)
    assert mine["worker"].startswith("'=")  # formula injection kept as text
    assert mine["phone"] == "138****5678" and mine["nights"] == "21"
    assert (mine["gross_yuan"], mine["deduction_yuan"], mine["unpaid_yuan"]) == ("203.23", "203.23", "203.23")
    gig = next(r for r in rows if r["employer_code"] == "-")
    assert gig["gross_yuan"] == "145.16" and gig["nights"] == "15"
    assert "13812345678" not in text and "13987654321" not in text
    only = client.get(f"{PAGE}/export.csv?month=2026-01&employer={employer.id}")
    assert only.headers["Content-Disposition"].endswith(f"rent-{park.code}-{employer.code}-2026-01.csv")
    assert only.get_data(as_text=True).strip().count("\n") == 1


def test_xlsx_export(app, park_with_rent):
    from openpyxl import load_workbook

    park, employer, manager, alice_stay, gig_stay = park_with_rent
    client = client_for(app, manager)
    response = client.get(PAGE + "/export.xlsx?month=2026-01")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == f"attachment; filename=rent-{park.code}-2026-01.xlsx"
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.values)
    assert values[0][:4] == ("month", "employer_code", "employer", "worker")
    mine = next(v for v in values[1:] if v[1] == employer.code)
    assert mine[3].startswith("'=") and mine[4] == "138****5678"
    assert float(mine[7]) == 203.23 and mine[6] == 21
    assert len(values) == 3


@pytest.mark.parametrize("query", ["month=2026-13", "month=jan", "month=2026-1", "month=%3Cb%3E",
                                   "employer=abc", "employer=-1"])
def test_bad_query_strings_get_a_message_not_a_crash(app, park_with_rent, query):
    _, _, manager, _, _ = park_with_rent
    client = client_for(app, manager)
    client.set_cookie("lang", "en")  # the messages are checked in English
    for path in (PAGE, PAGE + "/export.csv", PAGE + "/export.xlsx"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422, (path, query)
        text = response.get_data(as_text=True)
        assert "YYYY-MM" in text or "enterprise" in text


def test_bad_page_number_and_bad_forms(app, park_with_rent):
    park, employer, manager, alice_stay, _ = park_with_rent
    client = client_for(app, manager)
    assert client.get(PAGE + "?month=2026-01&page=zzz").status_code == 200
    assert client.get(PAGE + "?month=2026-01&page=99").status_code == 200
    token = csrf_token(client, PAGE)
    for data in ({"amount_yuan": "abc"}, {"amount_yuan": "-5"}, {"amount_yuan": "0.001"},
                 {"paid_on": "yesterday"}, {"paid_on": "2999-01-01"}, {"month": "2026-13"},
                 {"stay_id": "x"}):
        form = {"csrf_token": token, "stay_id": alice_stay.id, "month": "2026-01",
                "amount_yuan": "10", "paid_on": "2026-02-05", **data}
        response = client.post(PAGE + "/payments", data=form)
        assert response.status_code == 302, data
    for data in ({"share_percent": "101"}, {"share_percent": "x"}, {"valid_from": "2026-1"},
                 {"valid_from": "2026-13"}, {"employer": "999999"}):
        form = {"csrf_token": token, "employer": employer.id, "share_percent": "10",
                "valid_from": "2026-01", **data}
        assert client.post(PAGE + "/subsidies", data=form).status_code == 302, data
    assert db.session.scalar(select(RentPayment)) is None
    assert db.session.scalar(select(RentSubsidy)) is None
    assert client.post(PAGE + "/payments", data={"stay_id": alice_stay.id}).status_code == 400


def test_nav_links_to_rent(app, park_with_rent):
    _, _, manager, _, _ = park_with_rent
    client = client_for(app, manager)
    assert f'href="{PAGE}"' in client.get("/dorms/manage").get_data(as_text=True)
    assert make_org("employer")  # an employer elsewhere does not break the page
    assert client.get(PAGE).status_code == 200
