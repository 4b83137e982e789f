"""Connections the server terminates (`pg_terminate_backend`, a restart): the next request
reconnects (`pool_pre_ping`), and a connection lost in the middle of a request gives a 503, or
the request's own answer when its work was already done — never a 500.
"""
from __future__ import annotations

import pytest
from flask import jsonify
from sqlalchemy import create_engine, select, text

from services.accounts.models import User
from services.core.errors import Conflict
from services.extensions import db
from tests.conftest import build_app, login
from tests.factories import make_user

APP_NAME = "anju-faults-test"


def _terminate(pg_url: str) -> int:
    """Terminate every connection of the app under test; how many there were."""
    engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            return connection.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"),
                {"name": APP_NAME})
    finally:
        engine.dispose()


@pytest.fixture
def pg_live(tmp_path, pg_url):
    """An app on PostgreSQL whose connections carry a name, with routes that lose theirs."""
    from services.config import engine_options

    options = engine_options(pg_url)
    options.setdefault("connect_args", {})["application_name"] = APP_NAME
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url, SQLALCHEMY_ENGINE_OPTIONS=options)

    def lost_midway():
        db.session.scalar(select(User.id).limit(1))
        _terminate(pg_url)
        db.session.scalar(select(User.id).limit(1))
        return "unreachable"

    def lost_after_commit():
        db.session.scalar(select(User.id).limit(1))
        db.session.commit()
        db.session.scalar(select(User.id).limit(1))  # a new transaction on the same connection
        _terminate(pg_url)
        return jsonify(done=True)

    def lost_before_domain_error():
        db.session.scalar(select(User.id).limit(1))
        _terminate(pg_url)
        raise Conflict("taken", code="taken")

    for rule, view in (("/_faults/lost-midway", lost_midway),
                       ("/_faults/lost-after-commit", lost_after_commit),
                       ("/api/_faults/lost-before-domain-error", lost_before_domain_error)):
        app.add_url_rule(rule, view.__name__, view)
    with app.app_context():
        db.drop_all()
        db.create_all()
        username = make_user("worker").username
        db.session.remove()
    yield app, username
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.mark.postgres
def test_next_request_reconnects_after_termination(pg_live, pg_url):
    app, username = pg_live
    client = app.test_client()
    assert login(client, username).status_code == 302
    assert client.get("/").status_code == 200
    assert _terminate(pg_url) >= 1  # the pooled connection, idle between requests
    assert client.get("/").status_code == 200
    assert _terminate(pg_url) >= 1
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.postgres
def test_connection_lost_inside_a_request_is_503(pg_live):
    app, username = pg_live
    client = app.test_client()
    assert login(client, username).status_code == 302
    response = client.get("/_faults/lost-midway")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert client.get("/").status_code == 200


@pytest.mark.postgres
def test_connection_lost_after_the_work_keeps_the_answer(pg_live):
    app, username = pg_live
    client = app.test_client()
    assert login(client, username).status_code == 302
    done = client.get("/_faults/lost-after-commit")  # signed in: the no-store check runs
    assert done.status_code == 200 and done.get_json() == {"done": True}
    assert done.headers["Cache-Control"] == "no-store"
    conflict = client.get("/api/_faults/lost-before-domain-error")
    assert conflict.status_code == 409 and conflict.get_json()["error"]["code"] == "taken"
    assert client.get("/").status_code == 200
