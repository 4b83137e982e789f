"""PostgreSQL frozen while its host still acknowledges every packet (services/core/db_ping.py).

Through the TCP proxy of `bench/tcp_proxy.py` in black-hole mode without cutting: the open
connections stay up, their bytes are acknowledged and held, and nothing is ever answered, so
neither `tcp_user_timeout` nor the keepalives end the wait. The pool's pre-ping gives up after
DB_PING_TIMEOUT seconds, the one reconnect after DB_CONNECT_TIMEOUT, and the request answers
503 instead of holding the worker until gunicorn's timeout.
"""
from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.tcp_proxy import TcpProxy
from services.config import DB_CONNECT_TIMEOUT, DB_PING_TIMEOUT
from services.core.db_ping import BoundedPingDialect, PingTimeout, ping
from tests.conftest import login
from tests.faults.conftest import through

pytestmark = pytest.mark.postgres

SLACK = 2.5  # seconds, for a busy machine
FROZEN = DB_PING_TIMEOUT + DB_CONNECT_TIMEOUT + SLACK  # the ping gives up, one reconnect times out


def _libpq(url: str) -> str:
    parts = make_url(url)
    return (f"host={parts.host} port={parts.port or 5432} dbname={parts.database} "
            f"user={parts.username or ''} connect_timeout={DB_CONNECT_TIMEOUT}")


def test_engines_of_postgresql_get_the_bounded_ping():
    engine = create_engine("postgresql+psycopg://anju@db:5432/anju")
    assert isinstance(engine.dialect, BoundedPingDialect)
    assert engine.dialect.supports_statement_cache  # else every statement compiled every time
    assert type(create_engine("sqlite://").dialect) is not BoundedPingDialect


def test_ping_of_a_live_server_leaves_the_connection_idle_and_usable(pg_url):
    with psycopg.connect(_libpq(pg_url)) as connection:
        ping(connection)
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert connection.execute("SELECT 41 + 1").fetchone() == (42,)
        ping(connection)  # inside no transaction: psycopg's BEGIN came with the SELECT
        connection.rollback()
        ping(connection)
        assert not connection.closed


def test_ping_of_a_frozen_server_gives_up_in_time_and_closes(pg_url, pg_proxy: TcpProxy):
    connection = psycopg.connect(_libpq(through(pg_proxy, pg_url)))
    ping(connection)
    pg_proxy.blackhole()
    started = time.monotonic()
    with pytest.raises(PingTimeout):
        ping(connection, timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 0.5 + SLACK
    assert connection.closed


def test_ping_of_a_terminated_connection_fails_and_closes(pg_url, pg_proxy: TcpProxy):
    connection = psycopg.connect(_libpq(through(pg_proxy, pg_url)))
    pg_proxy.cut()  # open connections reset, as by a crashed server
    with pytest.raises(psycopg.OperationalError):
        ping(connection)
    assert connection.closed


def _in_time(call, limit: float):
    """call() in a thread; its result, or None when it has not returned within `limit` s (the
    thread stays blocked until the proxy cuts the held connection)."""
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("value", call()), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(limit)
    return out.get("value"), time.monotonic() - started


def test_frozen_server_answers_503_within_seconds_then_serves_again(proxied_worker,
                                                                    pg_proxy: TcpProxy):
    app, username, bearer = proxied_worker
    client = app.test_client()
    assert login(client, username).status_code == 302
    assert client.get("/api/v1/me", headers=bearer).status_code == 200  # a pooled connection

    pg_proxy.blackhole()  # frozen: the pooled connection stays open, nothing is answered
    api, api_seconds = _in_time(lambda: client.get("/api/v1/me", headers=bearer), FROZEN)
    assert api is not None, f"no answer within {FROZEN} s: the worker hangs"
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "unavailable"
    assert api.headers["Retry-After"]
    assert api_seconds >= DB_PING_TIMEOUT  # it was the ping that gave up, not a refusal
    page, _ = _in_time(lambda: client.get("/"), FROZEN)
    assert page is not None and page.status_code == 503 and page.mimetype == "text/html"

    pg_proxy.forward()
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    assert client.get("/").status_code == 200
