"""The queue page, the case list API and the worker's request list: a fixed number of SQL
statements however many cases there are, and, with the read cache on (Redis), every change by
anyone shows on the very next request — and never in another agency's lists."""
from __future__ import annotations

import re

import pytest

from services.accounts import operations as accounts
from services.accounts.sessions import issue_token
from services.cases.models import Case, CaseStatus, DeadlineState
from services.cases.operations import deadlines, handoffs, lifecycle
from services.cases.operations.intake import as_utc
from services.extensions import db
from tests.cases.factories import agencies, client_for, file_case, load_calendar_rows
from tests.conftest import counted_statements, csrf_token

QUEUE_TABS = ("mine", "queue", "open", "done", "tasks")
API_VIEWS = ("mine", "queue", "open", "done")


def statements_of(fn) -> list[str]:
    with counted_statements() as seen:
        fn()
    return seen


def _fill(world, n: int) -> None:
    """n more cases led by hrss: most accepted by its caseworker, some queued, some finished."""
    worker, hrss = world["worker"], world["hrss"]["cw"]
    for index in range(n):
        case = file_case(worker, category="social_insurance", employer=f"盐城第{index}电子有限公司")
        if index % 3:
            lifecycle.accept_case(actor=hrss, case=case)
            if index % 3 == 2:
                lifecycle.start_work(actor=hrss, case=case)
                lifecycle.resolve(actor=hrss, case=case, outcome="help_given", note="已处理")
        db.session.commit()


def _costs(app, world) -> dict[str, int]:
    hrss = world["hrss"]["cw"]
    page = client_for(app, hrss)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {issue_token(hrss)[0]}"}
    db.session.commit()
    worker_page = client_for(app, world["worker"])
    calls = {f"/cases?view={tab}": lambda tab=tab: page.get(f"/cases?view={tab}")
             for tab in QUEUE_TABS}
    calls["/cases"] = lambda: page.get("/cases")
    calls.update({f"/api/v1/cases?view={view}": lambda view=view: api.get(
        f"/api/v1/cases?view={view}", headers=bearer) for view in API_VIEWS})
    calls["/ (worker home)"] = lambda: worker_page.get("/")
    calls["/aid"] = lambda: worker_page.get("/aid")
    costs = {}
    for name, call in calls.items():
        assert call().status_code == 200, name  # warm up
        costs[name] = len(statements_of(lambda: assert_ok(call(), name)))
    return costs


def assert_ok(response, name):
    assert response.status_code == 200, name


@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_the_lists_cost_the_same_statements_with_3_and_with_30_cases(request, database):
    app = request.getfixturevalue(database)
    load_calendar_rows()
    world = agencies()
    lifecycle.set_availability(actor=world["hrss"]["cw2"], user=world["hrss"]["cw2"],
                               available=False)  # the caseworker signed in gets them all
    db.session.commit()
    _fill(world, 3)
    small = _costs(app, world)
    _fill(world, 27)
    assert db.session.query(Case).filter(Case.lead_agency == "hrss").count() == 30
    assert _costs(app, world) == small


def test_the_queue_reads_its_cases_in_two_statements(app):
    load_calendar_rows()
    world = agencies()
    _fill(world, 5)
    page = client_for(app, world["hrss"]["cw"])
    page.get("/cases")
    seen = statements_of(lambda: page.get("/cases"))
    assert len([s for s in seen if "FROM cases" in s]) == 2  # the tab counts, the rows
    assert not [s for s in seen if "case_caseworker_availability" in s
                and "FROM cases" not in s]  # availability comes with the counts


# --- with the read cache (Redis) -------------------------------------------------------------



@pytest.fixture
def world(cached_app):
    load_calendar_rows()
    return agencies()


def post(client, path, data=None):
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **(data or {})})


def text_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def reads_cases(client, path: str) -> bool:
    return any("FROM cases" in s for s in statements_of(lambda: client.get(path)))


def test_a_claim_by_another_caseworker_shows_at_once(cached_app, world):
    case = file_case(world["worker"], category="social_insurance")
    first, second = (client_for(cached_app, world["hrss"][k]) for k in ("cw", "cw2"))
    assert case.case_no in text_of(first, "/cases?view=queue")
    assert not reads_cases(first, "/cases?view=queue")  # served from the cache
    assert post(second, f"/cases/{case.id}/claim").status_code == 302
    assert case.case_no not in text_of(first, "/cases?view=queue")
    assert case.case_no in text_of(second, "/cases?view=mine")
    body = text_of(first, "/cases?view=open")
    assert case.case_no in body and world["hrss"]["cw2"].display_name in body


def test_accepting_a_case_shows_in_the_lists_the_api_and_the_workers_panel(cached_app, world):
    worker = world["worker"]
    hrss = world["hrss"]["cw"]
    case = file_case(worker, category="social_insurance")
    page, home = client_for(cached_app, hrss), client_for(cached_app, worker)
    api = cached_app.test_client()
    bearer = {"Authorization": f"Bearer {issue_token(hrss)[0]}"}
    db.session.commit()
    assert case.case_no not in text_of(page, "/cases?view=mine")
    assert api.get("/api/v1/cases?view=mine", headers=bearer).get_json()["total"] == 0
    assert home_panel_rows(cached_app, worker)[0].status is CaseStatus.SUBMITTED
    assert case.case_no in text_of(home, "/")

    assert post(page, f"/cases/{case.id}/accept").status_code == 302
    assert case.case_no in text_of(page, "/cases?view=mine")
    listed = api.get("/api/v1/cases?view=mine", headers=bearer).get_json()
    assert [item["case_no"] for item in listed["items"]] == [case.case_no]
    assert listed["items"][0]["status"] == "accepted"
    assert home_panel_rows(cached_app, worker)[0].status is CaseStatus.ACCEPTED


def home_panel_rows(app, worker):
    from services.cases import queries

    with app.test_request_context():
        return queries.worker_cases(worker.id, limit=3)


def test_the_tab_counts_follow_every_change(cached_app, world):
    hrss, sup = world["hrss"]["cw"], world["hrss"]["sup"]
    cases = [file_case(world["worker"], category="social_insurance") for _ in range(3)]
    page = client_for(cached_app, hrss)

    def counts():
        from services.cases import queries

        with cached_app.test_request_context():
            return queries.view_counts(hrss)

    text_of(page, "/cases")
    assert counts() == {"mine": 0, "queue": 3, "open": 3, "tasks": 0}
    lifecycle.accept_case(actor=hrss, case=cases[0])
    db.session.commit()
    assert counts()["open"] == 3 and counts()["queue"] == 2  # given to one of the caseworkers
    lifecycle.reassign(actor=sup, cases=cases, to_user=hrss)
    db.session.commit()
    assert counts() == {"mine": 3, "queue": 0, "open": 3, "tasks": 0}
    handoffs.request_handoff(actor=hrss, case=cases[1], kind="referral", to_agency="union",
                             reason="请工会协助")
    db.session.commit()
    union = client_for(cached_app, world["union"]["cw"])
    assert cases[1].case_no in text_of(union, "/cases?view=tasks")
    lifecycle.start_work(actor=hrss, case=cases[0])
    db.session.commit()
    lifecycle.resolve(actor=hrss, case=cases[0], outcome="help_given", note="已处理")
    db.session.commit()
    assert counts() == {"mine": 2, "queue": 0, "open": 2, "tasks": 0}
    assert cases[0].case_no in text_of(page, "/cases?view=done")


def test_a_transfer_moves_the_case_between_the_agencies_lists(cached_app, world):
    hrss, union = world["hrss"]["cw"], world["union"]["cw"]
    case = file_case(world["worker"], category="social_insurance")
    hrss_page, union_page = client_for(cached_app, hrss), client_for(cached_app, union)
    assert case.case_no in text_of(hrss_page, "/cases?view=open")
    assert case.case_no not in text_of(union_page, "/cases?view=open")
    handoff = handoffs.request_handoff(actor=hrss, case=case, kind="transfer", to_agency="union",
                                       reason="属工会职责")
    db.session.commit()
    assert case.case_no in text_of(union_page, "/cases?view=tasks")
    assert post(union_page, f"/handoffs/{handoff.id}/accept").status_code == 302
    assert case.case_no in text_of(union_page, "/cases?view=open")
    assert case.case_no in text_of(union_page, "/cases?view=mine")
    assert case.case_no not in text_of(hrss_page, "/cases?view=open")


def test_one_agency_never_sees_anothers_cached_lists(cached_app, world):
    hrss_case = file_case(world["worker"], category="social_insurance")
    union_case = file_case(world["worker"], category="legal_aid")
    hrss_page = client_for(cached_app, world["hrss"]["cw"])
    union_page = client_for(cached_app, world["union"]["cw"])
    for view in ("queue", "open", "mine", "done"):
        hrss_body = text_of(hrss_page, f"/cases?view={view}")
        union_body = text_of(union_page, f"/cases?view={view}")
        assert union_case.case_no not in hrss_body
        assert hrss_case.case_no not in union_body
    assert hrss_case.case_no in text_of(hrss_page, "/cases?view=queue")
    assert union_case.case_no in text_of(union_page, "/cases?view=queue")


def test_the_sweep_and_a_renamed_caseworker_show_at_once(cached_app, world):
    from datetime import timedelta

    hrss = world["hrss"]["cw"]
    case = file_case(world["worker"], category="social_insurance")
    lifecycle.accept_case(actor=hrss, case=case)
    db.session.commit()
    page = client_for(cached_app, hrss)
    assert "tag-warn" not in text_of(page, "/cases?view=open")
    deadlines.sweep(now=as_utc(case.resolve_due_at) + timedelta(days=1))
    db.session.commit()
    assert db.session.get(Case, case.id).deadline_state is DeadlineState.BREACHED
    assert text_of(page, "/cases?view=open&deadline=breached").count(case.case_no) == 1
    assert "tag-warn" in text_of(page, "/cases?view=open")

    accounts.update_profile(user=db.session.get(type(hrss), hrss.id), name="新名字",
                            phone=None)
    db.session.commit()
    assert "新名字" in text_of(page, "/cases?view=open")


def _ticked(body: str) -> str:
    return re.search(r'<input checked[^>]*name="availability-available"[^>]*value="(\d)"',
                     body).group(1)


def test_availability_shows_at_once(cached_app, world):
    page = client_for(cached_app, world["hrss"]["cw"])
    assert _ticked(text_of(page, "/cases")) == "1"
    assert post(page, "/cases/availability", {"availability-available": "0"}).status_code == 302
    assert _ticked(text_of(page, "/cases")) == "0"


def _badges(body: str) -> list[str]:
    return re.findall(r'<span class="badge">(\d+)</span>', body)


def test_the_cached_page_blocks_follow_changes_language_and_caseworker(cached_app, world):
    hrss, hrss2 = world["hrss"]["cw"], world["hrss"]["cw2"]
    lifecycle.set_availability(actor=hrss2, user=hrss2, available=False)
    db.session.commit()
    case = file_case(world["worker"], category="social_insurance")
    first, second = client_for(cached_app, hrss), client_for(cached_app, hrss2)
    assert _badges(text_of(first, "/cases")) == ["0", "1", "1", "0"]  # mine, queue, open, tasks
    assert post(first, f"/cases/{case.id}/accept").status_code == 302
    body = text_of(first, "/cases")
    assert _badges(body) == ["1", "0", "1", "0"] and case.case_no in body
    other = text_of(second, "/cases")  # the same tab of another caseworker: their own list
    assert _badges(other) == ["0", "0", "1", "0"] and case.case_no not in other

    first.set_cookie("lang", "en")
    english = text_of(first, "/cases")
    assert "My cases" in english and "Social or medical insurance" in english
    first.set_cookie("lang", "zh_CN")
    assert "My cases" not in text_of(first, "/cases")


def test_the_workers_home_panel_follows_their_requests(cached_app, world):
    worker, hrss = world["worker"], world["hrss"]["cw"]
    home = client_for(cached_app, worker)
    assert "YC-" not in text_of(home, "/")
    case = file_case(worker, category="social_insurance")
    assert f"{case.case_no} · 社保或医保 · 已收到" in text_of(home, "/")
    assert case.case_no in text_of(home, "/aid")
    assert not any("FROM cases" in s for s in statements_of(lambda: home.get("/aid")))
    assert post(client_for(cached_app, hrss), f"/cases/{case.id}/accept").status_code == 302
    assert f"{case.case_no} · 社保或医保 · 已受理" in text_of(home, "/")


def test_a_load_around_the_orm_is_shown_after_touch_all(cached_app, world):
    from sqlalchemy import update

    from services.cases.freshness import touch_all

    case = file_case(world["worker"], category="social_insurance")
    page = client_for(cached_app, world["hrss"]["cw"])
    assert case.case_no in text_of(page, "/cases?view=queue")
    db.session.execute(update(Case).where(Case.id == case.id).values(case_no="YC-2026-999999"))
    touch_all()
    db.session.commit()
    assert "YC-2026-999999" in text_of(page, "/cases?view=queue")
