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
def fresh_limiter():
    """The limiter is one object for every app of the run: start and end with its storage alive."""
    from services.extensions import limiter

    limiter._storage_dead = False
    yield limiter
    limiter._storage_dead = False
