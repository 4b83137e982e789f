"""Case pages: every role against cases of other agencies and other workers, before and after a
transfer; each action through the pages (redirect, what was saved, audit); bad input answered
with a message and nothing saved; the access log; attachments; the sweep command."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.cases.models import (Case, CaseNote, CaseStatus, Handoff, HandoffKind,
                                   HandoffStatus, Outcome)
from services.cases.operations import handoffs, lifecycle
from services.core.audit import AccessLogEntry, AuditEvent
from services.extensions import db
from tests.cases.factories import agencies, client_for, file_case, load_calendar_rows
from tests.conftest import csrf_token
from tests.factories import make_user

CASE_PAGES = ("/cases/{id}",)
STAFF_ROLES = ("caseworker", "supervisor", "coordinator")


@pytest.fixture
def world(app):
    load_calendar_rows()
    return agencies()


def post(client, path, data=None):
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **(data or {})})


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def access_rows(case_id: int) -> int:
    return db.session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.object_type == "case", AccessLogEntry.object_id == str(case_id))) or 0


def test_every_role_sees_only_what_it_may_before_and_after_a_transfer(app, world):
    worker = world["worker"]
    case = file_case(worker, category="social_insurance", consent=["hrss", "union"])
    page = f"/cases/{case.id}"
    hrss, union, civil = (client_for(app, world[a]["cw"]) for a in ("hrss", "union", "civil"))
    coordinator = client_for(app, world["coordinator"])
    assert hrss.get(page).status_code == 200
    assert client_for(app, world["hrss"]["sup"]).get(page).status_code == 200
    for outsider in (union, civil, coordinator):
        body = outsider.get(page)
        assert body.status_code == 404 and case.case_no not in body.get_data(as_text=True)
    for role in ("worker", "park_manager", "provider", "admin"):
        assert client_for(app, make_user(role)).get(page).status_code == 403
    assert app.test_client().get(page).status_code in (302, 401)

    handoff = handoffs.request_handoff(actor=world["hrss"]["cw"], case=case, kind="transfer",
                                       to_agency="union", reason="属工会职责")
    db.session.commit()
    assert union.get(page).status_code == 200  # a live handoff opens it to the receiver
    response = post(union, f"/handoffs/{handoff.id}/accept")
    assert response.status_code == 302 and response.location == page
    db.session.expire_all()
    assert db.session.get(Case, case.id).lead_agency == "union"
    summary = hrss.get(page)  # the sender keeps a read-only summary without the details
    text = summary.get_data(as_text=True)
    assert summary.status_code == 200 and case.description not in text and case.case_no in text
    assert civil.get(page).status_code == 404


def test_views_by_staff_go_to_the_access_log_and_the_workers_own_do_not(app, world):
    case = file_case(world["worker"])
    before = access_rows(case.id)
    client_for(app, world["worker"]).get(f"/aid/cases/{case.id}")
    assert access_rows(case.id) == before
    client_for(app, world["hrss"]["cw"]).get(f"/cases/{case.id}")
    client_for(app, world["union"]["cw"]).get(f"/cases/{case.id}")  # co-handling referral
    assert access_rows(case.id) == before + 2
    actors = set(db.session.scalars(select(AccessLogEntry.actor_id).where(
        AccessLogEntry.object_id == str(case.id))))
    assert actors == {world["hrss"]["cw"].id, world["union"]["cw"].id}


def test_hrss_works_the_case_with_the_union_through_the_pages(app, world):
    case = file_case(world["worker"])
    hrss = client_for(app, world["hrss"]["cw"])
    union = client_for(app, world["union"]["cw"])
    page = f"/cases/{case.id}"
    assert case.status is CaseStatus.SUBMITTED and case.owner_id is None
    assert f"/cases/{case.id}/accept" in hrss.get(page).get_data(as_text=True)
    assert post(hrss, f"{page}/accept").location == page
    db.session.expire_all()
    shown = db.session.get(Case, case.id)
    assert shown.status is CaseStatus.ACCEPTED and shown.owner_id == world["hrss"]["cw"].id
    assert post(hrss, f"{page}/start").location == page
    referral = db.session.scalar(select(Handoff).where(Handoff.case_id == case.id))
    assert post(union, f"/handoffs/{referral.id}/accept").status_code == 302
    # resolving with the co-handling task open is refused, and nothing changes
    response = post(hrss, f"{page}/resolve", {"resolve-outcome": "money_recovered",
                                              "resolve-note": "已追回", "resolve-recovered_yuan": "5600"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.IN_PROGRESS
    response = post(union, f"/handoffs/{referral.id}/finish",
                    {f"finish{referral.id}-succeeded": "1", f"finish{referral.id}-note": "提供法律援助"})
    assert response.status_code == 302
    response = post(hrss, f"{page}/resolve", {"resolve-outcome": "money_recovered",
                                              "resolve-note": "已追回工资", "resolve-recovered_yuan": "5600.50"})
    assert response.location == page
    db.session.expire_all()
    shown = db.session.get(Case, case.id)
    assert shown.status is CaseStatus.RESOLVED and shown.outcome is Outcome.MONEY_RECOVERED
    assert shown.recovered_fen == 560_050
    assert db.session.get(Handoff, referral.id).status is HandoffStatus.COMPLETED
    actions = set(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "case", AuditEvent.object_id == str(case.id))))
    assert {"cases.submitted", "cases.accepted", "cases.started", "cases.resolved"} <= actions


@pytest.mark.parametrize("path,data,field", [
    ("hold", {"hold-reason": ""}, "hold-reason"),
    ("not-accept", {"not_accept-reason": ""}, "not_accept-reason"),
    ("resolve", {"resolve-outcome": "teleported", "resolve-note": "x"}, "resolve-outcome"),
    ("resolve", {"resolve-outcome": "help_given", "resolve-note": "x",
                 "resolve-recovered_yuan": "-5"}, "resolve-recovered_yuan"),
    ("return", {"return-to_agency": "union", "return-reason_code": "not_our_remit",
                "return-basis": ""}, "return-basis"),
    ("handoffs", {"handoff-kind": "transfer", "handoff-to_agency": "mars",
                  "handoff-reason": "x"}, "handoff-to_agency"),
    ("notes", {"note-body": "x" * 5000}, "note-body"),
])
def test_bad_input_is_shown_beside_the_field_and_nothing_is_saved(app, world, path, data, field):
    case = file_case(world["worker"])
    hrss = client_for(app, world["hrss"]["cw"])
    if path in ("hold", "resolve"):
        lifecycle.accept_case(actor=world["hrss"]["cw"], case=case)
        db.session.commit()
    events, handoff_rows, notes = count(AuditEvent), count(Handoff), count(CaseNote)
    response = post(hrss, f"/cases/{case.id}/{path}", data)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert (count(AuditEvent), count(Handoff), count(CaseNote)) == (events, handoff_rows, notes)


def test_a_rule_broken_is_flashed_not_a_500(app, world):
    case = file_case(world["worker"], consent=["hrss"])
    hrss = client_for(app, world["hrss"]["cw"])
    response = post(hrss, f"/cases/{case.id}/handoffs", {
        "handoff-kind": "transfer", "handoff-to_agency": "civil", "handoff-reason": "不属本部门"})
    assert response.status_code == 302
    assert count(Handoff) == 0  # civil is not in the worker's consent
    assert "civil" not in db.session.get(Case, case.id).consented_agencies


def test_other_agencies_cannot_act_and_workers_cannot_reach_staff_actions(app, world):
    case = file_case(world["worker"])
    civil = client_for(app, world["civil"]["cw"])
    worker = client_for(app, world["worker"])
    for action in ("accept", "claim", "start", "hold", "resolve", "notes", "return", "phone"):
        assert post(civil, f"/cases/{case.id}/{action}").status_code == 404
        assert post(worker, f"/cases/{case.id}/{action}").status_code == 403
    referral = db.session.scalar(select(Handoff).where(Handoff.case_id == case.id))
    assert post(civil, f"/handoffs/{referral.id}/accept").status_code == 404
    # the lead cannot answer a handoff addressed to the union: the operation refuses it
    hrss = client_for(app, world["hrss"]["cw"])
    post(hrss, f"/handoffs/{referral.id}/accept")
    db.session.expire_all()
    assert db.session.get(Handoff, referral.id).status is HandoffStatus.REQUESTED
    assert db.session.get(Case, case.id).status is CaseStatus.SUBMITTED


def test_two_returns_send_the_case_to_the_coordinator_who_decides(app, world):
    case = file_case(world["worker"], category="other")
    union, civil, hrss = (client_for(app, world[a]["cw"]) for a in ("union", "civil", "hrss"))
    coordinator = client_for(app, world["coordinator"])
    page = f"/cases/{case.id}"
    for sender, receiver, to in ((union, civil, "civil"), (union, hrss, "hrss")):
        assert post(sender, f"{page}/handoffs", {"handoff-kind": "transfer", "handoff-to_agency": to,
                                                 "handoff-reason": "请贵单位办理"}).location == page
        handoff = db.session.scalar(select(Handoff).where(
            Handoff.case_id == case.id, Handoff.status == HandoffStatus.REQUESTED,
            Handoff.kind == HandoffKind.TRANSFER))
        assert coordinator.get(page).status_code == 404
        response = post(receiver, f"/handoffs/{handoff.id}/decline", {
            f"decline{handoff.id}-reason_code": "not_our_remit",
            f"decline{handoff.id}-basis": "不属本部门职责"})
        assert response.status_code == 302
    db.session.expire_all()
    shown = db.session.get(Case, case.id)
    assert shown.arbitration and shown.return_count == 2 and shown.lead_agency == "union"
    assert case.case_no in coordinator.get("/cases").get_data(as_text=True)
    assert coordinator.get(page).status_code == 200
    bad = post(coordinator, f"{page}/arbitrate", {"arbitrate-lead_agency": "civil",
                                                  "arbitrate-decision": ""})
    assert bad.status_code == 422
    response = post(coordinator, f"{page}/arbitrate", {"arbitrate-lead_agency": "civil",
                                                       "arbitrate-decision": "困难救助由民政牵头"})
    assert response.location == page
    db.session.expire_all()
    shown = db.session.get(Case, case.id)
    assert shown.lead_agency == "civil" and shown.lead_binding and not shown.arbitration
    # binding: civil can no longer return it
    post(civil, f"{page}/return", {"return-to_agency": "union", "return-reason_code": "other",
                                   "return-basis": "x"})
    db.session.expire_all()
    assert db.session.get(Case, case.id).lead_agency == "civil"


def test_queues_tabs_and_filters(app, world):
    mine = file_case(world["worker"])
    other = file_case(make_user("worker"), category="social_insurance", consent=["hrss"])
    lifecycle.accept_case(actor=world["hrss"]["cw"], case=mine)
    db.session.commit()
    hrss = client_for(app, world["hrss"]["cw"])
    assert mine.case_no in hrss.get("/cases?view=mine").get_data(as_text=True)
    queued = hrss.get("/cases?view=queue").get_data(as_text=True)
    assert other.case_no in queued and mine.case_no not in queued
    filtered = hrss.get("/cases?view=open&category=social_insurance").get_data(as_text=True)
    assert other.case_no in filtered and mine.case_no not in filtered
    for bad in ("?view=nope&status=zzz&page=-3", "?category=%00&deadline=9&q=" + "9" * 200):
        assert hrss.get("/cases" + bad).status_code == 200
    union = client_for(app, world["union"]["cw"])
    assert mine.case_no in union.get("/cases?view=tasks").get_data(as_text=True)
    assert mine.case_no not in union.get("/cases?view=open").get_data(as_text=True)


def test_supervisor_reassigns_in_bulk_and_sets_availability(app, world):
    first, second = file_case(world["worker"]), file_case(make_user("worker"))
    cw, cw2, sup = world["hrss"]["cw"], world["hrss"]["cw2"], world["hrss"]["sup"]
    for case in (first, second):
        lifecycle.accept_case(actor=cw, case=case)
    db.session.commit()
    supervisor = client_for(app, sup)
    assert "reassign-case_ids" in supervisor.get("/cases?view=open").get_data(as_text=True)
    response = supervisor.post("/cases/reassign", data={
        "csrf_token": csrf_token(supervisor, "/"), "reassign-case_ids": [first.id, second.id],
        "reassign-to_user": str(cw2.id), "back": "open"})
    assert response.status_code == 302
    db.session.expire_all()
    assert {db.session.get(Case, c.id).owner_id for c in (first, second)} == {cw2.id}
    # a union case cannot be slipped into an HRSS reassignment
    union_case = file_case(make_user("worker"), category="legal_aid")
    supervisor.post("/cases/reassign", data={
        "csrf_token": csrf_token(supervisor, "/"), "reassign-case_ids": [union_case.id],
        "reassign-to_user": str(cw.id)})
    db.session.expire_all()
    assert db.session.get(Case, union_case.id).owner_id is None
    response = post(supervisor, f"/cases/team/{cw.id}/availability",
                    {f"member{cw.id}-available": "0", f"member{cw.id}-note": "休假"})
    assert response.location == "/cases/team"
    assert post(supervisor, f"/cases/team/{world['union']['cw'].id}/availability",
                {"available": "0"}).status_code == 404
    assert post(supervisor, "/cases/team/rule", {"rule": "round_robin"}).status_code == 302
    assert client_for(app, cw).get("/cases/team").status_code == 403
    third = file_case(make_user("worker"))
    lifecycle.accept_case(actor=sup, case=third)
    db.session.commit()
    assert third.owner_id == cw2.id  # cw is away


def test_attachment_download_is_limited_to_who_may_see_the_case(app, world):
    from io import BytesIO

    from services.cases.operations import intake
    from werkzeug.datastructures import FileStorage

    case = file_case(world["worker"], consent=["hrss"])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    intake.attach_files(actor=world["worker"], case=case,
                        files=[FileStorage(BytesIO(png), filename="slip.png")])
    db.session.commit()
    attached = case.files[0]
    hrss = client_for(app, world["hrss"]["cw"])
    response = hrss.get(f"/cases/{case.id}/files/{attached.id}")
    assert response.status_code == 200 and response.data == png
    assert "attachment" in response.headers["Content-Disposition"]
    assert client_for(app, world["union"]["cw"]).get(
        f"/cases/{case.id}/files/{attached.id}").status_code == 404
    assert client_for(app, make_user("worker")).get(
        f"/aid/cases/{case.id}/files/{attached.id}").status_code == 404
    assert client_for(app, world["worker"]).get(
        f"/aid/cases/{case.id}/files/{attached.id}").status_code == 200


def test_revealing_the_workers_number_is_logged_and_for_the_lead_only(app, world):
    case = file_case(world["worker"])
    hrss = client_for(app, world["hrss"]["cw"])
    page = hrss.get(f"/cases/{case.id}").get_data(as_text=True)
    assert world["worker"].phone not in page and world["worker"].phone_masked in page
    response = post(hrss, f"/cases/{case.id}/phone")
    assert response.status_code == 200 and world["worker"].phone in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(AccessLogEntry.id)).where(
        AccessLogEntry.action == "reveal_phone")) == 1
    union = client_for(app, world["union"]["cw"])  # co-handling: sees the case, not the number
    assert world["worker"].phone not in post(union, f"/cases/{case.id}/phone").get_data(as_text=True)


def test_admin_edits_a_routing_rule_and_bad_rules_are_refused(app, world):
    admin = client_for(app, make_user("admin"))
    assert admin.get("/cases/rules").status_code == 200
    assert admin.get("/cases/rules/nope").status_code == 404
    bad = post(admin, "/cases/rules/housing", {"lead_agency": "union", "co_agencies": "union",
                                               "resolve_days": "15", "ack_days": "1",
                                               "policy_basis": "x"})
    assert bad.status_code == 422
    response = admin.post("/cases/rules/housing", data={
        "csrf_token": csrf_token(admin, "/"), "lead_agency": "civil", "co_agencies": ["union"],
        "resolve_days": "12", "ack_days": "1", "policy_basis": "住房救助由民政牵头"})
    assert response.location == "/cases/rules"
    case = file_case(world["worker"], category="housing")
    assert case.lead_agency == "civil" and case.resolve_due_at is not None
    assert client_for(app, world["hrss"]["sup"]).get("/cases/rules").status_code == 403


def test_flask_cases_sweep_marks_and_reports(app, world):
    from datetime import datetime, timezone

    case = file_case(world["worker"], now=datetime(2026, 9, 1, 2, 0, tzinfo=timezone.utc))
    result = app.test_cli_runner().invoke(args=["cases", "sweep"])
    assert result.exit_code == 0, result.output
    assert "breached=1" in result.output and "ack_breached=1" in result.output
    db.session.expire_all()
    shown = db.session.get(Case, case.id)
    assert shown.deadline_state.value == "breached" and shown.escalation_level == 3
    again = app.test_cli_runner().invoke(args=["cases", "sweep"])
    assert "escalated=0" in again.output  # idempotent


def _statements_per_page(app, n_cases: int) -> dict[str, int]:
    from tests.conftest import counted_statements

    load_calendar_rows()
    world = agencies()
    cases = [file_case(make_user("worker")) for _ in range(n_cases)]
    for case in cases[::2]:
        lifecycle.accept_case(actor=world["hrss"]["cw"], case=case)
        lifecycle.add_note(actor=world["hrss"]["cw"], case=case, body="已联系", worker_visible=True)
    db.session.commit()
    last = cases[0]
    clients = {"hrss": client_for(app, world["hrss"]["cw"]), "union": client_for(app, world["union"]["cw"]),
               "sup": client_for(app, world["hrss"]["sup"]), "worker": client_for(app, last.worker)}
    counts = {}
    for who, path in (("hrss", "/cases?view=open"), ("hrss", "/cases?view=mine"),
                      ("hrss", "/cases?view=queue"), ("union", "/cases?view=tasks"),
                      ("sup", "/cases?view=open"), ("hrss", f"/cases/{last.id}"),
                      ("worker", f"/aid/cases/{last.id}"), ("worker", "/aid"), ("hrss", "/")):
        db.session.remove()
        with counted_statements() as statements:
            assert clients[who].get(path).status_code == 200, path
        counts[f"{who} {path.replace(str(last.id), 'ID')}"] = len(statements)
    return counts


def test_case_pages_run_a_fixed_number_of_statements(app):
    small = _statements_per_page(app, 3)
    db.session.remove()
    db.drop_all()
    db.create_all()
    large = _statements_per_page(app, 30)
    assert small == large, (small, large)
    assert max(large.values()) <= 25, large


def test_the_collective_case_lists_its_members_for_hrss(app, world):
    members = [file_case(make_user("worker"), employer="瑞鑫光伏科技有限公司") for _ in range(3)]
    collective = db.session.scalar(select(Case).where(Case.is_collective.is_(True)))
    assert collective is not None and all(m.collective_case_id == collective.id for m in members)
    page = client_for(app, world["hrss"]["cw"]).get(f"/cases/{collective.id}").get_data(as_text=True)
    assert all(m.case_no in page for m in members)
    assert client_for(app, world["union"]["cw"]).get(f"/cases/{collective.id}").status_code == 404


@pytest.mark.postgres
def test_a_nul_in_the_search_boxes_is_ignored_on_postgres(pg_app):
    load_calendar_rows()
    world = agencies()
    file_case(world["worker"])
    hrss, worker = client_for(pg_app, world["hrss"]["cw"]), client_for(pg_app, world["worker"])
    assert hrss.get("/cases?q=%00&view=open").status_code == 200
    assert worker.get("/services?q=a%00b").status_code == 200
