"""Whole responses kept per signed-in user (services/core/page_cache.py): reused only while
everything they read holds, never across users, never when they read anything unversioned."""
from __future__ import annotations

import re
import time

import pytest
from flask import flash
from sqlalchemy import text

from services.accounts import operations as accounts
from services.accounts.sessions import issue_token
from services.core import cache, notify, page_cache
from services.core.access import ALL_ROLES, roles_required
from services.extensions import db
from tests.conftest import CSRF_RE, cached_app_context, counted_statements, login
from tests.factories import make_user


def signed_in(app, user):
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert login(client, user.username).status_code == 302
    client.get("/notifications")  # shows (and so clears) the sign-in's flash message
    return client


def without_token(html: str) -> str:
    return CSRF_RE.sub("", html)


@pytest.fixture
def views_run(cached_app, monkeypatch):
    """How often the home page's view made its panels."""
    from services.accounts.views import home

    calls = []
    original = home.panels_for
    monkeypatch.setattr(home, "panels_for", lambda user: calls.append(user.id) or original(user))
    return calls


def test_a_page_is_answered_again_without_the_view_or_the_database(cached_app, views_run):
    client = signed_in(cached_app, make_user("worker"))
    first = client.get("/").get_data(as_text=True)
    with counted_statements() as statements:
        second = client.get("/")
    assert second.status_code == 200 and not statements
    assert len(views_run) == 1
    assert without_token(second.get_data(as_text=True)) == without_token(first)
    assert second.headers["Cache-Control"] == "no-store"  # added to the kept answer too
    assert "Content-Security-Policy" in second.headers


def test_each_session_gets_its_own_csrf_token(cached_app, views_run):
    worker = make_user("worker")
    first, second = signed_in(cached_app, worker), signed_in(cached_app, worker)
    tokens = [CSRF_RE.search(c.get("/").get_data(as_text=True)).group(1) for c in (first, second)]
    assert len(views_run) == 1  # the second session was answered with the kept page
    assert tokens[0] != tokens[1]
    answer = second.post("/notifications/read", data={"csrf_token": tokens[1]})
    assert answer.status_code == 302  # the token it was given is valid for its session
    assert first.post("/notifications/read", data={"csrf_token": tokens[1]}).status_code == 400


def test_another_user_never_gets_someone_elses_page(cached_app, views_run):
    alice = make_user("worker", username="alice")
    bob = make_user("worker", username="bob")
    for user in (alice, bob):
        user.name = f"Name of {user.username}"
    db.session.commit()
    ids = sorted([alice.id, bob.id])
    alice_client, bob_client = signed_in(cached_app, alice), signed_in(cached_app, bob)
    db.session.remove()  # requests load the users as in production, not from this session
    for _ in range(2):
        assert "Name of alice" in alice_client.get("/").get_data(as_text=True)
        bob_page = bob_client.get("/").get_data(as_text=True)
        assert "Name of bob" in bob_page and "Name of alice" not in bob_page
    assert sorted(views_run) == ids


def test_a_change_to_what_the_page_read_shows_on_the_next_request(cached_app, views_run):
    worker = make_user("worker")
    client = signed_in(cached_app, worker)
    assert "Your permit is ready" not in client.get("/").get_data(as_text=True)
    notify.send(user_id=worker.id, kind="info", title="Your permit is ready")
    db.session.commit()
    assert "Your permit is ready" in client.get("/").get_data(as_text=True)
    assert len(views_run) == 2


def test_a_suspended_user_is_not_answered_from_the_kept_page(cached_app):
    worker = make_user("worker")
    client = signed_in(cached_app, worker)
    assert client.get("/").status_code == 200
    accounts.set_active(actor_id=None, user=worker, active=False)
    db.session.commit()
    assert client.get("/").status_code == 302  # to the sign-in page


def test_the_language_is_part_of_what_is_kept(cached_app):
    client = signed_in(cached_app, make_user("worker"))
    english = client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "zh_CN")
    chinese = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in english and 'lang="zh' in chinese


def test_api_reads_are_kept_per_token_user(cached_app):
    first, second = make_user("worker"), make_user("worker")
    client = cached_app.test_client()
    headers = {"Authorization": f"Bearer {issue_token(first)[0]}"}
    assert client.get("/api/v1/services", headers=headers).status_code == 200
    with counted_statements() as statements:
        assert client.get("/api/v1/services", headers=headers).status_code == 200
    assert not statements
    other = {"Authorization": f"Bearer {issue_token(second)[0]}"}
    with counted_statements() as statements:
        assert client.get("/api/v1/services", headers=other).status_code == 200
    assert statements  # the other user's first request reads for them
    accounts.set_active(actor_id=None, user=first, active=False)
    db.session.commit()
    assert client.get("/api/v1/services", headers=headers).status_code == 401


def test_someone_elses_application_is_never_answered_from_the_owners_response(cached_app):
    from tests.dorms.factories import apply, make_park

    park, employer, _ = make_park("A,101,1,F,2,standard,no,20,300,,")
    owner, other = make_user("worker", org=employer), make_user("worker", org=employer)
    application = apply(owner, park)
    path = f"/api/v1/dorm-applications/{application.id}"
    client = cached_app.test_client()
    mine = {"Authorization": f"Bearer {issue_token(owner)[0]}"}
    theirs = {"Authorization": f"Bearer {issue_token(other)[0]}"}
    db.session.remove()
    for _ in range(2):
        assert client.get(path, headers=mine).status_code == 200
        assert client.get(path, headers=theirs).status_code == 404


# --- what is never kept ----------------------------------------------------------------------

def probe_app(tmp_path, redis_url, view, cache_url=None, clock_free=False, **config):
    """A cached app with one extra per-user page, /probe, made by `view` (its cache's Redis at
    `cache_url` when given)."""
    context = cached_app_context(tmp_path, redis_url, **config)
    application = context.__enter__()
    if cache_url:
        application.extensions.pop("anju_cache", None)
        application.config["REDIS_URL"] = cache_url
    calls = []

    @page_cache.per_user(clock_free=clock_free)
    @roles_required(*ALL_ROLES)
    def probe():
        calls.append(1)
        return view()

    application.add_url_rule("/probe", "probe", probe)
    return context, application, calls


def probe_runs(tmp_path, redis_url, view, requests=3, **config) -> int:
    context, application, calls = probe_app(tmp_path, redis_url, view, **config)
    try:
        client = signed_in(application, make_user("worker"))
        for _ in range(requests):
            assert client.get("/probe").status_code == 200
        return len(calls)
    finally:
        application.config["REDIS_URL"] = redis_url
        application.extensions.pop("anju_cache", None)
        context.__exit__(None, None, None)


def test_a_page_made_only_of_cached_values_is_kept(tmp_path, redis_url):
    view = lambda: cache.cached("probe", lambda: "value", depends_on=["probe"])  # noqa: E731
    assert probe_runs(tmp_path, redis_url, view) == 1


def test_a_page_that_read_the_database_directly_is_not_kept(tmp_path, redis_url):
    view = lambda: str(db.session.execute(text("SELECT 1")).scalar())  # noqa: E731
    assert probe_runs(tmp_path, redis_url, view) == 3


def test_a_page_that_shows_a_flash_message_is_not_kept(tmp_path, redis_url):
    def view():
        flash("Saved.")
        return "flashed"
    assert probe_runs(tmp_path, redis_url, view) == 3


def test_a_page_that_sets_a_header_is_not_kept(tmp_path, redis_url):
    view = lambda: ("x", 200, {"X-Probe": "1"})  # noqa: E731
    assert probe_runs(tmp_path, redis_url, view) == 3


def test_an_error_is_not_kept(tmp_path, redis_url):
    context, application, calls = probe_app(tmp_path, redis_url, lambda: ("gone", 404))
    try:
        client = signed_in(application, make_user("worker"))
        assert [client.get("/probe").status_code for _ in range(2)] == [404, 404]
        assert len(calls) == 2
    finally:
        context.__exit__(None, None, None)


def test_nothing_is_kept_while_redis_is_unreachable(tmp_path, redis_url):
    view = lambda: cache.cached("probe", lambda: "value", depends_on=["probe"])  # noqa: E731
    assert probe_runs(tmp_path, redis_url, view, cache_url="redis://127.0.0.1:9/0") == 3


def test_a_declared_moment_ends_the_kept_page(tmp_path, redis_url):
    from datetime import datetime, timedelta, timezone

    def view():
        cache.valid_until(datetime.now(timezone.utc) + timedelta(seconds=0.2))
        return cache.cached("probe", lambda: "value", depends_on=["probe"])

    context, application, calls = probe_app(tmp_path, redis_url, view)
    try:
        client = signed_in(application, make_user("worker"))
        client.get("/probe"), client.get("/probe")
        assert len(calls) == 1
        time.sleep(0.25)
        client.get("/probe")
        assert len(calls) == 2
    finally:
        context.__exit__(None, None, None)


def test_a_kept_page_lives_at_most_response_ttl(tmp_path, redis_url, monkeypatch):
    monkeypatch.setattr(page_cache, "RESPONSE_TTL", 0.2)
    view = lambda: cache.cached("probe", lambda: "value", depends_on=["probe"])  # noqa: E731
    context, application, calls = probe_app(tmp_path, redis_url, view)
    try:
        client = signed_in(application, make_user("worker"))
        client.get("/probe"), client.get("/probe")
        time.sleep(0.25)
        client.get("/probe")
        assert len(calls) == 2
    finally:
        context.__exit__(None, None, None)


def test_a_clock_free_view_is_kept_past_response_ttl_until_what_it_read_changes(
        tmp_path, redis_url, monkeypatch):
    monkeypatch.setattr(page_cache, "RESPONSE_TTL", 0.2)
    view = lambda: cache.cached("probe", lambda: "value", depends_on=["probe"])  # noqa: E731
    context, application, calls = probe_app(tmp_path, redis_url, view, clock_free=True)
    try:
        client = signed_in(application, make_user("worker"))
        client.get("/probe")
        time.sleep(0.25)
        client.get("/probe")
        assert len(calls) == 1  # older than RESPONSE_TTL, still what the view would answer
        cache.touch("probe")
        db.session.commit()
        client.get("/probe")
        assert len(calls) == 2  # what it read changed
    finally:
        context.__exit__(None, None, None)


def test_the_store_keeps_within_its_size(tmp_path, redis_url):
    body = "x" * 1000
    view = lambda: cache.cached("probe", lambda: body, depends_on=["probe"])  # noqa: E731
    context, application, _ = probe_app(tmp_path, redis_url, view, RESPONSE_CACHE_BYTES=20_000)
    try:
        for _ in range(30):
            signed_in(application, make_user("worker")).get("/probe")
        store = application.extensions["anju_responses"]
        assert store.size <= 20_000 and 10 <= len(store.entries) <= 20
        assert store.size == sum(len(e.body) for e in store.entries.values())
    finally:
        context.__exit__(None, None, None)


def test_views_marked_for_reuse_are_the_read_only_lists(app):
    marked = sorted(name for name, view in app.view_functions.items()
                    if hasattr(view, page_cache._MARK))
    assert marked == ["api.get_application", "api.list_cases", "api.list_services",
                      "bookings.services", "cases.queue", "dorms.rooms", "home.index"]
    clock_free = [name for name in marked if not getattr(app.view_functions[name],
                                                         page_cache._MARK)]
    assert clock_free == ["api.get_application"]  # stored points, positions, moments only
    assert all(re.fullmatch(r"GET|HEAD|OPTIONS", m) for name in marked
               for rule in app.url_map.iter_rules() if rule.endpoint == name
               for m in rule.methods)
