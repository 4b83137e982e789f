"""PostgreSQL unreachable: every request answers 503 within seconds (a page, the API's JSON error,
/healthz), never a 500 or a hung worker, and the service is back as soon as the database is.

Without PostgreSQL: a URL to a closed port. With it (TEST_DATABASE_URL): through the TCP proxy
of `bench/tcp_proxy.py`, refused (server down) and as a black hole (host gone: connections reset,
new ones never answered, so only the connect timeout ends the wait).
"""
from __future__ import annotations

import logging
import time

import pytest

from bench.tcp_proxy import TcpProxy
from services.accounts.models import User
from services.accounts.sessions import issue_token
from services.config import DB_CONNECT_TIMEOUT, PG_CONNECT_ARGS, engine_options
from tests.conftest import build_app, login
from tests.live_server import free_port

FAST = 1.0  # seconds: a refused connection is answered at once
SLOW = DB_CONNECT_TIMEOUT + 2.5  # the connect timeout, and some slack for a busy machine


def _app(tmp_path, url: str):
    return build_app(tmp_path, SQLALCHEMY_DATABASE_URI=url,
                     SQLALCHEMY_ENGINE_OPTIONS=engine_options(url))


def _timed(client, path: str, **kwargs):
    started = time.monotonic()
    response = client.get(path, **kwargs)
    return response, time.monotonic() - started


def _assert_unavailable(response, *, api: bool) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    if api:
        assert response.get_json()["error"]["code"] == "unavailable"
    else:
        assert response.mimetype == "text/html"


def test_engine_options_time_out_connects_and_stalls_on_postgresql_only():
    assert engine_options("sqlite:///instance/anju.db") == {"pool_pre_ping": True}
    pg = engine_options("postgresql+psycopg://anju@db:5432/anju")
    assert pg == {"pool_pre_ping": True, "connect_args": PG_CONNECT_ARGS}
    assert PG_CONNECT_ARGS["connect_timeout"] == DB_CONNECT_TIMEOUT
    assert {"tcp_user_timeout", "keepalives", "keepalives_idle"} <= set(PG_CONNECT_ARGS)
    own = engine_options("postgresql+psycopg://a@db/anju?connect_timeout=9&keepalives_idle=30")
    assert "connect_timeout" not in own["connect_args"]  # what the URL sets wins
    assert "keepalives_idle" not in own["connect_args"]
    assert own["connect_args"]["tcp_user_timeout"] == PG_CONNECT_ARGS["tcp_user_timeout"]


def test_closed_port_answers_503_at_once(tmp_path, caplog):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    app = _app(tmp_path, url)
    with app.app_context():
        token = issue_token(User(id=1, session_version=1))[0]
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"  # a signed-in visitor: loading them needs the database

    page, page_seconds = _timed(client, "/")
    api, api_seconds = _timed(client, "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    health, health_seconds = _timed(app.test_client(), "/healthz")

    _assert_unavailable(page, api=False)
    _assert_unavailable(api, api=True)
    assert health.status_code == 503 and health.get_json()["database"] == "down"
    assert max(page_seconds, api_seconds, health_seconds) < FAST
    assert any(r.levelno == logging.ERROR and "database unavailable" in r.getMessage()
               for r in caplog.records)


@pytest.mark.postgres
def test_postgres_down_then_back(proxied_worker, pg_proxy: TcpProxy):
    app, username, bearer = proxied_worker
    client = app.test_client()
    assert login(client, username).status_code == 302
    assert client.get("/").status_code == 200

    pg_proxy.refuse()
    page, page_seconds = _timed(client, "/")
    api, api_seconds = _timed(client, "/api/v1/me", headers=bearer)
    health, health_seconds = _timed(app.test_client(), "/healthz")
    _assert_unavailable(page, api=False)
    _assert_unavailable(api, api=True)
    assert health.status_code == 503
    assert max(page_seconds, api_seconds, health_seconds) < FAST

    pg_proxy.forward()
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me", headers=bearer).status_code == 200

    pg_proxy.blackhole()
    pg_proxy.cut()
    api, api_seconds = _timed(client, "/api/v1/me", headers=bearer)
    _assert_unavailable(api, api=True)
    assert api_seconds < SLOW

    pg_proxy.forward()
    assert client.get("/").status_code == 200
