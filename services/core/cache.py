"""Read caching that is never stale: values kept in this process, versions kept in Redis.

A value is cached under its key *and* the current version of every namespace it depends on
(`cached(key, compute, depends_on=[...])`). An operation that changes what a namespace covers
calls `touch(namespace)` in its transaction: right after the transaction commits the version is
replaced, so no request computes from the database again under a version it read before:

- a reader reads the versions first, then the database (PostgreSQL's READ COMMITTED gives each
  statement a fresh snapshot; SQLite transactions here are IMMEDIATE, so none overlaps a
  writer's). A reader that saw the old version stores what it read under the old version,
  which the bump after the commit retires; one that saw the new version reads committed data.
  Touches of a transaction that rolled back are sent with the session's next commit (a
  savepoint's rollback must not drop those of the enclosing transaction): one needless
  recomputation, never a stale value.
- versions are random tokens, not counters: a Redis that restarts empty (or evicts a version,
  which expires after a day anyway) can only cause a miss, never bring back an old version
  under which a process still holds old data.
- each entry also expires after `ttl` seconds (300 by default), a bound for the gaps left: a
  process killed between its commit and its post-commit bump, and a change committed while
  Redis was unreachable, read afterwards by a process that held a value from before the outage
  and did not itself notice the outage (every process that notices one forgets its values; the
  writer sends its lost bumps on its first Redis round trip after it).

- versions are usually known without a round trip: every bump is also announced (PUBLISH on
  CHANNEL, in the same round trip as the SET), and each process listens, applying what was
  announced at the start of each request's first lookup (a read that does not wait). Redis
  sends an announcement to the listeners in the same pass as its reply to the announcer
  (microseconds apart), so a request that starts after a change was answered (a redirect after
  a POST, say) hears of it. A version heard of (read or announced) is used while the
  subscription is known to have worked in the last LOCAL_VERSION_SECONDS: each process
  announces a ping of its own on the channel when it asks Redis for versions anyway (at most
  every LOCAL_VERSION_SECONDS / 2), and hearing it back means every announcement made before
  it was heard too — so a version is at most LOCAL_VERSION_SECONDS behind even if the
  subscription died unnoticed, without reading each namespace again every few seconds. A
  subscription that breaks (Redis restarted, say) is noticed on the next read and the
  versions heard of are forgotten.

Without `REDIS_URL` nothing is cached (several worker processes could not agree on versions),
and when Redis fails or hangs the cache steps aside for a few seconds: `compute()` runs every
time, the site stays correct and the log says so once per outage.

Values are shared by every request of the process: they must be immutable plain data (tuples,
frozen dataclasses, str/int/datetime), never ORM objects. Each process keeps at most
`CACHE_MAX_ENTRIES` values (least recently used dropped first).
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Callable, Iterable, TypeVar

from flask import current_app, g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
log = logging.getLogger("anju.cache")

VERSION_PREFIX = "anju:cache:v:"
VERSION_SECONDS = 86_400
OUTAGE_BACKOFF_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.25  # a hung Redis must cost a page a quarter second, once per outage
_PENDING = "anju_cache_touched"
LEARNED_USERS = 10_000
CHANNEL = "anju:cache:bumps"
# A version heard of (read or announced) is used without asking Redis while this process heard
# its own ping back within this long: the bound for a subscription that died unnoticed.
LOCAL_VERSION_SECONDS = 2.0
PING = "!ping\t"  # announcements: "namespace\ttoken" lines, or a ping "!ping\twho\tsent at"
LOCAL_MAX = 200_000  # versions heard of, per process (all forgotten when there are more)
LEARNED_NAMESPACES = 32


class _ProcessCache:
    """The values of one app in one process, and its Redis client (created after the fork)."""

    def __init__(self, url: str, max_entries: int, prefix: str) -> None:
        self.url, self.max_entries, self.prefix = url, max_entries, prefix
        self.values: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self.lock = threading.Lock()
        self._client = None
        self.down_until = 0.0
        self.unsent: set[str] = set()  # bumps that failed during an outage, sent when it ends
        # per signed-in user: the namespaces their requests read, fetched up front next time
        self.learned: OrderedDict[str, set[str]] = OrderedDict()
        # versions known without asking Redis: every bump is announced on CHANNEL, which this
        # process listens to; (version, when it was last confirmed) per namespace
        self.local: dict[str, tuple[str, float]] = {}
        self.heard_at = 0.0  # every announcement made before this moment has been heard
        self.pinged_at = 0.0
        self._pubsub = None
        self._pid = os.getpid()  # a subscription is never shared with a forked child
        self._me = secrets.token_hex(8)  # whose pings are this subscription's own
        self.listen_lock = threading.Lock()

    def client(self):
        if self._client is None:
            from redis import Redis

            self._client = Redis.from_url(self.url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                          socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        return self._client

    def channel(self) -> str:
        return self.prefix + CHANNEL

    def listen(self) -> bool:
        """Apply the bumps other processes announced since the last look (without waiting);
        False when not listening (the local versions are then not used)."""
        from redis.exceptions import RedisError

        with self.listen_lock:
            if self._pid != os.getpid():
                self._pubsub, self._pid = None, os.getpid()
                self._me = secrets.token_hex(8)
                self.forget_heard()
            try:
                return self._listen()
            except (RedisError, OSError):
                self.deaf()
                return False

    def _listen(self) -> bool:
        if self._pubsub is None:
            pubsub = self.client().pubsub()
            pubsub.subscribe(self.channel())
            reply = pubsub.get_message(timeout=REDIS_TIMEOUT_SECONDS)
            if not reply or reply["type"] != "subscribe":
                pubsub.close()
                return False
            self.forget_heard()  # bumps may have been missed before this subscription
            self._pubsub = pubsub
        while (message := self._pubsub.get_message(timeout=0)) is not None:
            if message["type"] == "message":
                self.announced(message["data"])
        return True

    def announced(self, data: bytes) -> None:
        now = time.monotonic()
        text = data.decode()
        if text.startswith(PING):
            who, _, sent_at = text[len(PING):].partition("\t")
            if who == self._me:  # other processes' pings say nothing about this one
                self.heard_at = max(self.heard_at, float(sent_at))
            return
        self._bound_local()
        for line in text.split("\n"):
            ns, _, token = line.partition("\t")
            self.local[ns] = (token.encode(), now)

    def ping(self, now: float) -> None:
        """Announce a ping of this process (at most every half LOCAL_VERSION_SECONDS): heard
        back, it shows the subscription worked until `now`."""
        if self._pubsub is not None and now - self.pinged_at >= LOCAL_VERSION_SECONDS / 2:
            self.pinged_at = now
            self.client().publish(self.channel(), f"{PING}{self._me}\t{now!r}")

    def _bound_local(self) -> None:
        if len(self.local) > LOCAL_MAX:
            self.local.clear()

    def forget_heard(self) -> None:
        self.local.clear()
        self.heard_at = self.pinged_at = 0.0

    def read(self, ns: str, version: str) -> None:
        """A version read from Redis: usable without asking again while listening."""
        if self._pubsub is not None:
            self._bound_local()
            self.local[ns] = (version, time.monotonic())

    def deaf(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:  # noqa: BLE001 (a dead connection may fail to close)
                pass
        self._pubsub = None
        self.forget_heard()

    def known_locally(self, ns: str, now: float) -> str | None:
        entry = self.local.get(ns)
        if entry is None or (now - entry[1] > LOCAL_VERSION_SECONDS
                             and now - self.heard_at > LOCAL_VERSION_SECONDS):
            return None
        return entry[0]

    def available(self) -> bool:
        return time.monotonic() >= self.down_until

    def failed(self, error: Exception) -> None:
        """Step aside for a while and forget every value: during the outage versions may not
        move although the data does."""
        if self.available():
            log.warning("redis unavailable for the cache (%s): reading the database directly "
                        "for %.0f s", type(error).__name__, OUTAGE_BACKOFF_SECONDS)
        self.down_until = time.monotonic() + OUTAGE_BACKOFF_SECONDS
        self.deaf()
        with self.lock:
            self.values.clear()

    def get(self, key: tuple) -> tuple[float, object] | None:
        """(expiry, value), or None when absent or expired."""
        with self.lock:
            entry = self.values.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self.values[key]
                return None
            self.values.move_to_end(key)
            return entry

    def put(self, key: tuple, value: object, ttl: float) -> None:
        with self.lock:
            self.values[key] = (time.monotonic() + ttl, value)
            self.values.move_to_end(key)
            while len(self.values) > self.max_entries:
                self.values.popitem(last=False)


def _state() -> _ProcessCache | None:
    app = current_app._get_current_object()
    state = app.extensions.get("anju_cache")
    if state is None and app.config.get("REDIS_URL") and app.config.get("CACHE_ENABLED", True):
        state = _ProcessCache(app.config["REDIS_URL"], int(app.config.get("CACHE_MAX_ENTRIES", 5000)),
                              VERSION_PREFIX + app.config.get("CACHE_PREFIX", ""))
        app.extensions["anju_cache"] = state
    return state


def _versions(state: _ProcessCache, namespaces: tuple[str, ...]) -> tuple[str, ...] | None:
    """The current version of each namespace, read once per request (one Redis round trip)."""
    known: dict[str, str] = g.setdefault("_cache_versions", {})
    wanted = dict.fromkeys((*namespaces, *g.pop("_cache_prefetch", ())))
    missing = [ns for ns in wanted if ns not in known]
    if missing and state.listen():
        now = time.monotonic()
        for ns in missing:
            version = state.known_locally(ns, now)
            if version is not None:
                known[ns] = version
        missing = [ns for ns in missing if ns not in known]
    if missing:
        from redis.exceptions import RedisError

        try:
            client = state.client()
            if state.unsent:
                _send_bumps(state, set(state.unsent))
            state.ping(time.monotonic())
            found = client.mget([state.prefix + ns for ns in missing])
            fresh = {ns: secrets.token_hex(8) for ns, value in zip(missing, found) if value is None}
            if fresh:
                pipe = client.pipeline(transaction=False)
                for ns, token in fresh.items():
                    pipe.set(state.prefix + ns, token, nx=True, ex=VERSION_SECONDS)
                    pipe.get(state.prefix + ns)
                replies = pipe.execute()
                for ns, value in zip(fresh, replies[1::2]):
                    fresh[ns] = value
            for ns, value in zip(missing, found):
                known[ns] = fresh.get(ns) if value is None else value
                state.read(ns, known[ns])
        except (RedisError, OSError) as error:
            state.failed(error)
            return None
    learner = g.get("_cache_learner")
    if learner is not None:
        with state.lock:
            seen = state.learned.get(learner)
            if seen is None:
                seen = state.learned[learner] = set()
                while len(state.learned) > LEARNED_USERS:
                    state.learned.popitem(last=False)
            if len(seen) < LEARNED_NAMESPACES:
                seen.update(namespaces)
    return tuple(known[ns] for ns in namespaces)


def prefetch(*namespaces: str) -> None:
    """Namespaces this request will ask for: read with the next version lookup, in one round
    trip (the signed-in user's loader names the user's inbox, say)."""
    if has_app_context():
        g.setdefault("_cache_prefetch", []).extend(namespaces)


def learn_as(learner: str) -> None:
    """Remember the namespaces this request reads under `learner` (the signed-in user), and
    fetch the ones earlier requests of theirs read together with the first lookup: a page
    then costs one Redis round trip, not one per layer (user, header, page). Fetching a
    version early is always safe: it is read before any data, as a late one would be."""
    state = _state()
    if state is None or not has_app_context():
        return
    g._cache_learner = learner
    with state.lock:
        seen = state.learned.get(learner)
        if seen is not None:
            state.learned.move_to_end(learner)
            prefetch(*seen)


def cached(key: str, compute: Callable[[], T], *, depends_on: Iterable[str],
           ttl: float = 300.0) -> T:
    """compute(), or its value from an earlier request while no namespace has been touched."""
    state = _state()
    if state is None or not state.available():
        _note_unversioned()
        return _computed(compute)
    namespaces = tuple(depends_on)
    versions = _versions(state, namespaces)
    if versions is None:
        _note_unversioned()
        return _computed(compute)
    full_key = (key, namespaces, versions)
    _note_read(namespaces, versions)
    entry = state.get(full_key)
    if entry is not None:
        _note_expiry(entry[0])
        return entry[1]  # type: ignore[return-value]
    value = _computed(compute)
    state.put(full_key, value, ttl)
    _note_expiry(time.monotonic() + ttl)
    return value


# --- what a request read: for whole responses reused per user (services/core/page_cache.py) ---
# Every request notes the namespace versions its cached values were read under, the earliest
# moment one of them expires, whether a value was computed without versions (cache off or
# Redis unreachable) and whether a statement was sent outside a cached computation. A response
# made only of versioned values can be reused while those versions hold.

def _computed(compute: Callable[[], T]) -> T:
    if not has_app_context():
        return compute()
    g._cache_computing = g.get("_cache_computing", 0) + 1
    try:
        return compute()
    finally:
        g._cache_computing -= 1


def _note_read(namespaces: tuple[str, ...], versions: tuple[str, ...]) -> None:
    g.setdefault("_cache_read", {}).update(zip(namespaces, versions))


def _note_expiry(moment: float) -> None:
    if moment < g.get("_cache_expires", float("inf")):
        g._cache_expires = moment


def _note_unversioned() -> None:
    if has_app_context():
        g._cache_unversioned = True


def note_statement() -> None:
    """A statement is being sent: outside a cached computation, the request read (or wrote)
    something no version covers."""
    if has_app_context() and not g.get("_cache_computing"):
        g._cache_unversioned = True


def valid_until(moment: datetime) -> None:
    """What this request shows changes by itself at `moment` (a slot opens, a booking ends)."""
    if has_app_context():
        if moment.tzinfo is None:  # stored as UTC without a zone (SQLite)
            moment = moment.replace(tzinfo=timezone.utc)
        _note_expiry(time.monotonic() + (moment - datetime.now(timezone.utc)).total_seconds())


def begin_request() -> None:
    """Forget what an earlier request of the same app context read (tests push one context
    around many requests; in production each request has its own)."""
    for name in ("_cache_versions", "_cache_read", "_cache_expires", "_cache_unversioned",
                 "_cache_computing"):
        g.pop(name, None)


def request_reads() -> tuple[dict[str, str], float] | None:
    """The namespace versions this request's cached values were read under and when the first
    of them expires; None if it read anything else (or computed without versions)."""
    if g.get("_cache_unversioned"):
        return None
    return dict(g.get("_cache_read", {})), g.get("_cache_expires", float("inf"))


def versions_now(namespaces: tuple[str, ...]) -> tuple[str, ...] | None:
    """The current versions (None when the cache is off or Redis unreachable)."""
    state = _state()
    if state is None or not state.available():
        return None
    return _versions(state, namespaces)


def enabled() -> bool:
    state = _state()
    return state is not None and state.available()


def _send_bumps(state: _ProcessCache, names: set[str]) -> None:
    """New versions, set and announced to every process in one round trip."""
    tokens = {ns: secrets.token_hex(8) for ns in names}
    pipe = state.client().pipeline(transaction=False)
    for ns, token in tokens.items():
        pipe.set(state.prefix + ns, token, ex=VERSION_SECONDS)
    announcement = "\n".join(f"{ns}\t{token}" for ns, token in tokens.items())
    pipe.publish(state.channel(), announcement)
    pipe.execute()
    state.unsent -= names
    state.announced(announcement.encode())  # this process knows at once


def _bump(namespaces: Iterable[str]) -> None:
    state = _state()
    if state is None:
        return
    from redis.exceptions import RedisError

    names = set(namespaces) | state.unsent
    try:
        _send_bumps(state, names)
    except (RedisError, OSError) as error:
        state.unsent |= names  # sent by this process's first Redis round trip after the outage
        state.failed(error)
    known = g.get("_cache_versions")
    if known is not None:
        for ns in names:
            known.pop(ns, None)


def touch(*namespaces: str, session: Session | None = None) -> None:
    """Namespaces whose data the current transaction (of `session`, the request's session by
    default) changes: they get new versions once it commits (one Redis round trip for all)."""
    if not namespaces or not has_app_context() or _state() is None:
        return
    if session is None:
        from services.extensions import db

        session = db.session()
    session.info.setdefault(_PENDING, set()).update(namespaces)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending and has_app_context():
        _bump(pending)
