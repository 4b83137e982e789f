"""API v1 aid requests and cases: the journeys, who may see what, the access log, bad input."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.cases.models import (Case, CaseCounter, CaseEvent, CaseNote, CaseStatus, Handoff,
                                   HandoffKind, HandoffStatus)
from services.cases.operations import lifecycle
from services.core.audit import AccessLogEntry, AuditEvent, utcnow
from services.extensions import db
from tests.api.test_bookings import auth
from tests.cases.factories import agencies, file_case, load_calendar_rows
from tests.factories import make_user

API = "/api/v1"
RESOLVE = {"outcome": "money_recovered", "note": "企业已补发工资", "recovered_fen": 1_200_000}
RETURN = {"to_agency": "union", "reason_code": "not_our_remit", "basis": "《社会保险法》第七条"}
GOOD_REQUEST = {"category": "wage_arrears", "description": "平台拖欠我两个月的配送费",
                "amount_fen": 860_000, "employer_name": "某某即时配送有限公司",
                "incident_start": "2026-09-01", "incident_end": "2026-10-31",
                "contact_preference": "sms", "consent_agencies": ["hrss", "union"]}


@pytest.fixture
def world(app, client):
    # English, so that the sentences asserted below hold whatever the Chinese catalogue says
    client.set_cookie("lang", "en")
    load_calendar_rows()
    return agencies()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> dict:
    return {model.__name__: count(model) for model in
            (Case, Handoff, CaseEvent, CaseNote, CaseCounter, AuditEvent, AccessLogEntry)}


def post(client, user, path, body=None):
    if body is None:
        return client.post(API + path, headers=auth(user))
    return client.post(API + path, headers=auth(user), json=body)


def get(client, user, path):
    return client.get(API + path, headers=auth(user))


def reload(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def assert_hidden(response, case: Case, status: int = 404) -> None:
    """The answer says nothing of the case: not its number, not the worker's words."""
    assert response.status_code == status, response.get_json()
    text = response.get_data(as_text=True)
    assert case.case_no not in text and case.description not in text
    assert set(response.get_json()) == {"error"}


# --- the journey -------------------------------------------------------------------------

def test_rider_files_wage_arrears_and_the_three_agencies_see_it_through(client, world):
    hrss, union = world["hrss"]["cw"], world["union"]["cw"]
    registered = client.post(f"{API}/auth/register", json={
        "username": "rider_li", "password": "delivery-2026-ok", "phone": "13912345678",
        "name": "李骑手", "employment_form": "platform"})
    assert registered.status_code == 201
    rider = {"Authorization": f"Bearer {registered.get_json()['token']}"}

    screen = client.get(f"{API}/prescreen?category=wage_arrears&consent=hrss&consent=union",
                        headers=rider).get_json()
    assert screen["lead_agency"] == "hrss" and screen["co_agencies"] == ["union"]
    assert screen["can_file"] and screen["resolve_days"] == 15
    assert [r["role"] for r in screen["reasons"]] == ["lead", "co_handling"]
    assert "保障农民工工资支付条例" in screen["reasons"][0]["basis"]

    filed = client.post(f"{API}/aid-requests", headers=rider, json=GOOD_REQUEST)
    assert filed.status_code == 201
    created = filed.get_json()
    assert set(created) == {"id", "case_no", "status", "lead_agency"}
    assert created["status"] == "submitted" and created["lead_agency"] == "hrss"
    case_id = created["id"]
    case = db.session.get(Case, case_id)
    assert case.worker.username == "rider_li" and case.consented_agencies == ["hrss", "union"]
    (referral,) = case.handoffs
    assert referral.kind is HandoffKind.REFERRAL and referral.to_agency == "union"

    mine = client.get(f"{API}/aid-requests/{case_id}", headers=rider).get_json()
    assert mine["case_no"] == created["case_no"] and mine["category"] == "wage_arrears"
    assert mine["co_handling"] == [{"agency": "Trade union", "state": "asked to help"}]
    assert mine["due_at"].endswith("+00:00") and mine["actions"]["withdraw"]
    assert len(mine["feed"]) == 1 and created["case_no"] in mine["feed"][0]["text"]

    queue = get(client, hrss, "/cases?view=queue").get_json()
    assert [item["id"] for item in queue["items"]] == [case_id]
    assert queue["items"][0]["owner"] is None and queue["items"][0]["deadline"].endswith("+00:00")
    tasks = get(client, union, "/handoffs").get_json()
    assert [(t["id"], t["case_no"]) for t in tasks["items"]] == [(referral.id, created["case_no"])]

    accepted = post(client, hrss, f"/cases/{case_id}/accept")
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["owner"] == hrss.display_name
    joined = post(client, union, f"/handoffs/{referral.id}/accept")
    assert joined.status_code == 200 and joined.get_json()["status"] == "accepted"

    early = post(client, hrss, f"/cases/{case_id}/resolve", RESOLVE)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "co_handling_open"
    finished = post(client, union, f"/handoffs/{referral.id}/finish",
                    {"succeeded": True, "note": "已为其出具法律援助意见书"})
    assert finished.status_code == 200 and finished.get_json()["status"] == "completed"
    resolved = post(client, hrss, f"/cases/{case_id}/resolve", RESOLVE)
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"

    mine = client.get(f"{API}/aid-requests/{case_id}", headers=rider).get_json()
    assert mine["actions"]["confirm"] and mine["actions"]["reopen"]
    assert mine["co_handling"] == [{"agency": "Trade union", "state": "finished its part"}]
    confirmed = client.post(f"{API}/aid-requests/{case_id}/confirm", headers=rider,
                            json={"satisfaction": 5, "comment": "钱拿到了，谢谢"})
    assert confirmed.status_code == 200
    assert confirmed.get_json()["status"] == "closed"
    texts = [line["text"] for line in confirmed.get_json()["feed"]]
    assert texts[0] == "Your case is closed." and texts[-1].startswith("Your request")
    assert any("Money recovered" in t for t in texts) and any("finished its part" in t for t in texts)
    case = reload(Case, case_id)
    assert case.status is CaseStatus.CLOSED and case.satisfaction == 5
    assert case.comment == "钱拿到了，谢谢" and case.recovered_fen == 1_200_000
    listed = client.get(f"{API}/aid-requests", headers=rider).get_json()
    assert listed["total"] == 1 and listed["items"][0]["status"] == "closed"


def test_caseworker_steps_hold_resume_claim_and_notes(client, world):
    worker = world["worker"]
    case = file_case(worker, consent=["hrss", "union"])
    hrss, hrss2, union = world["hrss"]["cw"], world["hrss"]["cw2"], world["union"]["cw"]
    claimed = post(client, hrss2, f"/cases/{case.id}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["owner"] == hrss2.display_name
    assert post(client, hrss, f"/cases/{case.id}/claim").status_code == 409
    assert post(client, world["hrss"]["sup"], f"/cases/{case.id}/claim").status_code == 403
    assert post(client, hrss, f"/cases/{case.id}/start").status_code == 409  # not signed for
    for step, body, status in (("accept", None, "accepted"), ("start", None, "in_progress"),
                               ("hold", {"reason": "等待职工补充工资条"}, "on_hold"),
                               ("resume", None, "in_progress")):
        answer = post(client, hrss2, f"/cases/{case.id}/{step}", body)
        assert answer.status_code == 200, (step, answer.get_json())
        assert answer.get_json()["status"] == status
    assert reload(Case, case.id).owner_id == hrss2.id  # accepting kept the claimed owner

    internal = post(client, hrss2, f"/cases/{case.id}/notes", {"body": "企业负责人电话已核实"})
    update = post(client, hrss2, f"/cases/{case.id}/notes",
                  {"body": "已约谈企业，要求一周内补发", "worker_visible": True})
    assert internal.status_code == update.status_code == 201
    assert internal.get_json()["worker_visible"] is False
    post(client, union, f"/handoffs/{case.handoffs[0].id}/accept")
    assert post(client, union, f"/cases/{case.id}/notes", {"body": "工会律师已介入"}).status_code == 201

    lead_view = get(client, hrss, f"/cases/{case.id}").get_json()
    assert [n["body"] for n in lead_view["notes"]] == ["企业负责人电话已核实", "已约谈企业，要求一周内补发",
                                                       "工会律师已介入"]
    assert lead_view["notes"][0]["author"] == hrss2.display_name
    helper_view = get(client, union, f"/cases/{case.id}").get_json()
    assert [n["body"] for n in helper_view["notes"]] == ["已约谈企业，要求一周内补发", "工会律师已介入"]
    assert "owner_id" not in helper_view and "status_reason" not in helper_view
    assert "owner" not in helper_view and helper_view["description"] == case.description
    assert [h["to_agency"] for h in helper_view["handoffs"]] == ["union"]
    feed = client.get(f"{API}/aid-requests/{case.id}", headers=auth(worker)).get_json()["feed"]
    assert any("已约谈企业" in line["text"] for line in feed)
    assert not any("电话已核实" in line["text"] or "律师" in line["text"] for line in feed)


def test_returns_go_to_the_coordinator_whose_decision_binds(client, world):
    case = file_case(world["worker"], category="social_insurance")
    coordinator = world["coordinator"]
    assert_hidden(get(client, coordinator, f"/cases/{case.id}"), case)
    assert get(client, coordinator, "/cases").get_json()["total"] == 0
    returned = post(client, world["hrss"]["cw"], f"/cases/{case.id}/return", RETURN)
    assert returned.status_code == 200 and returned.get_json()["lead_agency"] == "union"
    back = post(client, world["union"]["cw"], f"/cases/{case.id}/return",
                {**RETURN, "to_agency": "hrss", "basis": "《社会保险法》第八十二条"})
    assert back.status_code == 200
    assert reload(Case, case.id).arbitration
    listed = get(client, coordinator, "/cases").get_json()
    assert [item["id"] for item in listed["items"]] == [case.id]
    seen = get(client, coordinator, f"/cases/{case.id}").get_json()
    assert seen["arbitration"] is True and seen["return_count"] == 2
    assert post(client, world["hrss"]["sup"], f"/cases/{case.id}/arbitrate",
                {"lead_agency": "hrss", "decision": "x"}).status_code == 403
    decided = post(client, coordinator, f"/cases/{case.id}/arbitrate",
                   {"lead_agency": "hrss", "decision": "社保缴费争议属人社职责"})
    assert decided.status_code == 200 and decided.get_json()["lead_agency"] == "hrss"
    again = post(client, world["hrss"]["cw"], f"/cases/{case.id}/return", RETURN)
    assert again.status_code == 409
    assert post(client, coordinator, f"/cases/{case.id}/arbitrate",
                {"lead_agency": "union", "decision": "改判"}).status_code == 409


def test_refusal_review_withdraw_and_reopen_by_the_worker(client, world):
    worker = world["worker"]
    refused = file_case(worker, category="social_insurance")
    answer = post(client, world["hrss"]["cw"], f"/cases/{refused.id}/not-accept",
                  {"reason": "不属于社保投诉范围"})
    assert answer.status_code == 200 and answer.get_json()["status"] == "not_accepted"
    mine = get(client, worker, f"/aid-requests/{refused.id}").get_json()
    assert mine["actions"]["review"] and not mine["actions"]["withdraw"]
    assert "不属于社保投诉范围" in mine["feed"][0]["text"]
    assert post(client, worker, f"/aid-requests/{refused.id}/review", {"reason": ""}).status_code == 422
    reviewed = post(client, worker, f"/aid-requests/{refused.id}/review", {"reason": "我交过社保"})
    assert reviewed.status_code == 200 and reviewed.get_json()["status"] == "submitted"
    assert get(client, world["coordinator"], f"/cases/{refused.id}").status_code == 200

    dropped = file_case(worker, category="legal_aid")
    withdrawn = post(client, worker, f"/aid-requests/{dropped.id}/withdraw", {})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    again = post(client, worker, f"/aid-requests/{dropped.id}/withdraw", {"reason": "再撤一次"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_state"

    done = file_case(worker, category="union_membership", consent=["union"])
    union = world["union"]["cw"]
    for step, body in (("accept", None), ("resolve", {"outcome": "help_given", "note": "已入会"})):
        assert post(client, union, f"/cases/{done.id}/{step}", body).status_code == 200
    assert post(client, worker, f"/aid-requests/{done.id}/reopen", {"reason": " "}).status_code == 422
    reopened = post(client, worker, f"/aid-requests/{done.id}/reopen", {"reason": "会员卡没收到"})
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "reopened"
    assert post(client, union, f"/cases/{done.id}/resolve",
                {"outcome": "help_given", "note": "补寄"}).status_code == 200
    reload(Case, done.id).resolved_at = utcnow() - timedelta(days=16)
    db.session.commit()
    late = post(client, worker, f"/aid-requests/{done.id}/reopen", {"reason": "还是没收到"})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "reopen_window_passed"
    listed = get(client, worker, "/aid-requests?per_page=2").get_json()
    assert listed["total"] == 3 and len(listed["items"]) == 2 and listed["per_page"] == 2
    assert get(client, worker, "/aid-requests?page=2&per_page=2").get_json()["items"][0]["id"] \
        == refused.id


# --- who may see what --------------------------------------------------------------------

CASE_ACTIONS = [
    ("accept", None), ("claim", None), ("start", None), ("hold", {"reason": "等材料"}),
    ("resume", None), ("resolve", RESOLVE), ("not-accept", {"reason": "不受理"}),
    ("return", RETURN), ("notes", {"body": "看一眼"}),
    ("handoffs", {"kind": "transfer", "to_agency": "civil", "reason": "转民政"}),
    ("arbitrate", {"lead_agency": "civil", "decision": "民政牵头"}),
]
HANDOFF_ACTIONS = [("accept", None), ("decline", {"reason_code": "other", "basis": "x"}),
                   ("revoke", None), ("finish", {"succeeded": True, "note": "x"})]
ROLE_OF = {"claim": {"caseworker"}, "arbitrate": {"coordinator"}}


def _allowed(role: str, action: str) -> bool:
    return role in ROLE_OF.get(action, {"caseworker", "supervisor"})


def test_agencies_without_a_part_in_the_case_get_404_and_nothing_changes(client, world):
    case = file_case(world["worker"], consent=["hrss", "union"])  # civil was not consented to
    referral = case.handoffs[0]
    outsiders = [world["civil"]["cw"], world["civil"]["sup"], world["coordinator"]]
    before = counts()
    for user in outsiders:
        role = user.role.value
        assert_hidden(get(client, user, f"/cases/{case.id}"), case)
        assert case.id not in [i["id"] for i in get(client, user, "/cases").get_json()["items"]]
        for action, body in CASE_ACTIONS:
            status = 404 if _allowed(role, action) else 403
            assert_hidden(post(client, user, f"/cases/{case.id}/{action}", body), case, status)
        for action, body in HANDOFF_ACTIONS:
            status = 403 if role == "coordinator" else 404
            assert_hidden(post(client, user, f"/handoffs/{referral.id}/{action}", body), case,
                          status)
    assert counts() == before
    assert reload(Case, case.id).status is CaseStatus.SUBMITTED
    assert reload(Handoff, referral.id).status is HandoffStatus.REQUESTED


@pytest.mark.parametrize("role", ["worker", "park_manager", "provider", "admin"])
def test_other_roles_are_refused_every_case_endpoint(client, world, role):
    case = file_case(world["worker"])
    user = world["worker"] if role == "worker" else make_user(role)
    before = counts()
    assert_hidden(get(client, user, f"/cases/{case.id}"), case, 403)
    assert get(client, user, "/cases").status_code == 403
    for action, body in CASE_ACTIONS:
        assert_hidden(post(client, user, f"/cases/{case.id}/{action}", body), case, 403)
    for action, body in HANDOFF_ACTIONS:
        assert_hidden(post(client, user, f"/handoffs/{case.handoffs[0].id}/{action}", body), case,
                      403)
    assert counts() == before


def test_a_worker_reaches_only_their_own_requests(client, world):
    case = file_case(world["worker"])
    other, admin = make_user("worker"), make_user("admin")
    before = counts()
    assert_hidden(get(client, other, f"/aid-requests/{case.id}"), case)
    assert get(client, other, "/aid-requests").get_json() == {"items": [], "page": 1,
                                                              "per_page": 20, "total": 0}
    for step, body in (("confirm", {"satisfaction": 1}), ("reopen", {"reason": "x"}),
                       ("withdraw", {}), ("review", {"reason": "x"})):
        assert_hidden(post(client, other, f"/aid-requests/{case.id}/{step}", body), case)
    assert_hidden(get(client, other, "/aid-requests/999999"), case)
    for user in (world["hrss"]["cw"], world["coordinator"], admin):
        assert_hidden(get(client, user, f"/aid-requests/{case.id}"), case, 403)
        assert post(client, user, "/aid-requests", GOOD_REQUEST).status_code == 403
    assert counts() == before
    assert reload(Case, case.id).status is CaseStatus.SUBMITTED


def test_consent_keeps_an_agency_out_even_with_the_routing_rule(client, world):
    case = file_case(world["worker"], category="hardship", consent=["union"])  # civil co-handles
    assert case.handoffs == []
    assert_hidden(get(client, world["civil"]["cw"], f"/cases/{case.id}"), case)
    refused = post(client, world["union"]["cw"], f"/cases/{case.id}/handoffs",
                   {"kind": "referral", "to_agency": "civil", "reason": "请民政协办"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "no_consent"
    assert count(Handoff) == 0


def test_a_co_handler_may_read_but_not_run_the_case(client, world):
    case = file_case(world["worker"], consent=["hrss", "union"])
    union = world["union"]["cw"]
    post(client, world["hrss"]["cw"], f"/cases/{case.id}/notes", {"body": "内部：企业有前科"})
    before = counts()
    for action, body in (("accept", None), ("resolve", RESOLVE), ("return", RETURN),
                         ("hold", {"reason": "x"})):
        assert post(client, union, f"/cases/{case.id}/{action}", body).status_code == 403
    view = get(client, union, f"/cases/{case.id}")
    assert view.status_code == 200 and "企业有前科" not in view.get_data(as_text=True)
    assert counts() == before | {"AccessLogEntry": before["AccessLogEntry"] + 1}


def test_a_transfer_moves_access_only_when_accepted(client, world):
    case = file_case(world["worker"], category="social_insurance", consent=["hrss", "union"])
    hrss, union = world["hrss"]["cw"], world["union"]["cw"]
    assert_hidden(get(client, union, f"/cases/{case.id}"), case)
    asked = post(client, hrss, f"/cases/{case.id}/handoffs",
                 {"kind": "transfer", "to_agency": "union", "reason": "属工会维权范围"})
    assert asked.status_code == 201
    handoff = asked.get_json()
    assert handoff["status"] == "requested" and handoff["kind"] == "transfer"
    assert get(client, union, f"/cases/{case.id}").status_code == 200
    assert get(client, hrss, f"/cases/{case.id}").status_code == 200  # still the lead
    assert get(client, hrss, f"/cases/{case.id}").get_json()["lead_agency"] == "hrss"

    accepted = post(client, union, f"/handoffs/{handoff['id']}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "completed"
    before = counts()
    assert_hidden(get(client, hrss, f"/cases/{case.id}"), case)
    assert_hidden(get(client, world["hrss"]["sup"], f"/cases/{case.id}"), case)
    for action, body in CASE_ACTIONS:
        if _allowed("caseworker", action):
            assert_hidden(post(client, hrss, f"/cases/{case.id}/{action}", body), case)
    assert_hidden(post(client, hrss, f"/handoffs/{handoff['id']}/revoke"), case)
    assert get(client, hrss, "/cases").get_json()["total"] == 0
    assert counts() == before
    now_lead = get(client, union, f"/cases/{case.id}").get_json()
    assert now_lead["lead_agency"] == "union" and now_lead["owner"] == union.display_name
    listed = get(client, union, "/cases?view=mine").get_json()["items"]
    assert [(item["id"], item["owner"]) for item in listed] == [(case.id, union.display_name)]


def test_answering_a_handoff_twice_is_a_conflict(client, world):
    case = file_case(world["worker"], consent=["hrss", "union"])
    referral = case.handoffs[0]
    union, union2 = world["union"]["cw"], world["union"]["cw2"]
    assert post(client, union, f"/handoffs/{referral.id}/accept").status_code == 200
    before = counts()
    for user, action, body in ((union, "accept", None), (union2, "accept", None),
                               (union2, "decline", {"reason_code": "other", "basis": "重复"})):
        again = post(client, user, f"/handoffs/{referral.id}/{action}", body)
        assert again.status_code == 409, again.get_json()
        assert again.get_json()["error"]["code"] == "handoff_answered"
    assert counts() == before
    assert reload(Handoff, referral.id).answered_by == union.id

    other = file_case(world["worker"], category="social_insurance", consent=["hrss", "union"])
    asked = post(client, world["hrss"]["cw"], f"/cases/{other.id}/handoffs",
                 {"kind": "transfer", "to_agency": "union", "reason": "请工会接办"}).get_json()
    assert post(client, world["hrss"]["cw"], f"/cases/{other.id}/handoffs",
                {"kind": "transfer", "to_agency": "union", "reason": "又一次"}).status_code == 409
    declined = post(client, union, f"/handoffs/{asked['id']}/decline",
                    {"reason_code": "not_our_remit", "basis": "《工会法》第六条"})
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    before = counts()
    # the decliner has no live handoff any more, so it no longer sees the case at all
    again = post(client, union2, f"/handoffs/{asked['id']}/accept")
    assert again.status_code in (404, 409) and other.description not in again.get_data(as_text=True)
    assert counts() == before
    assert reload(Case, other.id).lead_agency == "hrss"


def test_staff_reads_go_to_the_access_log_and_the_worker_s_do_not(client, world):
    worker = world["worker"]
    case = file_case(worker, consent=["hrss", "union"])
    hrss, union = world["hrss"]["cw"], world["union"]["cw"]
    assert get(client, worker, f"/aid-requests/{case.id}").status_code == 200
    assert count(AccessLogEntry) == 0
    body = get(client, hrss, f"/cases/{case.id}").get_json()
    assert body["description"] == case.description and body["worker_id"] == worker.id
    assert body["owner"] is None and body["deadline_state"] == "on_track"
    assert body["resolve_due_at"].endswith("+00:00")
    assert get(client, union, f"/cases/{case.id}").status_code == 200
    assert get(client, world["civil"]["cw"], f"/cases/{case.id}").status_code == 404
    assert get(client, hrss, "/cases").status_code == 200  # lists show no details: not logged
    rows = list(db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)))
    assert [(r.actor_id, r.action, r.object_type, r.object_id) for r in rows] == [
        (hrss.id, "case.viewed", "case", str(case.id)),
        (union.id, "case.viewed", "case", str(case.id))]
    assert all(r.ip for r in rows)


# --- lists -------------------------------------------------------------------------------

def test_case_lists_by_view_and_filter(client, world):
    worker = world["worker"]
    hrss = world["hrss"]["cw"]
    queued = file_case(worker, category="social_insurance")
    mine = file_case(worker, category="wage_arrears", employer="甲公司")
    post(client, hrss, f"/cases/{mine.id}/claim")
    done = file_case(worker, category="work_injury", employer="乙公司")
    post(client, worker, f"/aid-requests/{done.id}/withdraw", {})

    def ids(query):
        response = get(client, hrss, f"/cases?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert sorted(ids("")) == sorted(ids("view=open")) == sorted([queued.id, mine.id])
    assert ids("view=mine") == [mine.id] and ids("view=queue") == [queued.id]
    assert ids("view=done") == [done.id]
    assert ids("category=social_insurance") == [queued.id]
    assert ids("status=withdrawn&view=done") == [done.id] and ids("status=accepted") == []
    assert ids(f"q={mine.case_no[-6:]}") == [mine.id]
    assert ids("deadline=breached") == []
    page = get(client, hrss, "/cases?per_page=1&page=2").get_json()
    assert page["total"] == 2 and page["page"] == 2 and len(page["items"]) == 1
    for bad in ("view=everything", "status=lost", "category=fishing", "deadline=soon",
                "per_page=500", "page=0", "page=x", "q=" + "9" * 30):
        response = get(client, hrss, f"/cases?{bad}")
        assert response.status_code == 422 and "error" in response.get_json(), bad
    assert get(client, world["union"]["cw"], "/cases").get_json()["total"] == 0
    assert get(client, hrss, "/handoffs?per_page=0").status_code == 422


# --- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"category": "fishing"}, "category"),
    ({"category": 7}, "category"),
    ({"consent_agencies": ["union"]}, "consent_agencies"),  # hrss decides: must be consented
    ({"consent_agencies": ["police", "hrss"]}, "consent_agencies.0"),
    ({"consent_agencies": "hrss"}, "consent_agencies"),
    ({"consent_agencies": None}, "consent_agencies"),
    ({"amount_fen": -1}, "amount_fen"),
    ({"amount_fen": "860000"}, "amount_fen"),
    ({"amount_fen": 10**15}, "amount_fen"),
    ({"amount_fen": 12.5}, "amount_fen"),
    ({"description": "x" * 4001}, "description"),
    ({"description": "短"}, "description"),
    ({"description": ["平台拖欠我两个月"]}, "description"),
    ({"description": "平台拖欠\x00两个月配送费"}, "description"),
    ({"employer_name": "公" * 201}, "employer_name"),
    ({"employer_name": None}, "employer_name"),
    ({"incident_start": "9999-12-31"}, "incident_start"),
    ({"incident_start": "1900-01-01"}, "incident_start"),
    ({"incident_start": "yesterday"}, "incident_start"),
    ({"incident_start": "2026-10-31", "incident_end": "2026-09-01"}, "incident_end"),
    ({"contact_preference": "fax"}, "contact_preference"),
    ({"status": "resolved"}, "status"),
    ({"lead_agency": "civil"}, "lead_agency"),
    ({"worker_id": 1}, "worker_id"),
    ({"case_no": "YC-2026-000001"}, "case_no"),
])
def test_a_bad_aid_request_is_422_and_writes_nothing(client, world, change, field):
    before = counts()
    response = post(client, world["worker"], "/aid-requests", {**GOOD_REQUEST, **change})
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in error["fields"], error
    assert counts() == before


@pytest.mark.parametrize("data, content_type", [
    (b"\xff\xfe{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"text"', "application/json"),
    (b"category=wage_arrears", "application/x-www-form-urlencoded"),
    (b"", "application/json"),
])
def test_a_request_that_is_not_a_json_object_is_400(client, world, data, content_type):
    before = counts()
    response = client.post(f"{API}/aid-requests", headers=auth(world["worker"]), data=data,
                           content_type=content_type)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "malformed_json"
    assert counts() == before


def _staff_case(world):
    """A wage-arrears case signed for by HRSS, with the union co-handling."""
    case = file_case(world["worker"], consent=["hrss", "union"])
    lifecycle.accept_case(actor=world["hrss"]["cw"], case=case)
    db.session.commit()
    return case


@pytest.mark.parametrize("action, body", [
    ("resolve", {"outcome": "magic", "note": "x"}),
    ("resolve", {"outcome": "help_given", "note": ""}),
    ("resolve", {"outcome": "help_given"}),
    ("resolve", {**RESOLVE, "recovered_fen": -100}),
    ("resolve", {**RESOLVE, "recovered_fen": "100"}),
    ("resolve", {**RESOLVE, "status": "closed"}),
    ("resolve", {**RESOLVE, "note": "x" * 4001}),
    ("hold", {"reason": ""}),
    ("hold", {}),
    ("hold", {"reason": 42}),
    ("hold", {"reason": "x" * 1001}),
    ("not-accept", {"reason": None}),
    ("return", {**RETURN, "to_agency": "police"}),
    ("return", {**RETURN, "reason_code": "dont_like_it"}),
    ("return", {**RETURN, "basis": ""}),
    ("notes", {"body": ""}),
    ("notes", {"body": "x" * 4001}),
    ("notes", {"body": "x", "worker_visible": "perhaps"}),
    ("notes", {"body": "x", "agency": "civil"}),
    ("notes", {"body": "x", "author_id": 1}),
    ("handoffs", {"kind": "return", "to_agency": "union", "reason": "x"}),
    ("handoffs", {"kind": "transfer", "to_agency": "hrss", "reason": "x"}),  # to itself
    ("handoffs", {"kind": "transfer", "to_agency": "union", "reason": ""}),
    ("handoffs", {"kind": "transfer", "to_agency": "union", "reason": "x", "status": "accepted"}),
    ("handoffs", {"kind": "transfer", "to_agency": "union", "reason": "x", "from_agency": "civil"}),
])
def test_bad_case_action_bodies_are_422_and_write_nothing(client, world, action, body):
    case = _staff_case(world)
    before, status = counts(), case.status
    response = post(client, world["hrss"]["cw"], f"/cases/{case.id}/{action}", body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_error"
    assert counts() == before and reload(Case, case.id).status is status


@pytest.mark.parametrize("action, body", [
    ("decline", {"reason_code": "other"}),
    ("decline", {"reason_code": "bogus", "basis": "x"}),
    ("decline", {"reason_code": "other", "basis": "x" * 1001}),
    ("finish", {"succeeded": "maybe", "note": "x"}),
    ("finish", {"note": "x"}),
    ("finish", {"succeeded": True, "note": ""}),
    ("finish", {"succeeded": True, "note": "x", "status": "completed"}),
])
def test_bad_handoff_answers_are_422_and_write_nothing(client, world, action, body):
    case = _staff_case(world)
    referral = case.handoffs[0]
    union = world["union"]["cw"]
    if action == "finish":
        post(client, union, f"/handoffs/{referral.id}/accept")
    before, status = counts(), reload(Handoff, referral.id).status
    response = post(client, union, f"/handoffs/{referral.id}/{action}", body)
    assert response.status_code == 422, response.get_json()
    assert counts() == before and reload(Handoff, referral.id).status is status


def test_bad_worker_step_bodies_and_missing_bodies(client, world):
    worker = world["worker"]
    case = _staff_case(world)
    before = counts()
    for step, body, status in (("confirm", {"satisfaction": 6}, 422),
                               ("confirm", {"satisfaction": "5"}, 422),
                               ("confirm", {"satisfaction": 0}, 422),
                               ("confirm", {"satisfaction": 4, "comment": "x" * 1001}, 422),
                               ("reopen", {}, 422),
                               ("withdraw", {"reason": ["x"]}, 422),
                               ("withdraw", None, 400),
                               ("confirm", {"satisfaction": 4}, 409)):  # not resolved yet
        response = post(client, worker, f"/aid-requests/{case.id}/{step}", body)
        assert response.status_code == status, (step, body, response.get_json())
    assert post(client, world["hrss"]["cw"], f"/cases/{case.id}/hold").status_code == 400
    assert counts() == before
    assert reload(Case, case.id).status is CaseStatus.ACCEPTED


# --- pre-screen --------------------------------------------------------------------------

def test_prescreen_explains_and_changes_nothing(client, world):
    worker, provider = world["worker"], make_user("provider")
    before = counts()
    screen = get(client, worker, "/prescreen?category=hardship&consent=union").get_json()
    assert screen["lead_agency"] == "union" and screen["co_agencies"] == []
    assert [(r["agency"], r["role"]) for r in screen["reasons"]] == [
        ("union", "lead"), ("civil", "not_consented")]
    assert all(r["text"] and r["basis"] for r in screen["reasons"])
    blocked = get(client, worker, "/prescreen?category=living_allowance").get_json()
    assert blocked["lead_agency"] == "civil" and blocked["can_file"] is False
    draft = post(client, worker, "/aid-requests/prescreen", {**GOOD_REQUEST, "consent_agencies":
                                                              ["hrss", "union", "civil"]})
    assert draft.status_code == 200 and draft.get_json()["co_agencies"] == ["union"]
    assert get(client, world["union"]["cw"], "/prescreen?category=other").status_code == 200
    for bad in ("", "category=fishing", "category=hardship&consent=police"):
        response = get(client, worker, f"/prescreen?{bad}")
        assert response.status_code == 422 and "error" in response.get_json(), bad
    assert post(client, worker, "/aid-requests/prescreen", {"consent_agencies": []}).status_code \
        == 422
    assert get(client, provider, "/prescreen?category=other").status_code == 403
    assert client.get(f"{API}/prescreen?category=other").status_code == 401
    assert counts() == before


# --- the OpenAPI document ----------------------------------------------------------------

def test_openapi_lists_the_aid_and_case_endpoints(client):
    from openapi_spec_validator import validate

    spec = client.get(f"{API}/openapi.json").get_json()
    validate(spec)
    paths = spec["paths"]
    expected = {
        "/aid-requests": {"get", "post"}, "/aid-requests/{case_id}": {"get"},
        "/aid-requests/prescreen": {"post"}, "/prescreen": {"get"},
        "/cases": {"get"}, "/cases/{case_id}": {"get"}, "/cases/{case_id}/handoffs": {"post"},
        "/cases/{case_id}/notes": {"post"}, "/handoffs": {"get"},
    }
    expected |= {f"/aid-requests/{{case_id}}/{step}": {"post"}
                 for step in ("confirm", "reopen", "withdraw", "review")}
    expected |= {f"/cases/{{case_id}}/{step}": {"post"} for step in (
        "accept", "claim", "start", "hold", "resume", "resolve", "not-accept", "return",
        "arbitrate")}
    expected |= {f"/handoffs/{{handoff_id}}/{step}": {"post"}
                 for step in ("accept", "decline", "revoke", "finish")}
    for path, methods in expected.items():
        assert path in paths and methods <= set(paths[path]), path
    filing = paths["/aid-requests"]["post"]
    assert {"201", "401", "403", "422"} <= set(filing["responses"])
    name = filing["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = spec["components"]["schemas"][name]
    assert set(schema["required"]) == {"category", "description", "consent_agencies"}
    assert "status" not in schema["properties"] and "worker_id" not in schema["properties"]
    assert set(schema["properties"]["category"]["enum"]) >= {"wage_arrears", "work_injury"}
    assert "404" in paths["/cases/{case_id}"]["get"]["responses"]
    assert "409" in paths["/handoffs/{handoff_id}/accept"]["post"]["responses"]
    assert all(op["security"] == [{"bearer": []}] for path in expected for op in
               paths[path].values())
    assert {p["name"] for p in paths["/prescreen"]["get"]["parameters"]} >= {"category", "consent"}
