"""API v1 authentication: tokens, registration, errors as JSON."""
from __future__ import annotations

from datetime import datetime

from services.accounts.models import User
from services.extensions import db
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_org, make_user


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def get_token(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_token_flow(client, app):
    user = make_user("caseworker", username="apicw")
    response = get_token(client, "apicw")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at", "user"}
    assert body["user"] == {"id": user.id, "role": "caseworker"}
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now().astimezone()
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200 and me.get_json()["username"] == "apicw"
    assert "Set-Cookie" not in me.headers  # the API keeps no session
    assert me.headers["Cache-Control"] == "no-store"


def test_bad_credentials_are_json_401_with_one_message(client):
    make_user("worker", username="apiworker")
    wrong = get_token(client, "apiworker", "wrong-password")
    unknown = get_token(client, "nobody-here", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["error"]["message"] == unknown.get_json()["error"]["message"]
    assert wrong.get_json()["error"]["code"] == "bad_credentials"


def test_sixth_failed_token_request_gets_429(client):
    make_user("worker", username="apitarget")
    statuses = [get_token(client, "apitarget", "wrong-password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert client.post("/api/v1/auth/token", json={"username": "apitarget", "password": PASSWORD}
                       ).get_json()["error"]["code"] == "rate_limited"


def test_missing_and_bad_tokens(client):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=bearer("garbage")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    body = client.get("/api/v1/me").get_json()
    assert body["error"]["code"] == "unauthorized"


def test_api_ignores_session_cookie(app):
    make_user("worker", username="cookieonly")
    client = app.test_client()
    login(client, "cookieonly")
    assert client.get("/profile").status_code == 200
    assert client.get("/api/v1/me").status_code == 401  # a cookie is no API credential (CSRF)


def test_logout_revokes_tokens(client):
    make_user("worker", username="apilogout")
    token = get_token(client, "apilogout").get_json()["token"]
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_web_logout_also_revokes_tokens(app):
    make_user("worker", username="bothways")
    client = app.test_client()
    token = get_token(client, "bothways").get_json()["token"]
    login(client, "bothways")
    post_form(client, "/logout", {})
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_expired_token_is_refused(app, client, monkeypatch):
    import time

    import itsdangerous.timed

    make_user("worker", username="expiring")
    token = get_token(client, "expiring").get_json()["token"]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    later = time.time() + app.config["API_TOKEN_HOURS"] * 3600 + 5
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_register_worker(client):
    employer = make_org("employer")
    response = client.post("/api/v1/auth/register", json={
        "username": "apirider", "password": "rider-pass-2026", "phone": "13512345678",
        "name": "骑手", "employer_id": employer.id, "employment_form": "platform"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["user"]["role"] == "worker" and body["token"]
    user = db.session.get(User, body["user"]["id"])
    assert user.org_id == employer.id and user.employment_form.value == "platform"


def test_register_cannot_choose_role(client):
    response = client.post("/api/v1/auth/register", json={
        "username": "sneaky", "password": "sneaky-pass-2026", "phone": "13512345679",
        "name": "x", "role": "admin"})
    assert response.status_code == 422
    assert "role" in response.get_json()["error"]["fields"]


def test_register_bad_input_is_4xx_json_and_writes_nothing(client):
    cases = [
        (b"not json", 400), (b"[1,2]", 400), (b"\xff\xfe\xfa", 400),
        (b'{"username": 5, "password": [], "phone": null, "name": {}}', 422),
        (b'{"username": "okname", "password": "short", "phone": "13512345600", "name": "a"}', 422),
        (b'{"username": "okname", "password": "long-enough-1", "phone": "999", "name": "a"}', 422),
        (('{"username": "okname", "password": "long-enough-1", "phone": "13512345600", "name": "'
          + "x" * 10000 + '"}').encode(), 422),
    ]
    for raw, status in cases:
        response = client.post("/api/v1/auth/register", data=raw,
                               headers={"Content-Type": "application/json"})
        assert response.status_code == status, raw[:60]
        assert response.get_json()["error"]["code"]
    assert db.session.query(User).count() == 0


def test_duplicate_registration_is_409(client):
    data = {"username": "twice", "password": "twice-pass-2026", "phone": "13512345670", "name": "x"}
    assert client.post("/api/v1/auth/register", json=data).status_code == 201
    response = client.post("/api/v1/auth/register", json=data)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "username_taken"


def test_parks_list_is_public(client):
    make_org("park", code="yc-etdz", name="开发区")
    make_org("employer")
    assert client.get("/api/v1/parks").get_json() == [
        {"id": 1, "code": "yc-etdz", "name": "开发区"}]


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    response = client.get("/api/v1/auth/token")
    assert response.status_code == 405 and response.is_json
