"""The case dashboards and exports: figures on hand-made cases, scope, access, exports, budget."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from services.cases import reports
from services.cases.operations import deadlines, handoffs, lifecycle
from services.core.access import Role
from services.extensions import db
from tests.cases.factories import agencies, file_case, load_calendar_rows
from tests.conftest import counted_statements
from tests.dorms.test_views import client_for
from tests.factories import make_user

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Yancheng
SWEPT = T0 + timedelta(days=11)  # Friday of the next week: 9 of 10 working days used
PATHS = ("/cases/dashboard", "/cases/dashboard.csv", "/cases/dashboard.xlsx")


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _return(world, case, by: str, to: str, at: float):
    return handoffs.return_case(actor=world[by]["cw"], case=case, to_agency=to,
                                reason_code="not_our_remit", basis="《社会保险法》第七条", now=h(at))


def _resolve(world, case, at: float, outcome="help_given"):
    cw = world[case.lead_agency]["cw"]
    lifecycle.start_work(actor=cw, case=case)
    return lifecycle.resolve(actor=cw, case=case, outcome=outcome, note="已办结", now=h(at))


def _commit(value=None):
    db.session.commit()
    return value


@pytest.fixture
def world(app):
    load_calendar_rows()
    return agencies()


@pytest.fixture
def known(world):
    return world, build_known(world)


def build_known(world) -> dict:
    """Twelve cases moved through the operations; the expected figures are worked out below."""
    worker, hrss, union, civil = world["worker"], world["hrss"]["cw"], world["union"]["cw"], \
        world["civil"]["cw"]
    cases = {}
    # HRSS leads A, B (closed with ratings 4 and 2), C (bounced twice: waiting for arbitration),
    # W1–W3 (wage arrears against one employer) and K, the collective case they open.
    cases["A"] = a = file_case(worker, "wage_arrears", employer="甲公司", now=T0)
    lifecycle.accept_case(actor=hrss, case=a, now=h(2))
    referral = a.handoffs[0]
    handoffs.accept_handoff(actor=union, handoff=referral, now=h(3))
    handoffs.finish_referral(actor=union, handoff=referral, succeeded=True, note="法律援助完成",
                             now=h(20))
    _resolve(world, a, 48, outcome="money_recovered")
    lifecycle.confirm(worker=worker, case=a, satisfaction=4, now=h(50))
    cases["B"] = b = file_case(worker, "social_insurance", now=T0)
    lifecycle.accept_case(actor=hrss, case=b, now=h(4))
    _resolve(world, b, 24)
    lifecycle.confirm(worker=worker, case=b, satisfaction=2, comment="太慢", now=h(30))
    cases["C"] = c = file_case(worker, "social_insurance", now=T0)
    _return(world, c, "hrss", "union", 1)
    _return(world, c, "union", "hrss", 3)
    for index in range(3):
        cases[f"W{index + 1}"] = file_case(make_user("worker"), "wage_arrears", employer="乙公司",
                                           now=h(index))
    # The union leads D (in progress), E (returned to it once), F (reopened) and G (arbitrated).
    cases["D"] = d = file_case(worker, "legal_aid", now=T0)
    lifecycle.accept_case(actor=union, case=d, now=h(6))
    lifecycle.start_work(actor=union, case=d)
    cases["E"] = e = file_case(worker, "social_insurance", now=T0)
    _return(world, e, "hrss", "union", 1)
    cases["F"] = f = file_case(worker, "union_membership", now=T0)
    lifecycle.accept_case(actor=union, case=f, now=h(1))
    _resolve(world, f, 10)
    lifecycle.reopen(worker=worker, case=f, reason="会员卡没收到", now=h(20))
    cases["G"] = g = file_case(worker, "social_insurance", now=T0)
    _return(world, g, "hrss", "union", 1)
    _return(world, g, "union", "hrss", 3)
    handoffs.arbitrate(actor=world["coordinator"], case=g, lead_agency="union",
                       decision="由工会牵头", now=h(5))
    # Civil affairs leads H, on hold.
    cases["H"] = hh = file_case(worker, "living_allowance", now=T0)
    lifecycle.accept_case(actor=civil, case=hh, now=h(1))
    lifecycle.start_work(actor=civil, case=hh)
    lifecycle.hold(actor=civil, case=hh, reason="等待收入证明", now=h(2))
    db.session.commit()
    deadlines.sweep(now=SWEPT)
    db.session.commit()
    return cases


def _bars(chart) -> dict:
    return {bar.key: bar.value for bar in chart.bars if bar.value}


def test_hrss_figures(known):
    world, cases = known
    assert cases["W3"].collective_case_id is not None  # the third request opened K
    data = reports.dashboard(agency="hrss", now=SWEPT)
    t = data.totals
    assert (t.total, t.open, t.resolved) == (7, 5, 2)  # A B C W1 W2 W3 K; open: C W1-3 K
    assert (t.returns, t.returned_cases, t.arbitration_waiting, t.arbitrated) == (2, 1, 1, 0)
    assert (t.ratings, t.satisfaction, t.rating_counts) == (2, 3.0, [0, 1, 0, 1, 0])
    assert (t.collective_open, t.collective_total, t.reopenings) == (1, 1, 0)
    assert (t.median_ack_hours, t.median_resolve_hours) == (3.0, 36.0)  # (2, 4) and (48, 24)
    assert _bars(data.by_state) == {"submitted": 5}
    assert _bars(data.by_category) == {"social_insurance": 1, "wage_arrears": 4}
    assert _bars(data.by_deadline) == {"on_track": 4, "at_risk": 1}  # C: 9 of 10 days used
    assert (t.at_risk, t.breached) == (1, 0)
    assert _bars(data.satisfaction) == {"2": 1, "4": 1}
    assert data.by_agency == []


def test_union_and_civil_figures(known):
    union = reports.dashboard(agency="union", now=SWEPT).totals
    assert (union.total, union.open, union.resolved, union.returns, union.arbitrated) == \
        (4, 4, 0, 3, 1)  # D E F G; returns: E once, G twice
    assert (union.reopenings, union.reopened_cases, union.ratings) == (1, 1, 0)
    assert (union.median_ack_hours, union.median_resolve_hours) == (3.5, None)  # D 6 h, F 1 h
    assert (union.at_risk, union.breached) == (2, 1)  # E and G at risk; F's 5 days have passed
    civil = reports.dashboard(agency="civil", now=SWEPT)
    assert (civil.totals.total, civil.totals.open, civil.totals.median_ack_hours) == (1, 1, 1.0)
    assert _bars(civil.by_state) == {"on_hold": 1}


def test_coordinator_sees_every_case_by_agency(known):
    data = reports.dashboard(agency=None, now=SWEPT)
    t = data.totals
    assert (t.total, t.open, t.returns, t.arbitration_waiting, t.arbitrated) == (12, 10, 5, 1, 1)
    assert (t.median_ack_hours, t.median_resolve_hours) == (2.0, 36.0)  # 1 1 2 4 6; 24 48
    assert _bars(data.by_deadline) == {"on_track": 6, "at_risk": 3, "breached": 1}
    assert _bars(data.by_state) == {"submitted": 7, "in_progress": 1, "reopened": 1, "on_hold": 1}
    by_agency = {f.key: (f.open, f.at_risk, f.breached, f.returns, f.median_ack_hours)
                 for f in data.by_agency}
    assert by_agency == {"union": (4, 2, 1, 3, 3.5), "hrss": (5, 1, 0, 2, 3.0),
                         "civil": (1, 0, 0, 0, 1.0)}


def test_time_each_agency_held_cases(known):
    held = {row.agency: (row.cases, row.periods, row.hours, row.holding_now)
            for row in reports.dashboard(agency="union", now=SWEPT).time_held}
    # 11 days = 264 h. HRSS: A 48, B 24, C 1 + 261, W 264 + 263 + 262, K 262, E 1, G 1 + 2.
    # Union: C 2, D 264, E 263, F 10 + 244 (reopened at +20 h), G 2 + 259. Civil: H 264.
    assert held == {"hrss": (9, 11, 1389.0, 5), "union": (5, 7, 1044.0, 4),
                    "civil": (1, 1, 264.0, 1)}


def test_the_same_figures_on_postgresql(pg_app):
    """Durations and medians are written per dialect: PostgreSQL must agree with SQLite."""
    load_calendar_rows()
    build_known(agencies())
    data = reports.dashboard(agency=None, now=SWEPT)
    assert (data.totals.total, data.totals.open, data.totals.returns) == (12, 10, 5)
    assert (data.totals.median_ack_hours, data.totals.median_resolve_hours) == (2.0, 36.0)
    assert {f.key: f.median_ack_hours for f in data.by_agency} == \
        {"union": 3.5, "hrss": 3.0, "civil": 1.0}
    assert {row.agency: row.hours for row in data.time_held} == \
        {"hrss": 1389.0, "union": 1044.0, "civil": 264.0}
    assert reports.dashboard(agency="union", now=SWEPT, period="30").totals.total == 4


def test_period_keeps_the_cases_filed_in_it(world):
    now = datetime(2027, 3, 1, 2, 0, tzinfo=timezone.utc)
    for days in (5, 60, 200, 400):
        file_case(make_user("worker"), "social_insurance", now=now - timedelta(days=days))
    totals = {period: reports.dashboard(agency="hrss", now=now, period=period).totals.total
              for period in ("30", "90", "365", "all", "7", "", None, "'; DROP TABLE cases")}
    assert totals == {"30": 1, "90": 2, "365": 3, "all": 4, "7": 4, "": 4, None: 4,
                      "'; DROP TABLE cases": 4}
    held = reports.dashboard(agency=None, now=now, period="30").time_held
    assert {row.agency: row.cases for row in held} == {"hrss": 1, "union": 0, "civil": 0}


def test_empty_dashboard(world):
    data = reports.dashboard(agency=None)
    assert (data.totals.total, data.totals.median_ack_hours, data.totals.satisfaction) == \
        (0, None, None)
    assert [row.hours for row in data.time_held] == [0.0, 0.0, 0.0]
    assert [f.key for f in data.by_agency] == ["union", "hrss", "civil"]


# --- pages, scope and exports --------------------------------------------------------------------

def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _figure(rows, section, agency, key):
    [row] = [r for r in rows if (r["section"], r["agency"], r["key"]) == (section, agency, key)]
    return row["value"]


def test_page_draws_charts_with_tables(app, known):
    world, _ = known
    page = client_for(app, world["coordinator"]).get("/cases/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('role="img"') == 6 and html.count("<table") == 6 and "aria-label=" in html
    assert "style=" not in html and "<script>" not in html  # CSP: no inline style or script
    assert "css/cases.css" in html and 'aria-current="page"' in html
    assert "/cases/dashboard.csv?period=all" in html
    summary = html.split('id="summary-title"')[1].split("</dl>")[0]
    assert summary.count("<dt>") == len(reports.FIGURE_LABELS)  # the export's summary, figure by figure


def test_hrss_supervisor_sees_hrss_figures_only(app, known):
    world, cases = known
    client = client_for(app, world["hrss"]["sup"])
    rows = _csv(client.get("/cases/dashboard.csv"))
    assert _figure(rows, "summary", "hrss", "open") == "5"
    assert _figure(rows, "open_by_category", "hrss", "legal_aid") == "0"  # union's D is not here
    assert _figure(rows, "open_by_state", "hrss", "in_progress") == "0"
    assert not [r for r in rows if r["section"] == "by_agency"]
    assert _figure(rows, "time_held", "union", "cases") == "5"  # the comparison, aggregates only
    html = client.get("/cases/dashboard").get_data(as_text=True)
    assert "Figures per lead agency" not in html and "agency-chart" not in html
    coordinator = _csv(client_for(app, world["coordinator"]).get("/cases/dashboard.csv"))
    assert _figure(coordinator, "summary", "all", "open") == "10"
    assert _figure(coordinator, "by_agency", "union", "returns") == "3"


def test_exports_hold_the_page_figures_and_no_personal_data(app, known):
    world, cases = known
    client = client_for(app, world["coordinator"])
    response = client.get("/cases/dashboard.csv?period=90")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=cases-dashboard-all-90.csv"
    rows = _csv(response)
    assert tuple(rows[0]) == reports.EXPORT_COLUMNS
    assert _figure(rows, "scope", "all", "period") == "90"
    assert _figure(rows, "summary", "all", "median_resolve_hours") == "36.0"
    assert _figure(rows, "satisfaction", "all", "4") == "1"
    text = response.get_data(as_text=True)
    worker = world["worker"]
    for secret in (worker.phone, worker.display_name, cases["A"].case_no, "甲公司", "乙公司"):
        assert secret not in text
    response = client.get("/cases/dashboard.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    from openpyxl import load_workbook

    values = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert values[0] == reports.EXPORT_COLUMNS
    assert len(values) == len(rows) + 1
    by_key = {(v[0], v[1], v[2]): v[4] for v in values[1:]}
    assert by_key[("summary", "all", "returns")] == 5
    assert by_key[("by_agency", "civil", "open")] == 1


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_who_may_open_the_dashboard(app, world, role):
    allowed = role in ("caseworker", "supervisor", "coordinator", "admin")
    user = world["union"]["cw"] if role == "caseworker" else make_user(role)
    client = client_for(app, user)
    for path in PATHS:
        assert client.get(path).status_code == (200 if allowed else 403), path


def test_anonymous_visitors_are_asked_to_sign_in(client):
    for path in PATHS:
        assert client.get(path).status_code in (302, 401), path


@pytest.mark.parametrize("query", ["period=abc", "period=-1", "period=99999999999999999999",
                                   "period=%00", "period=30&period=90", "period=" + "9" * 500,
                                   "period=%27%3B--&page=x", "period[]=30"])
def test_bad_query_string_is_not_an_error(app, known, query):
    world, _ = known
    for user in (world["coordinator"], world["hrss"]["sup"]):
        client = client_for(app, user)
        for path in PATHS:
            assert client.get(f"{path}?{query}").status_code == 200, (path, query)


# --- statement budget ------------------------------------------------------------------------------

def _add_cases(world, n: int, start: int) -> None:
    """n cases in every state the dashboard counts: bounced, resolved and rated, on hold, open."""
    for i in range(start, start + n):
        worker = make_user("worker")
        at = T0 + timedelta(minutes=i)
        case = file_case(worker, ("social_insurance", "legal_aid", "living_allowance")[i % 3],
                         employer=f"公司{i}", now=at)
        lead = world[case.lead_agency]["cw"]
        if i % 5 == 0 and case.lead_agency == "hrss":
            _return(world, case, "hrss", "union", 1)
            continue
        lifecycle.accept_case(actor=lead, case=case, now=at + timedelta(hours=i % 7 + 1))
        lifecycle.start_work(actor=lead, case=case)
        if i % 2 and not case.handoffs:
            lifecycle.resolve(actor=lead, case=case, outcome="help_given", note="好",
                              now=at + timedelta(hours=20 + i))
            lifecycle.confirm(worker=worker, case=case, satisfaction=i % 5 + 1,
                              now=at + timedelta(hours=30 + i))
        elif i % 4 == 0:
            lifecycle.hold(actor=lead, case=case, reason="等待材料", now=at + timedelta(hours=9))
        db.session.commit()


def _statements(clients) -> dict:
    counts = {}
    for role, client in clients.items():
        for path in PATHS:
            db.session.remove()  # nothing cached from the set-up: the request loads what it needs
            with counted_statements() as statements:
                assert client.get(path).status_code == 200, path
            counts[(role, path)] = len(statements)
    return counts


def _reloaded(world) -> dict:
    return {key: {k: db.session.merge(v) for k, v in value.items()} if isinstance(value, dict)
            else db.session.merge(value) for key, value in world.items()}


def test_dashboard_runs_a_fixed_number_of_statements(app, world):
    clients = {user.role.value: client_for(app, user)
               for user in (world["coordinator"], world["hrss"]["sup"], world["union"]["cw"])}
    _add_cases(world, 3, 0)
    small = _statements(clients)
    _add_cases(_reloaded(world), 57, 3)
    large = _statements(clients)
    assert small == large, (small, large)
    assert max(large.values()) <= 10, large
