"""Security baseline: headers, CSRF, sessions that really end, rate limits, safe redirects."""
from __future__ import annotations

import pytest

from services.core.web import safe_next
from services.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, make_user


def test_security_headers_on_pages(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'self'",
                      "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # only in production


def test_hsts_and_secure_cookie_in_production(tmp_path, monkeypatch):
    from tests.conftest import build_app

    monkeypatch.setenv("ANJU_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "prod-test-secret")
    monkeypatch.setenv("DATA_KEY", "ZGV2LW9ubHktZGF0YS1rZXktYW5qdS0zMi1ieXRlcyE=")
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI="sqlite://", PRODUCTION=True,
                    FORCE_HTTPS=True, SESSION_COOKIE_SECURE=True, TESTING=False)
    response = app.test_client().get("/login", base_url="https://anju.example")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    assert app.config["SESSION_COOKIE_SECURE"] is True
    redirect = app.test_client().get("/login", base_url="http://anju.example")
    assert redirect.status_code in (301, 302) and redirect.location.startswith("https://")


def test_production_refuses_to_start_without_secrets(monkeypatch):
    from services.config import ConfigError, config_from_env

    monkeypatch.setenv("ANJU_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATA_KEY", "x")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        config_from_env()


def test_post_without_csrf_token_is_refused(client, app):
    make_user("worker", username="csrfuser")
    response = client.post("/login", data={"username": "csrfuser", "password": PASSWORD})
    assert response.status_code == 400
    assert "anju_session" not in response.headers.get("Set-Cookie", "") or "_user_id" not in str(
        client.get_cookie("anju_session"))
    assert client.get("/profile").status_code == 302  # still anonymous


def test_login_rotates_session_and_logout_kills_copied_cookie(app):
    make_user("worker", username="copycat")
    browser = app.test_client()
    before = browser.get_cookie("anju_session")
    login(browser, "copycat")
    cookie = browser.get_cookie("anju_session").value
    assert before is None or before.value != cookie
    thief = app.test_client()
    thief.set_cookie("anju_session", cookie)
    assert thief.get("/profile").status_code == 200  # the copy works while the session lives
    response = post_form(browser, "/logout", {})
    assert response.status_code == 302 and response.location.endswith("/login")
    assert thief.get("/profile").status_code == 302  # and stops working after logout
    assert browser.get("/profile").status_code == 302


def test_cookie_flags(app):
    make_user("worker", username="flags")
    client = app.test_client()
    response = login(client, "flags")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_remember_me_makes_a_lasting_cookie(app):
    make_user("worker", username="keeper")
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "username": "keeper",
                                           "password": PASSWORD, "remember": "y"})
    assert "Expires=" in response.headers["Set-Cookie"]
    plain = app.test_client()
    assert "Expires=" not in login(plain, "keeper").headers["Set-Cookie"]


def test_sixth_failed_login_in_a_minute_gets_429(app):
    make_user("worker", username="target")
    client = app.test_client()
    statuses = []
    for _ in range(6):
        token = csrf_token(client, "/login")
        statuses.append(client.post("/login", data={"csrf_token": token, "username": "target",
                                                    "password": "wrong-password"}).status_code)
    assert statuses == [401] * 5 + [429]


def test_failed_logins_per_account_count_across_addresses(app):
    make_user("worker", username="victim")
    statuses = []
    for n in range(6):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        token = csrf_token(client, "/login")
        statuses.append(client.post("/login", data={"csrf_token": token, "username": "victim",
                                                    "password": "wrong-password"}).status_code)
    assert statuses[-1] == 429 and statuses[:5] == [401] * 5


def test_successful_logins_do_not_count(app):
    make_user("worker", username="regular")
    for _ in range(7):
        client = app.test_client()
        assert login(client, "regular").status_code == 302


def test_staff_session_ends_after_idle_time(app):
    import time

    make_user("caseworker", username="idlecw")
    client = app.test_client()
    login(client, "idlecw")
    assert client.get("/profile").status_code == 200
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 31 * 60
    response = client.get("/profile")
    assert response.status_code == 302 and "/login" in response.location
    assert "30" in client.get(response.location).get_data(as_text=True)


def test_worker_session_has_no_idle_limit(app):
    import time

    make_user("worker", username="idleworker")
    client = app.test_client()
    login(client, "idleworker")
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 31 * 60
    assert client.get("/profile").status_code == 200


@pytest.mark.parametrize("target,expected", [
    ("/profile", "/profile"), ("/admin/users?q=a", "/admin/users?q=a"),
    ("https://evil.example/", "/"), ("//evil.example", "/"), ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"), ("", "/"), (None, "/"), ("profile", "/"), ("/a\nb", "/"),
])
def test_safe_next(target, expected):
    assert safe_next(target) == expected


def test_login_next_goes_only_to_this_site(app):
    make_user("worker", username="nexter")
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "username": "nexter",
                                           "password": PASSWORD, "next": "https://evil.example/"})
    assert response.location == "/"
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "username": "nexter",
                                           "password": PASSWORD, "next": "/profile"})
    assert response.location == "/profile"


def test_personal_pages_are_not_cached(app):
    make_user("worker", username="nocache")
    client = app.test_client()
    login(client, "nocache")
    assert client.get("/profile").headers["Cache-Control"] == "no-store"


def test_error_pages_show_no_traceback(app):
    @app.route("/boom")
    def boom():  # a deliberately broken view
        raise RuntimeError("secret internals")

    boom.is_public = True
    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body


def test_unknown_page_is_404_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "<html" in response.get_data(as_text=True)


def test_integrity_error_becomes_409(app):
    from sqlalchemy.exc import IntegrityError

    @app.route("/race")
    def race():
        raise IntegrityError("INSERT", {}, Exception("unique"))

    race.is_public = True
    assert app.test_client().get("/race").status_code == 409
    db.session.rollback()


def test_registrations_per_address_are_capped(app):
    app.config["REGISTRATIONS_PER_HOUR"] = 3
    client = app.test_client()
    statuses = [client.post("/api/v1/auth/register", json={
        "username": f"spam{n}", "password": "spam-pass-2026", "phone": f"1350000000{n}",
        "name": "s"}).status_code for n in range(4)]
    assert statuses == [201, 201, 201, 429]


@pytest.mark.redis
def test_login_limit_is_shared_across_workers_through_redis(tmp_path, redis_url):
    """Two app processes (gunicorn workers) share one count when REDIS_URL is set."""
    from redis import Redis

    from tests.conftest import build_app

    prefix = f"anju-test-{tmp_path.name}"
    Redis.from_url(redis_url).flushdb()
    db_url = f"sqlite:///{tmp_path}/shared.db"
    workers = [build_app(tmp_path, SQLALCHEMY_DATABASE_URI=db_url, RATELIMIT_STORAGE_URI=redis_url,
                         RATELIMIT_KEY_PREFIX=prefix) for _ in range(2)]
    with workers[0].app_context():
        db.create_all()
        make_user("worker", username="shared")
    statuses = []
    for attempt in range(6):
        client = workers[attempt % 2].test_client()
        with workers[attempt % 2].app_context():
            token = csrf_token(client, "/login")
            statuses.append(client.post("/login", data={
                "csrf_token": token, "username": "shared", "password": "wrong-password"}).status_code)
    assert statuses == [401] * 5 + [429]
    with workers[0].app_context():
        db.drop_all()
