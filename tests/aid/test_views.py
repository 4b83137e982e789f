"""The worker's aid pages: the three steps, the pre-screen and consent, attachments, the status
page and the worker's answers; bad input at every step; other people's requests; staff intake."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.cases.models import Case, CaseFile, CaseStatus, Handoff, Outcome
from services.cases.operations import lifecycle
from services.core.uploads import StoredFile
from services.extensions import db
from tests.cases.factories import agencies, client_for, file_case, load_calendar_rows
from tests.conftest import csrf_token
from tests.factories import make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DETAILS = "/aid/new/details?category=wage_arrears&consent=hrss&consent=union"


@pytest.fixture
def world(app):
    load_calendar_rows()
    return agencies()


def cases_of(user) -> int:
    return db.session.scalar(select(func.count(Case.id)).where(Case.worker_id == user.id)) or 0


def english(client):
    client.post("/language", data={"csrf_token": csrf_token(client, "/"), "lang": "en", "next": "/"})


def details(client, path=DETAILS, **fields):
    data = {"csrf_token": csrf_token(client, "/"), "description": "平台三个月没有结算配送费",
            "amount_yuan": "5600", "employer_name": "速达同城配送", "contact_preference": "sms"}
    data.update(fields)
    return client.post(path, data=data, content_type="multipart/form-data")


def test_a_rider_files_in_three_steps_and_follows_the_case(app, world):
    rider = world["worker"]
    client = client_for(app, rider)
    english(client)
    assert client.get("/aid/new?category=wage_arrears").location == \
        "/aid/new/consent?category=wage_arrears"
    consent = client.get("/aid/new/consent?category=wage_arrears").get_data(as_text=True)
    assert "Human resources and social security bureau" in consent and "Trade union" in consent
    assert "checked" not in consent  # nothing is pre-ticked
    assert "保障农民工工资支付条例" in consent  # the rule's basis is cited
    response = client.get("/aid/new/consent?category=wage_arrears&sent=1&consent=union")
    assert response.status_code == 422 and cases_of(rider) == 0  # the lead must be ticked
    response = client.get("/aid/new/consent?category=wage_arrears&sent=1&consent=hrss&consent=union")
    assert response.location == DETAILS
    response = details(client, files=[(BytesIO(PNG), "payslip.png")])
    case = db.session.scalar(select(Case).where(Case.worker_id == rider.id))
    assert response.status_code == 302 and response.location == f"/aid/cases/{case.id}"
    assert case.lead_agency == "hrss" and case.amount_fen == 560_000
    assert case.consented_agencies == ["hrss", "union"] and case.contact_preference.value == "sms"
    assert [h.to_agency for h in case.handoffs] == ["union"] and len(case.files) == 1
    page = client.get(f"/aid/cases/{case.id}").get_data(as_text=True)
    assert case.case_no in page and "Human resources and social security bureau" in page
    assert "Trade union" in page and "payslip.png" in page


@pytest.mark.parametrize("fields,error", [
    ({"description": ""}, "description"),
    ({"description": "abc"}, "description"),
    ({"description": "x" * 4001}, "description"),
    ({"amount_yuan": "-1"}, "amount_yuan"),
    ({"amount_yuan": "lots"}, "amount_yuan"),
    ({"incident_start": "9999-12-31"}, "incident_start"),
    ({"incident_start": "2026-10-10", "incident_end": "2026-10-01"}, "incident_end"),
    ({"contact_preference": "pigeon"}, "contact_preference"),
    ({"employer_name": "公" * 201}, "employer_name"),
    ({"files": [(BytesIO(b"MZ\x90\x00 not a photo"), "virus.png")]}, "files"),
    ({"files": [(BytesIO(PNG), f"p{n}.png") for n in range(7)]}, "files"),
    ({"files": [(BytesIO(PNG), "ok.png"), (BytesIO(b"%!PS not a pdf"), "bad.pdf")]}, "files"),
])
def test_bad_details_get_a_message_and_nothing_is_saved(app, world, tmp_path, fields, error):
    rider = world["worker"]
    client = client_for(app, rider)
    response = details(client, **fields)
    assert response.status_code == 422
    assert f'id="{error}-error"' in response.get_data(as_text=True)
    assert cases_of(rider) == 0
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0
    uploads = Path(app.config["UPLOAD_FOLDER"])
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_steps_with_bad_query_strings_go_back_to_the_start(app, world):
    client = client_for(app, world["worker"])
    assert client.get("/aid/new?category=nope").status_code == 422
    assert client.get("/aid/new/consent?category=nope").location == "/aid/new"
    assert client.get("/aid/new/details?category=wage_arrears").location == "/aid/new"
    assert client.get("/aid/new/details?category=wage_arrears&consent=mars").location == "/aid/new"


def test_nobody_else_sees_a_workers_request(app, world):
    case = file_case(world["worker"])
    page = f"/aid/cases/{case.id}"
    other = client_for(app, make_user("worker"))
    response = other.get(page)
    assert response.status_code == 404 and case.case_no not in response.get_data(as_text=True)
    for action in ("confirm", "reopen", "withdraw", "review"):
        assert other.post(f"{page}/{action}", data={"csrf_token": csrf_token(other, "/")}).status_code == 404
    for role in ("caseworker", "supervisor", "coordinator", "park_manager", "provider", "admin"):
        assert client_for(app, make_user(role)).get(page).status_code == 403
    assert client_for(app, world["hrss"]["cw"]).get("/aid/new").status_code == 403
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.SUBMITTED


def test_the_worker_confirms_and_rates_or_reopens(app, world):
    worker, hrss = world["worker"], world["hrss"]["cw"]
    case = file_case(worker, category="social_insurance", consent=["hrss"])
    lifecycle.accept_case(actor=hrss, case=case)
    lifecycle.resolve(actor=hrss, case=case, outcome=Outcome.HELP_GIVEN, note="已补缴")
    db.session.commit()
    client = client_for(app, worker)
    page = f"/aid/cases/{case.id}"
    token = csrf_token(client, "/")
    assert client.post(f"{page}/confirm", data={"csrf_token": token,
                                                "confirm-satisfaction": "9"}).status_code == 422
    response = client.post(f"{page}/reopen", data={"csrf_token": token, "reopen-reason": "还没补缴"})
    assert response.location == page
    db.session.expire_all()
    shown = db.session.get(Case, case.id)
    assert shown.status is CaseStatus.REOPENED and shown.reopen_count == 1
    lifecycle.resolve(actor=hrss, case=shown, outcome=Outcome.HELP_GIVEN, note="确已补缴")
    db.session.commit()
    response = client.post(f"{page}/confirm", data={"csrf_token": token, "confirm-satisfaction": "4",
                                                    "confirm-comment": "谢谢"})
    assert response.location == page
    db.session.expire_all()
    shown = db.session.get(Case, case.id)
    assert shown.status is CaseStatus.CLOSED and shown.satisfaction == 4 and shown.comment == "谢谢"


def test_withdraw_and_review_of_a_refusal(app, world):
    worker = world["worker"]
    refused = file_case(worker, category="legal_aid", consent=["union"])
    lifecycle.not_accept(actor=world["union"]["cw"], case=refused, reason="已进入诉讼程序")
    db.session.commit()
    client = client_for(app, worker)
    token = csrf_token(client, "/")
    assert client.post(f"/aid/cases/{refused.id}/review",
                       data={"csrf_token": token, "review-reason": ""}).status_code == 422
    client.post(f"/aid/cases/{refused.id}/review", data={"csrf_token": token,
                                                         "review-reason": "还没有起诉"})
    db.session.expire_all()
    shown = db.session.get(Case, refused.id)
    assert shown.status is CaseStatus.SUBMITTED and shown.arbitration
    assert client_for(app, world["coordinator"]).get(f"/cases/{refused.id}").status_code == 200
    open_case = file_case(worker)
    client.post(f"/aid/cases/{open_case.id}/withdraw", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Case, open_case.id).status is CaseStatus.WITHDRAWN


@pytest.mark.parametrize("role", ["caseworker", "provider"])
def test_staff_file_for_a_worker_found_by_phone(app, world, role):
    worker = world["worker"]
    staff = world["union"]["cw"] if role == "caseworker" else make_user("provider")
    client = client_for(app, staff)
    form = {"csrf_token": csrf_token(client, "/"), "worker": worker.phone, "category": "work_injury",
            "consent": ["hrss", "union"], "consent_read": "y",
            "description": "送餐途中摔伤，平台不认工伤", "contact_preference": "phone"}
    missing = dict(form, consent_read="")
    assert client.post("/aid/intake", data=missing).status_code == 422
    unknown = dict(form, worker="13999999999")
    assert client.post("/aid/intake", data=unknown).status_code == 422
    assert cases_of(worker) == 0
    response = client.post("/aid/intake", data=form)
    assert response.status_code == 302
    case = db.session.scalar(select(Case).where(Case.worker_id == worker.id))
    assert case.filed_by == staff.id and case.lead_agency == "hrss"
    assert db.session.scalar(select(func.count(Handoff.id)).where(Handoff.case_id == case.id)) == 1
    assert client_for(app, worker).get(f"/aid/cases/{case.id}").status_code == 200
    assert client_for(app, make_user("park_manager")).get("/aid/intake").status_code == 403


def test_home_page_panels(app, world):
    case = file_case(world["worker"])
    assert case.case_no in client_for(app, world["worker"]).get("/").get_data(as_text=True)
    assert "/cases?view=queue" in client_for(app, world["hrss"]["cw"]).get("/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(CaseFile.id))) == 0


def test_personal_data_export_holds_own_requests_but_not_internal_notes(app, world):
    worker = world["worker"]
    mine = file_case(worker, consent=["hrss"])
    file_case(make_user("worker"), consent=["hrss"])
    lifecycle.add_note(actor=world["hrss"]["cw"], case=mine, body="内部：企业有前科", worker_visible=False)
    lifecycle.add_note(actor=world["hrss"]["cw"], case=mine, body="已联系企业", worker_visible=True)
    db.session.commit()
    data = client_for(app, worker).get("/profile/export").get_json()
    assert [c["case_no"] for c in data["cases"]] == [mine.case_no]
    exported = str(data["cases"])
    assert "已联系企业" in exported and "企业有前科" not in exported
    assert data["cases"][0]["feed"] and data["cases"][0]["description"] == mine.description
