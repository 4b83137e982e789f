"""Test fixtures: a fresh database per test, a client, factories and the CI requirements.

With CI=true, PostgreSQL, Redis and Chromium are required: their absence fails the run
instead of skipping the tests that need them.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

os.environ["ANJU_ENV"] = "testing"

from app import create_app  # noqa: E402
from services.extensions import db, limiter  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def require(condition: bool, what: str) -> None:
    """Skip locally when a service is missing; fail under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true")
    pytest.skip(f"{what} not available")


def build_app(tmp_path, **overrides):
    config = {"UPLOAD_FOLDER": str(tmp_path / "uploads"), "NOTIFY_ADAPTER": "memory"}
    config.update(overrides)
    return create_app(config)


@contextmanager
def fresh_database(application):
    """`application` inside an app context, on its (in-memory SQLite) database made empty."""
    with application.app_context():
        db.create_all()
        limiter.reset()
        yield application
        db.session.remove()
        db.drop_all()


@pytest.fixture
def app(tmp_path):
    """An app on a fresh in-memory SQLite database, inside an app context."""
    with fresh_database(build_app(tmp_path)) as application:
        yield application


@pytest.fixture
def pg_url():
    url = os.environ.get("TEST_DATABASE_URL")
    require(bool(url), "PostgreSQL (TEST_DATABASE_URL)")
    return url


@pytest.fixture
def pg_app(tmp_path, pg_url):
    """An app on the PostgreSQL test database, emptied before and after the test."""
    application = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url)
    with application.app_context():
        db.drop_all()
        db.create_all()
        yield application
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    require(bool(url), "Redis (REDIS_URL)")
    return url


@contextmanager
def cached_app_context(tmp_path, redis_url, **overrides):
    """An app with the read cache on (services/core/cache.py), its version keys in Redis under
    a prefix of its own (removed afterwards), on a fresh in-memory SQLite database."""
    from redis import Redis

    from services.core import cache

    prefix = f"test-{tmp_path.name}:"
    with fresh_database(build_app(tmp_path, REDIS_URL=redis_url, CACHE_PREFIX=prefix,
                                  **overrides)) as application:
        yield application
    client = Redis.from_url(redis_url)
    for key in client.scan_iter(f"{cache.VERSION_PREFIX}{prefix}*"):
        client.delete(key)


@pytest.fixture
def cached_app(tmp_path, redis_url):
    with cached_app_context(tmp_path, redis_url) as application:
        yield application


@contextmanager
def counted_statements():
    """The SQL statements sent inside the block (SQLite's BEGIN IMMEDIATE left out: the
    PostgreSQL driver's BEGIN is not seen either)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement != "BEGIN IMMEDIATE":
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token of the form on `path` (tests post forms the way a browser does)."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {path}: {html[:300]}"
    return match.group(1)


def login(client, username: str, password: str = "correct-horse-42"):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "username": username,
                                       "password": password})


def post_form(client, path: str, data: dict, *, token_from: str = "/"):
    """POST a form with a valid CSRF token taken from a page the user can open."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **data})


# --- the log scan over the whole run (see tests/logscan.py) ---------------------------------
import logging  # noqa: E402

from tests.logscan import KeepAll, findings  # noqa: E402

_KEEP_ALL = KeepAll()


def pytest_configure(config):
    root = logging.getLogger()
    root.addHandler(_KEEP_ALL)
    root.setLevel(logging.DEBUG)
    for noisy in ("urllib3", "asyncio", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def pytest_sessionfinish(session, exitstatus):
    from services.demo import DEMO_PASSWORD
    from tests.factories import PASSWORD

    problems = findings(_KEEP_ALL.lines, (PASSWORD, DEMO_PASSWORD, "anju-journey-2026"))
    if problems:
        print("\nLOG SCAN: secrets or personal data in the logs of this run:")
        for problem in problems[:20]:
            print("  " + problem)
        session.exitstatus = 1
    else:
        print(f"\nLOG SCAN: {len(_KEEP_ALL.lines)} log records, no secrets or personal data")
