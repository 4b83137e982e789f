"""Fixtures of the fault tests: a TCP proxy in front of PostgreSQL, a signed-in client."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from bench.tcp_proxy import TcpProxy


def through(proxy: TcpProxy, database_url: str) -> str:
    """The same database URL, pointed at the proxy."""
    parts = urlsplit(database_url)
    user = parts.netloc.rpartition("@")[0]
    user = f"{user}@" if user else ""
    return parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}").geturl()


@pytest.fixture
def pg_proxy(pg_url):
    parts = urlsplit(pg_url)
    proxy = TcpProxy(parts.port or 5432, parts.hostname or "127.0.0.1").start()
    yield proxy
    proxy.stop()


@pytest.fixture
def proxied_worker(tmp_path, pg_url, pg_proxy):
    """An app on PostgreSQL through the proxy, with fresh tables and one worker: (app, the
    worker's username, bearer headers). The proxy forwards again and the tables go after."""
    from services.accounts.sessions import issue_token
    from services.config import engine_options
    from services.extensions import db
    from tests.conftest import build_app
    from tests.factories import make_user

    url = through(pg_proxy, pg_url)
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=url,
                    SQLALCHEMY_ENGINE_OPTIONS=engine_options(url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        user = make_user("worker")
        username, bearer = user.username, {"Authorization": f"Bearer {issue_token(user)[0]}"}
        db.session.remove()
    # Outside the set-up's app context each request has its own session, as under gunicorn.
    try:
        yield app, username, bearer
    finally:
        pg_proxy.forward()
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def fresh_limiter():
    """The limiter is one object for every app of the run: start and end with its storage alive."""
    from services.extensions import limiter

    limiter._storage_dead = False
    yield limiter
    limiter._storage_dead = False
