"""The read cache: values per process, versions in Redis, never stale after a commit."""
from __future__ import annotations

import logging
import time

import pytest
from redis import Redis

from services.core import cache
from services.extensions import db
from tests.conftest import build_app, cached_app_context


@pytest.fixture
def cache_app(tmp_path, redis_url):
    with cached_app_context(tmp_path, redis_url, CACHE_MAX_ENTRIES=3) as application:
        yield application


class Source:
    """A computation that counts its calls."""

    def __init__(self, value="v"):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def request_ctx(app):
    return app.test_request_context("/")


def test_value_is_computed_once_until_its_namespace_is_touched(cache_app):
    source = Source()
    for _ in range(3):
        with request_ctx(cache_app):
            assert cache.cached("k", source, depends_on=["ns:a"]) == "v"
    assert source.calls == 1
    with request_ctx(cache_app):
        cache.touch("ns:a")
        db.session.commit()
    with request_ctx(cache_app):
        source.value = "w"
        assert cache.cached("k", source, depends_on=["ns:a"]) == "w"
    assert source.calls == 2


def test_other_namespaces_and_keys_are_separate(cache_app):
    a, b = Source("a"), Source("b")
    with request_ctx(cache_app):
        cache.cached("k1", a, depends_on=["ns:a"])
        cache.cached("k2", b, depends_on=["ns:b"])
        cache.touch("ns:b")
        db.session.commit()
    with request_ctx(cache_app):
        assert cache.cached("k1", a, depends_on=["ns:a"]) == "a"
        assert cache.cached("k2", b, depends_on=["ns:b"]) == "b"
    assert (a.calls, b.calls) == (1, 2)


def test_a_value_read_before_the_commit_is_not_served_after_it(cache_app):
    """The reader runs between the writer's touch and its commit and caches the old data:
    the post-commit bump makes the next reader compute again."""
    source = Source("old")
    with request_ctx(cache_app):
        cache.touch("ns:a")                                      # writer, transaction open
        with request_ctx(cache_app):                             # a reader in between
            assert cache.cached("k", source, depends_on=["ns:a"]) == "old"
        source.value = "new"
        db.session.commit()                                      # writer commits
    with request_ctx(cache_app):
        assert cache.cached("k", source, depends_on=["ns:a"]) == "new"


def test_a_lost_version_is_a_miss_never_an_old_value(cache_app, redis_url):
    """Redis restarting empty: the subscription to the announced bumps breaks with it, so the
    versions heard of are forgotten, and the next version read is a new random token."""
    source = Source("old")
    with request_ctx(cache_app):
        cache.cached("k", source, depends_on=["ns:a"])
    prefix = cache_app.extensions["anju_cache"].prefix
    redis = Redis.from_url(redis_url)
    redis.client_kill_filter(_type="pubsub")
    redis.delete(prefix + "ns:a")
    source.value = "new"
    with request_ctx(cache_app):
        assert cache.cached("k", source, depends_on=["ns:a"]) == "new"


def test_a_change_announced_by_another_process_is_seen_without_asking_redis(
        tmp_path, redis_url, cache_app):
    """Two processes (two apps with one prefix): a bump by one is heard by the other."""
    prefix = cache_app.config["CACHE_PREFIX"]
    other = build_app(tmp_path / "other", REDIS_URL=redis_url, CACHE_PREFIX=prefix)
    source = Source("old")
    with request_ctx(cache_app):
        assert cache.cached("k", source, depends_on=["ns:a"]) == "old"
    with other.app_context():
        cache.touch("ns:a", session=db.session())
        db.session.commit()
    state = cache_app.extensions["anju_cache"]
    heard = state.local.get("ns:a")
    deadline = time.monotonic() + 2
    while state.local.get("ns:a") == heard and time.monotonic() < deadline:
        state.listen()  # Redis sends it microseconds after its reply to the announcer
    client = state.client()
    client.mget = lambda *a, **k: pytest.fail("asked Redis for a version it heard of")
    try:
        source.value = "new"
        with request_ctx(cache_app):
            assert cache.cached("k", source, depends_on=["ns:a"]) == "new"
    finally:
        del client.mget
        other.extensions["anju_cache"].deaf()


def test_entries_expire_and_the_process_keeps_a_bounded_number(cache_app):
    source = Source()
    with request_ctx(cache_app):
        cache.cached("short", source, depends_on=["ns:a"], ttl=-1)
        cache.cached("short", source, depends_on=["ns:a"], ttl=-1)
    assert source.calls == 2
    with request_ctx(cache_app):
        for n in range(10):
            cache.cached(f"k{n}", Source(), depends_on=["ns:a"])
    assert len(cache_app.extensions["anju_cache"].values) == 3


def test_without_redis_nothing_is_cached(app):
    source = Source()
    with app.test_request_context("/"):
        cache.touch("ns:a")
        cache.cached("k", source, depends_on=["ns:a"])
        cache.cached("k", source, depends_on=["ns:a"])
    assert source.calls == 2


def test_redis_down_computes_every_time_and_says_so(tmp_path, caplog):
    app = build_app(tmp_path, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    source = Source()
    with app.app_context():
        db.create_all()
        with caplog.at_level(logging.WARNING, logger="anju.cache"):
            for _ in range(3):
                with app.test_request_context("/"):
                    assert cache.cached("k", source, depends_on=["ns:a"]) == "v"
                    cache.touch("ns:a")
                    db.session.commit()
        db.drop_all()
    assert source.calls == 3
    assert sum("redis unavailable for the cache" in r.message for r in caplog.records) == 1
    assert "ns:a" in app.extensions["anju_cache"].unsent  # sent once Redis answers again


def test_a_users_later_requests_fetch_every_version_in_one_round_trip(cache_app, monkeypatch):
    """Versions heard of in the last LOCAL_VERSION_SECONDS need no round trip at all; older
    ones are fetched together, the learnt ones with the first."""
    state_calls = []

    def page():
        with request_ctx(cache_app):
            cache.learn_as("user:1")
            cache.cached("a", Source(), depends_on=["user:1"])
            cache.cached("b", Source(), depends_on=["page:x"])
            cache.cached("c", Source(), depends_on=["page:y"])

    page()
    client = cache_app.extensions["anju_cache"].client()
    original = client.mget

    def counting(keys, *args):
        state_calls.append(list(keys))
        return original(keys, *args)

    client.mget = counting
    try:
        page()
        assert state_calls == []
        monkeypatch.setattr(cache, "LOCAL_VERSION_SECONDS", 0.0)
        page()
    finally:
        del client.mget
    assert len(state_calls) == 1 and len(state_calls[0]) == 3


def _state(cache_app):
    with request_ctx(cache_app):
        assert cache.enabled()  # made on first use
    return cache_app.extensions["anju_cache"]


def _versions_read(cache_app, *namespaces) -> list[list]:
    """The namespaces one request had to ask Redis for (MGET calls)."""
    client = _state(cache_app).client()
    original, calls = client.mget, []
    client.mget = lambda keys, *args: calls.append(list(keys)) or original(keys, *args)
    try:
        with request_ctx(cache_app):
            for ns in namespaces:
                cache.cached(f"value of {ns}", Source(), depends_on=[ns])
    finally:
        del client.mget
    return calls


def test_old_versions_are_used_while_the_process_hears_its_own_pings(cache_app, monkeypatch):
    monkeypatch.setattr(cache, "LOCAL_VERSION_SECONDS", 0.5)
    state = _state(cache_app)
    assert len(_versions_read(cache_app, "ns:a", "ns:b")) == 2  # first heard of: read
    time.sleep(0.6)
    assert len(_versions_read(cache_app, "ns:b")) == 1  # stale: read again, and a ping sent
    deadline = time.monotonic() + 2
    while time.monotonic() - state.heard_at > 0.5 and time.monotonic() < deadline:
        state.listen()
    assert _versions_read(cache_app, "ns:a") == []  # 0.6 s old, but the subscription works


def test_a_subscription_that_died_unnoticed_costs_at_most_local_version_seconds(
        cache_app, monkeypatch):
    monkeypatch.setattr(cache, "LOCAL_VERSION_SECONDS", 0.3)
    state = _state(cache_app)
    _versions_read(cache_app, "ns:a")
    monkeypatch.setattr(state._pubsub, "get_message", lambda *a, **k: None)  # hears nothing
    time.sleep(0.35)
    assert _versions_read(cache_app, "ns:a") == [[state.prefix + "ns:a"]]
    time.sleep(0.35)  # its ping never came back: the version is read again, every time
    assert _versions_read(cache_app, "ns:a") == [[state.prefix + "ns:a"]]


def test_pings_are_not_taken_for_namespaces(cache_app):
    state = _state(cache_app)
    _versions_read(cache_app, "ns:a")
    before = dict(state.local)
    state.announced(f"{cache.PING}someone-else\t{time.monotonic()!r}".encode())
    assert state.local == before and state.heard_at == 0.0


def test_a_prefetched_version_still_retires_values_after_a_change(cache_app):
    source = Source("old")
    for _ in range(2):
        with request_ctx(cache_app):
            cache.learn_as("user:1")
            cache.cached("user-row", Source(), depends_on=["user:1"])
            cache.cached("k", source, depends_on=["ns:a"])
    with request_ctx(cache_app):
        cache.touch("ns:a")
        db.session.commit()
    source.value = "new"
    with request_ctx(cache_app):
        cache.learn_as("user:1")
        cache.cached("user-row", Source(), depends_on=["user:1"])
        assert cache.cached("k", source, depends_on=["ns:a"]) == "new"
