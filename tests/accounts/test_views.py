"""Account pages: who may open them, where they redirect, what they save."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from services.accounts.models import Organisation, User
from services.core.access import Role
from services.core.audit import AccessLogEntry
from services.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, make_org, make_user

ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/orgs", "/admin/orgs/new"]


def signed_in(app, role: str, **kwargs):
    user = make_user(role, **kwargs)
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client, user


def test_anonymous_is_sent_to_login_with_next(client):
    response = client.get("/profile")
    assert response.status_code == 302 and response.location == "/login?next=/profile"
    assert client.get("/").location == "/login"


def test_login_page_is_chinese_by_default(client):
    body = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in body and "登录" in body


def test_language_switch_to_english_and_back(client):
    token = csrf_token(client, "/login")
    response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/login"})
    assert response.location == "/login"
    body = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in body and "Sign in" in body
    token = csrf_token(client, "/login")
    client.post("/language", data={"csrf_token": token, "lang": "xx", "next": "https://evil/"})
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_gets_a_home_page(app, role):
    client, user = signed_in(app, role)
    response = client.get("/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert user.display_name in body


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.ADMIN])
def test_admin_pages_refuse_other_roles(app, role):
    client, _ = signed_in(app, role)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 403, path
    other = make_user("worker")
    assert client.get(f"/admin/users/{other.id}").status_code == 403
    response = post_form(client, f"/admin/users/{other.id}/active", {"active": "0"})
    assert response.status_code == 403
    db.session.refresh(other)
    assert other.active


def test_admin_pages_need_sign_in(client):
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location


def test_register_then_home(client):
    employer = make_org("employer", name="恒达")
    token = csrf_token(client, "/register")
    response = client.post("/register", data={
        "csrf_token": token, "name": "王小明", "phone": "13912340000", "username": "xiaoming",
        "password": "xiaoming-2026", "confirm": "xiaoming-2026", "employment_form": "employee",
        "employer_id": str(employer.id), "agree": "y"})
    assert response.status_code == 302 and response.location == "/"
    user = db.session.scalar(select(User).where(User.username == "xiaoming"))
    assert user.org_id == employer.id and user.role is Role.WORKER
    assert "王小明" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("change,field", [
    ({"agree": ""}, "agree"), ({"confirm": "different-1"}, "confirm"),
    ({"phone": "123"}, "phone"), ({"password": "12345678", "confirm": "12345678"}, "password"),
    ({"employer_id": "99999"}, "employer_id"), ({"employment_form": "boss"}, "employment_form"),
    ({"name": "x" * 200}, "name"),
])
def test_register_bad_input_shows_error_and_saves_nothing(client, change, field):
    data = {"name": "王小明", "phone": "13912340001", "username": "xiaoming2",
            "password": "xiaoming-2026", "confirm": "xiaoming-2026", "employment_form": "employee",
            "employer_id": "None", "agree": "y"}
    data.update(change)
    response = client.post("/register", data={"csrf_token": csrf_token(client, "/register"), **data})
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_register_cannot_set_role(client):
    data = {"name": "x", "phone": "13912340002", "username": "roleplay", "password": "roleplay-2026",
            "confirm": "roleplay-2026", "employment_form": "employee", "employer_id": "None",
            "agree": "y", "role": "admin", "org_id": "1"}
    client.post("/register", data={"csrf_token": csrf_token(client, "/register"), **data})
    assert db.session.scalar(select(User.role).where(User.username == "roleplay")) is Role.WORKER


def test_signed_in_user_visiting_register_goes_home(app):
    client, _ = signed_in(app, "worker")
    assert client.get("/register").location == "/"


def test_wrong_password_stays_on_login_with_message(app):
    make_user("worker", username="forgetful")
    client = app.test_client()
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": "forgetful",
                                           "password": "wrong-password"})
    assert response.status_code == 401
    assert 'id="password-error"' in response.get_data(as_text=True)


def test_profile_update_saves_and_masks(app):
    client, user = signed_in(app, "worker", phone="13612345678")
    page = client.get("/profile").get_data(as_text=True)
    assert "136****5678" in page and "13612345678" not in page
    response = post_form(client, "/profile", {"name": "新名字", "phone": "",
                                              "national_id": "11010519491231002X"},
                         token_from="/profile")
    assert response.status_code == 302 and response.location == "/profile"
    db.session.refresh(user)
    assert user.name == "新名字" and user.phone == "13612345678"
    page = client.get("/profile").get_data(as_text=True)
    assert "1101**********002X" in page and "11010519491231002X" not in page


def test_profile_bad_id_shows_error(app):
    client, user = signed_in(app, "worker")
    response = post_form(client, "/profile", {"name": "x", "national_id": "123456789012345678"},
                         token_from="/profile")
    assert response.status_code == 200 and 'id="national_id-error"' in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.national_id is None


def test_password_change_keeps_this_device_and_ends_others(app):
    client, user = signed_in(app, "worker")
    other_device = app.test_client()
    login(other_device, user.username)
    response = post_form(client, "/profile/password", {
        "current_password": PASSWORD, "new_password": "a-new-secret-9", "confirm": "a-new-secret-9"},
        token_from="/profile/password")
    assert response.status_code == 302
    assert client.get("/profile").status_code == 200
    assert other_device.get("/profile").status_code == 302


def test_admin_creates_staff_account(app):
    make_org("agency", code="hrss")
    client, admin = signed_in(app, "admin")
    response = post_form(client, "/admin/users/new", {
        "role": "caseworker", "username": "newcw", "name": "新社工", "phone": "",
        "org_code": "hrss", "password": "caseworker-2026"}, token_from="/admin/users/new")
    user = db.session.scalar(select(User).where(User.username == "newcw"))
    assert response.status_code == 302 and response.location == f"/admin/users/{user.id}"
    assert user.role is Role.CASEWORKER and user.org.code == "hrss"


def test_admin_create_without_org_shows_error(app):
    client, _ = signed_in(app, "admin")
    response = post_form(client, "/admin/users/new", {
        "role": "park_manager", "username": "nopark", "password": "manager-2026", "org_code": ""},
        token_from="/admin/users/new")
    assert response.status_code == 200 and 'id="org_code-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "nopark")) is None


def test_admin_reveal_is_logged_and_suspend_ends_sessions(app):
    client, admin = signed_in(app, "admin")
    worker_client, worker = signed_in(app, "worker", phone="13612340000")
    page = client.get(f"/admin/users/{worker.id}").get_data(as_text=True)
    assert "136****0000" in page and "13612340000" not in page
    response = post_form(client, f"/admin/users/{worker.id}/reveal/phone", {},
                         token_from=f"/admin/users/{worker.id}")
    assert "13612340000" in response.get_data(as_text=True)
    assert db.session.scalar(select(AccessLogEntry.action)) == "reveal_phone"
    post_form(client, f"/admin/users/{worker.id}/active", {"active": "0"},
              token_from=f"/admin/users/{worker.id}")
    db.session.refresh(worker)
    assert not worker.active
    assert worker_client.get("/profile").status_code == 302


def test_admin_unknown_user_is_404(app):
    client, _ = signed_in(app, "admin")
    assert client.get("/admin/users/9999").status_code == 404


def test_admin_org_create_and_duplicate(app):
    client, _ = signed_in(app, "admin")
    data = {"kind": "park", "code": "new-park", "name": "新园区", "park_code": ""}
    response = post_form(client, "/admin/orgs/new", data, token_from="/admin/orgs/new")
    assert response.status_code == 302
    response = post_form(client, "/admin/orgs/new", {**data, "name": "other"},
                         token_from="/admin/orgs/new")
    assert response.status_code == 200 and 'id="code-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Organisation.name).where(Organisation.code == "new-park")) == "新园区"


def test_notifications_inbox(app):
    from services.core import notify

    client, user = signed_in(app, "worker")
    notify.send(user_id=user.id, kind="test", title="床位已分配", body="B-304")
    db.session.commit()
    assert "床位已分配" in client.get("/").get_data(as_text=True)
    assert "床位已分配" in client.get("/notifications").get_data(as_text=True)
    post_form(client, "/notifications/read", {}, token_from="/notifications")
    assert notify.unread_count(user.id) == 0
    other_client, _ = signed_in(app, "worker")
    assert "床位已分配" not in other_client.get("/notifications").get_data(as_text=True)


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


def test_admin_edits_the_business_calendar(app):
    from datetime import date

    from services.core.calendar import CalendarDay, DayKind, load_calendar, set_calendar_day

    set_calendar_day(actor_id=None, day=date(2027, 2, 8), kind=DayKind.HOLIDAY, name="春节")
    db.session.commit()
    client, _ = signed_in(app, "admin")
    assert "2027-02-08" in client.get("/admin/calendar?year=2027").get_data(as_text=True)
    response = post_form(client, "/admin/calendar?year=2027",
                         {"day": "2027-02-20", "kind": "workday", "name": "春节补班"},
                         token_from="/admin/calendar")
    assert response.status_code == 302
    assert load_calendar().is_business_day(date(2027, 2, 20))  # a Saturday, now worked
    response = post_form(client, "/admin/calendar",
                         {"day": "2027-02-22", "kind": "workday", "name": "x"},
                         token_from="/admin/calendar")
    assert response.status_code == 200  # a Monday cannot be a make-up workday
    assert db.session.get(CalendarDay, date(2027, 2, 22)) is None
    post_form(client, "/admin/calendar/2027-02-08/delete", {}, token_from="/admin/calendar")
    assert db.session.get(CalendarDay, date(2027, 2, 8)) is None
    for bad in ("/admin/calendar?year=abc", "/admin/calendar?year=99999"):
        assert client.get(bad).status_code == 200


def test_calendar_admin_is_admin_only(app):
    client, _ = signed_in(app, "coordinator")
    assert client.get("/admin/calendar").status_code == 403


def test_data_export_holds_own_data_only(app):
    import json

    from services.core import notify

    client, user = signed_in(app, "worker", phone="13612349999")
    other = make_user("worker", phone="13612348888")
    notify.send(user_id=user.id, kind="t", title="mine")
    notify.send(user_id=other.id, kind="t", title="theirs")
    db.session.commit()
    response = client.get("/profile/export")
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["phone"] == "13612349999" and data["account"]["username"] == user.username
    assert [n["title"] for n in data["notifications"]] == ["mine"]
    assert "13612348888" not in response.get_data(as_text=True)
    assert any(e["action"] == "user.signed_in" for e in data["activity"]["events"])
    token = client.post("/api/v1/auth/token", json={"username": user.username,
                                                   "password": PASSWORD}).get_json()["token"]
    api = client.get("/api/v1/me/export", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert api["account"]["phone"] == data["account"]["phone"]
    assert api["account"]["id"] == user.id
