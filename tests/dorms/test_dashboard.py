"""The park manager's dormitory dashboard and exports: figures, charts, exports, access, query budget."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.core.access import Role
from services.core.audit import utcnow
from services.dorms import reports
from services.dorms.models import ApplicationStatus, Bed, Building, Room, Stay, StayStatus
from services.extensions import db
from services.dorms.views.reports import XLSX
from tests.conftest import counted_statements
from tests.dorms.factories import apply, make_park
from tests.dorms.test_views import client_for
from tests.factories import make_org, make_user

# A: 101 meets the standard (20 m² / 4 m² = 5 ≥ 4 beds); 102 does not (12 m² allows 3, has 6).
# B: a couple room and an accessible room in maintenance (its beds count nowhere).
ROOMS = "\n".join([
    "A,101,1,F,4,standard,no,20,300,,",
    "A,102,1,M,6,standard,no,12,300,,",
    "B,201,2,any,2,couple,no,20,300,,",
    "B,202,2,F,2,accessible,no,20,300,,maintenance",
])
# Budget for one request, whatever the park's size: login, the page's own statements, base.html.
QUERY_BUDGET = 15


def _bed(park, code: str, number: str, index: int = 0) -> Bed:
    room = db.session.scalar(select(Room).join(Building).where(
        Building.park_id == park.id, Building.code == code, Room.number == number))
    return room.beds[index]


def _stay(worker, bed, status=StayStatus.ACTIVE, expires_in: timedelta | None = None) -> Stay:
    stay = Stay(worker_id=worker.id, bed_id=bed.id, status=status,
                start_date=date.today() if status is StayStatus.ACTIVE else None,
                offer_expires_at=utcnow() + expires_in if expires_in is not None else None)
    db.session.add(stay)
    db.session.commit()
    return stay


def _waiting(park, employer, days: int, **overrides):
    application = apply(make_user("worker", org=employer), park, **overrides)
    application.submitted_at = utcnow() - timedelta(days=days)
    db.session.commit()
    return application


@pytest.fixture
def known(app):
    """Park 1 with four rooms, two employers' occupants, three waiting applications, two offers."""
    park, employer, manager = make_park(ROOMS)
    other_employer = make_org("employer", name="=HYPERLINK(\"x\")", park_code=park.code)
    for index in range(3):
        _stay(make_user("worker", org=employer), _bed(park, "A", "101", index))
    _stay(make_user("worker", org=other_employer), _bed(park, "A", "102"))
    _stay(make_user("worker", org=employer), _bed(park, "B", "201"), StayStatus.OFFERED,
          expires_in=timedelta(hours=10))
    _stay(make_user("worker", org=employer), _bed(park, "A", "102", 1), StayStatus.OFFERED,
          expires_in=timedelta(hours=40))
    apps = [_waiting(park, employer, days) for days in (10, 4, 2)]
    offered = _waiting(park, employer, 30)
    offered.status = ApplicationStatus.OFFERED
    db.session.commit()
    return park, employer, other_employer, manager, apps


def test_dashboard_figures_on_a_known_park(known):
    park, employer, other_employer, _, _ = known
    data = reports.dashboard(park.id)
    # open rooms: A-101 (4) + A-102 (6) + B-201 (2) = 12 beds; held: 3 + 1 + 1 offer + 1 offer
    assert (data.total.beds, data.total.held, data.total.living_in, data.total.vacant) == (12, 6, 4, 6)
    by_building = {o.key: (o.beds, o.held, o.living_in) for o in data.by_building}
    assert by_building == {"A": (10, 5, 4), "B": (2, 1, 0)}
    by_kind = {o.key: (o.beds, o.held) for o in data.by_kind}
    assert by_kind == {"standard": (10, 5), "couple": (2, 1), "accessible": (0, 0)}
    by_gender = {o.key: o.vacant for o in data.by_gender}
    assert by_gender == {"M": 4, "F": 1, "any": 1}
    by_employer = {o.key: (o.held, o.living_in) for o in data.by_employer}
    assert by_employer == {employer.name: (5, 3), other_employer.name: (1, 1)}
    assert (data.queue_length, data.median_days_waiting, data.longest_days_waiting) == (3, 4, 10)
    assert (data.offers_pending, data.offers_expiring, data.offers_overdue) == (2, 1, 0)
    assert data.out_of_standard == 1
    assert [(r["building"], r["room"], r["compliant_capacity"]) for r in data.out_of_standard_rooms] \
        == [("A", "102", 3)]


def test_median_of_an_even_queue_is_the_mean_of_the_middle_two(app):
    park, employer, _ = make_park(ROOMS)
    for days in (1, 3, 6, 20):
        _waiting(park, employer, days)
    data = reports.dashboard(park.id)
    assert (data.queue_length, data.median_days_waiting, data.longest_days_waiting) == (4, 4.5, 20)


def test_dashboard_page_draws_charts_with_tables(app, known):
    park, employer, _, manager, _ = known
    page = client_for(app, manager).get("/dorms/manage/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('role="img"') >= 3 and "aria-label=" in html and "<svg" in html
    assert "<table" in html and employer.name in html
    assert "style=" not in html and "<script>" not in html  # CSP: no inline style or script
    assert 'href="/dorms/manage/dashboard"' in html and 'aria-current="page"' in html


def test_rooms_export_csv_and_xlsx(app, known):
    park, _, other_employer, manager, _ = known
    db.session.execute(Room.__table__.update().where(Room.number == "101")
                       .values(reserved_for_id=other_employer.id))
    db.session.commit()
    client = client_for(app, manager)
    response = client.get("/dorms/manage/dashboard/rooms.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment; filename=dorm-rooms.csv" == response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert tuple(rows[0]) == reports.ROOM_COLUMNS
    by_room = {(r["building"], r["room"]): r for r in rows}
    assert len(by_room) == 4
    assert by_room[("A", "102")]["out_of_standard"] == "yes"
    assert by_room[("A", "102")]["compliant_capacity"] == "3"
    assert (by_room[("A", "101")]["held"], by_room[("A", "101")]["vacant"]) == ("3", "1")
    assert by_room[("A", "101")]["reserved_for"].startswith("'=")  # formula injection escaped
    assert by_room[("B", "202")]["vacant"] == "0"  # in maintenance

    only = client.get("/dorms/manage/dashboard/rooms.csv?over_standard=1").get_data(as_text=True)
    assert "102" in only and "101" not in only

    response = client.get("/dorms/manage/dashboard/rooms.xlsx?building=a")
    assert response.status_code == 200 and response.mimetype == XLSX
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.values)
    assert values[0] == reports.ROOM_COLUMNS and len(values) == 3
    assert {row[1] for row in values[1:]} == {"101", "102"}


def test_queue_export_holds_no_personal_data(app, known):
    park, _, _, manager, apps = known
    client = client_for(app, manager)
    response = client.get("/dorms/manage/dashboard/queue.csv?order=waiting")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "filename=dorm-queue.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert tuple(rows[0]) == reports.QUEUE_COLUMNS
    assert [int(r["application_id"]) for r in rows] == [a.id for a in apps]  # longest first
    assert [r["days_waiting"] for r in rows] == ["10", "4", "2"]
    for app_ in apps:
        assert app_.worker.phone not in text and app_.worker.display_name not in text
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/dorms/manage/dashboard/queue.csv?min_days=4").get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r["days_waiting"] for r in rows) == ["10", "4"]
    response = client.get("/dorms/manage/dashboard/queue.xlsx")
    from openpyxl import load_workbook

    values = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert values[0] == reports.QUEUE_COLUMNS and len(values) == 4


def test_lists_filter_and_paginate(app, known):
    _, _, _, manager, apps = known
    client = client_for(app, manager)
    html = client.get("/dorms/manage/dashboard/rooms?vacant=1&kind=standard").get_data(as_text=True)
    assert "A-101" in html and "A-102" in html and "B-201" not in html
    assert "dashboard/rooms.csv?" in html and "kind=standard" in html
    html = client.get("/dorms/manage/dashboard/queue?status=submitted").get_data(as_text=True)
    assert all(f">{a.id}</a>" not in html for a in apps)  # all three are waitlisted
    html = client.get("/dorms/manage/dashboard/queue").get_data(as_text=True)
    assert all(f">{a.id}</a>" in html for a in apps)


def test_safe_cell_escapes_formulas():
    assert [reports.safe_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "ok", 5)] == \
        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "ok", 5]


@pytest.mark.parametrize("path", [
    "/dorms/manage/dashboard/rooms?page=abc&kind=castle&gender=x&status=%00&building=" + "Z" * 300,
    "/dorms/manage/dashboard/rooms?page=-5&per_page=100000&vacant=yes&over_standard=2",
    "/dorms/manage/dashboard/rooms.csv?kind=castle&page=999999999999",
    "/dorms/manage/dashboard/rooms.xlsx?status=open&building=%27%3B--",
    "/dorms/manage/dashboard/queue?status=housed&min_days=-3&order=%3Cscript%3E&page=0",
    "/dorms/manage/dashboard/queue?min_days=99999999999999999999&page=99999999",
    "/dorms/manage/dashboard/queue.csv?min_days=abc&status=zzz",
    "/dorms/manage/dashboard/queue.xlsx?min_days=1.5",
])
def test_bad_filter_input_is_not_an_error(app, known, path):
    _, _, _, manager, _ = known
    assert client_for(app, manager).get(path).status_code == 200


DASHBOARD_PATHS = ("/dorms/manage/dashboard", "/dorms/manage/dashboard/rooms",
                   "/dorms/manage/dashboard/rooms.csv", "/dorms/manage/dashboard/rooms.xlsx",
                   "/dorms/manage/dashboard/queue", "/dorms/manage/dashboard/queue.csv",
                   "/dorms/manage/dashboard/queue.xlsx")


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.PARK_MANAGER])
def test_dashboard_refuses_other_roles(app, role):
    client = client_for(app, make_user(role))
    for path in DASHBOARD_PATHS:
        assert client.get(path).status_code == 403, path


def test_dashboard_asks_anonymous_visitors_to_sign_in(client):
    for path in DASHBOARD_PATHS:
        assert client.get(path).status_code in (302, 401), path


def test_another_parks_manager_sees_only_their_park(app, known):
    park, employer, _, _, apps = known
    _, _, stranger = make_park("Z,901,9,M,2,standard,no,20,300,,")
    client = client_for(app, stranger)
    data_html = client.get("/dorms/manage/dashboard").get_data(as_text=True)
    assert employer.name not in data_html
    rooms = client.get("/dorms/manage/dashboard/rooms.csv").get_data(as_text=True)
    assert "901" in rooms and "101" not in rooms and "102" not in rooms
    queue = client.get("/dorms/manage/dashboard/queue.csv").get_data(as_text=True)
    assert queue.strip().lstrip("\ufeff") == ",".join(reports.QUEUE_COLUMNS)
    html = client.get("/dorms/manage/dashboard/queue").get_data(as_text=True)
    assert all(f">{a.id}</a>" not in html for a in apps)


# --- query budget ------------------------------------------------------------------------------



def _park_of_size(rooms: int):
    """A park with `rooms` rooms of two beds, one occupant and one waiting application per room."""
    lines = "\n".join(f"{'AB'[i % 2]},{100 + i},1,F,2,standard,no,{6 if i % 3 == 0 else 20},300,,"
                      for i in range(rooms))
    park, employer, manager = make_park(lines)
    employers = [employer, make_org("employer", park_code=park.code)]
    beds = list(db.session.scalars(select(Bed).join(Room).join(Building)
                                   .where(Building.park_id == park.id).order_by(Bed.id)))[::2]
    for index, bed in enumerate(beds):
        worker = make_user("worker", org=employers[index % 2])
        apply(worker, park)  # the application first: a worker with a bed may not apply
        _stay(worker, bed, StayStatus.ACTIVE if index % 2 else StayStatus.OFFERED,
              expires_in=None if index % 2 else timedelta(hours=5))
        _waiting(park, employers[index % 2], index)
    return manager


def _statements_per_page(app, rooms: int) -> dict[str, int]:
    manager = _park_of_size(rooms)
    client = client_for(app, manager)
    counts = {}
    for path in ("/dorms/manage/dashboard", "/dorms/manage/rooms", "/dorms/manage/queue",
                 "/dorms/manage/dashboard/rooms", "/dorms/manage/dashboard/queue",
                 "/dorms/manage/dashboard/rooms.csv", "/dorms/manage/dashboard/queue.xlsx"):
        db.session.remove()  # nothing cached from the set-up: the request loads what it needs
        with counted_statements() as statements:
            assert client.get(path).status_code == 200, path
        counts[path] = len(statements)
    return counts


def test_pages_run_a_fixed_number_of_statements(app):
    small = _statements_per_page(app, 3)
    db.session.remove()
    db.drop_all()
    db.create_all()
    large = _statements_per_page(app, 40)
    assert small == large, (small, large)
    assert max(large.values()) <= QUERY_BUDGET, large


def test_dashboard_of_an_empty_park(app):
    _, _, manager = make_park()
    client = client_for(app, manager)
    for path in DASHBOARD_PATHS:
        assert client.get(path).status_code == 200, path
    data = reports.dashboard(manager.org_id)
    assert (data.total.beds, data.queue_length, data.median_days_waiting, data.out_of_standard) \
        == (0, 0, None, 0)
