"""A network partition between the app and PostgreSQL: packets dropped, nothing acknowledged.

The request answers 503 within seconds instead of holding the worker until gunicorn's timeout:
libpq's `tcp_user_timeout` and keepalives (`PG_CONNECT_ARGS` in services/config.py) make the
kernel drop a connection that stays unacknowledged for DB_STALL_TIMEOUT seconds, whether the
pool's pre-ping is waiting for its answer or a query in flight is.

The partition is real, in a network namespace of the test's own (`PrivateNetwork` of
bench/tcp_proxy.py; Linux as root, skipped elsewhere): the app reaches the proxy over the
namespace's loopback, the proxy reaches PostgreSQL by its Unix socket, and the packets of the
app's open connections are dropped by a routing rule of that namespace only.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import jsonify
from sqlalchemy import create_engine, select, text

from bench.tcp_proxy import PrivateNetwork, TcpProxy
from services.accounts.models import User
from services.accounts.sessions import issue_token
from services.config import DB_CONNECT_TIMEOUT, DB_STALL_TIMEOUT, engine_options
from services.core.access import public
from services.extensions import db
from tests.conftest import build_app, login
from tests.factories import make_user
from tests.faults.conftest import through

pytestmark = pytest.mark.postgres

APP_NAME = "anju-faults-stalled"
SLACK = 2.5  # seconds, for a busy machine
IN_FLIGHT = DB_STALL_TIMEOUT + SLACK  # the query's connection is dropped; no reconnect
PRE_PING = DB_STALL_TIMEOUT + DB_CONNECT_TIMEOUT + SLACK  # the ping fails, one reconnect times out


@pytest.fixture
def server_socket(pg_url) -> str:
    """PostgreSQL's Unix socket (the same file inside the private network)."""
    reason = PrivateNetwork.unavailable()
    if reason:
        pytest.skip(reason)
    engine = create_engine(pg_url)
    try:
        with engine.connect() as connection:
            folders = connection.scalar(text("SHOW unix_socket_directories"))
    finally:
        engine.dispose()
    port = urlsplit(pg_url).port or 5432
    for folder in (f.strip() for f in folders.split(",") if f.strip()):
        path = Path(folder) / f".s.PGSQL.{port}"
        if path.exists():
            return str(path)
    pytest.skip(f"PostgreSQL has no Unix socket for port {port} here")


def _timed(client, path: str, **kwargs):
    started = time.monotonic()
    response = client.get(path, **kwargs)
    return response, time.monotonic() - started


def _clean_up(pg_url: str) -> None:
    """End the backends the partition left behind (one may still sleep), then drop the tables."""
    engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"),
                {"name": APP_NAME})
        db.metadata.drop_all(engine)
    finally:
        engine.dispose()


def test_a_partition_answers_503_within_seconds(tmp_path, pg_url, server_socket):
    def scenario(network: PrivateNetwork) -> dict:
        proxy = TcpProxy(urlsplit(pg_url).port or 5432, unix_socket=server_socket).start()
        url = through(proxy, pg_url)
        options = engine_options(url)
        options["connect_args"]["application_name"] = APP_NAME
        app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=options)

        @public
        def slow():
            db.session.execute(text("SELECT pg_sleep(30)"))
            return jsonify(done=True)

        app.add_url_rule("/_faults/slow", "slow", slow)
        seen: dict = {}
        try:
            with app.app_context():
                db.drop_all()
                db.create_all()
                user = make_user("worker")
                username, token = user.username, issue_token(user)[0]
                db.session.remove()
            client = app.test_client()  # outside the set-up's context: a session per request
            assert login(client, username).status_code == 302
            assert client.get("/").status_code == 200  # a pooled connection, idle now

            # 1. The partition starts between requests: the next pre-ping gets no answer.
            seen["dropped"] = network.partition(proxy)
            seen["page"] = _timed(client, "/")
            seen["api"] = _timed(client, "/api/v1/me",
                                 headers={"Authorization": f"Bearer {token}"})
            network.heal(proxy)
            seen["page_after"] = client.get("/").status_code

            # 2. The partition starts while a query waits for its answer.
            assert app.test_client().get("/healthz").status_code == 200
            timer = threading.Timer(0.5, network.partition, args=(proxy,))
            timer.start()
            seen["in_flight"] = _timed(app.test_client(), "/_faults/slow")
            timer.join()
            network.heal(proxy)
            seen["page_at_last"] = client.get("/").status_code
            with app.app_context():
                seen["user_ids"] = db.session.scalars(select(User.id)).all()
                db.session.remove()
            return seen
        finally:
            with app.app_context():
                db.engine.dispose()
            proxy.stop()

    try:
        seen = PrivateNetwork.run(scenario, timeout=120)
    finally:
        _clean_up(pg_url)

    assert seen["dropped"], "the partition dropped no connection"
    page, page_seconds = seen["page"]
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert page.mimetype == "text/html"
    assert page_seconds < PRE_PING, page_seconds
    api, api_seconds = seen["api"]  # no pooled connection left: a connect that times out
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "unavailable"
    assert api_seconds < DB_CONNECT_TIMEOUT + SLACK, api_seconds
    assert seen["page_after"] == 200

    slow, slow_seconds = seen["in_flight"]
    assert slow.status_code == 503 and slow.headers["Retry-After"]
    assert slow_seconds < IN_FLIGHT, slow_seconds
    assert seen["page_at_last"] == 200 and len(seen["user_ids"]) == 1
