"""Whole responses of chosen pages and API reads, reused for the same signed-in user.

A view marked `@per_user` (a GET page or API read built only from cached values,
services/core/cache.py) is answered from this process's copy of its last response for the same
user, address, language, time zone and session contents, as long as

- every namespace its values were read under still has the version it had (any change to the
  data they cover gives a new version: the response is made again);
- none of those values has expired, no moment the view declared (`cache.valid_until`: a slot
  opens, a booking ends) has passed, and it is at most RESPONSE_TTL seconds old (a bound for
  what the clock alone changes and nothing declared: "overdue" labels, offers' countdowns),
  unless the view is marked clock-free (it shows nothing of the kind);
- it read nothing else: a response during which a statement was sent outside a cached
  computation, a value was computed without versions (Redis unreachable), the session changed
  (a flash message shown, say), a cookie or a header other than its type was set, or whose
  status was not 200 is not kept.

So a reused response is exactly what the view would answer now, within RESPONSE_TTL for what
the clock alone changes. The user's rights are part of what it read (the user's row is a cached
value, its version changes with the role, the organisation or a suspension), rate limits and
the idle sign-out run before it, and the security headers and no-store are added after it as
for any response. The CSRF token of the session that made it is replaced by the current one.
Each process keeps at most RESPONSE_CACHE_BYTES of responses, least recently used dropped.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.engine import Engine

from services.core import cache
from services.core.i18n import current_locale, current_timezone

RESPONSE_TTL = 10.0
CSRF_MARK = b"\x1eanju-response-csrf\x1e"
KEPT_HEADERS = frozenset({"content-type", "content-length"})
KEPT_TYPES = frozenset({"text/html", "application/json"})
# Session entries that change without changing what a page shows.
VOLATILE_SESSION = frozenset({"seen", "csrf_token", "_fresh", "_permanent"})
_MARK = "_anju_per_user_response"


def per_user(view: Callable | None = None, *, clock_free: bool = False):
    """Let this GET view's responses be reused for the same user while what they read holds.

    `@per_user(clock_free=True)`: the view shows nothing that the clock alone changes (no
    countdown, no "overdue", no "now" in a query), so its responses are not bounded by
    RESPONSE_TTL; they live while every value they read holds (versions and expiry).
    """
    def mark(target: Callable) -> Callable:
        setattr(target, _MARK, not clock_free)  # True: bounded by RESPONSE_TTL
        return target

    return mark if view is None else mark(view)


@dataclass(frozen=True)
class _Entry:
    namespaces: tuple[str, ...]
    versions: tuple[str, ...]
    expires: float
    body: bytes
    content_type: str
    has_csrf: bool


class _Store:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> _Entry | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def drop(self, key: tuple) -> None:
        with self.lock:
            entry = self.entries.pop(key, None)
            if entry is not None:
                self.size -= len(entry.body)

    def put(self, key: tuple, entry: _Entry) -> None:
        if len(entry.body) > self.max_bytes // 8:
            return
        self.drop(key)
        with self.lock:
            self.entries[key] = entry
            self.size += len(entry.body)
            while self.size > self.max_bytes:
                _, old = self.entries.popitem(last=False)
                self.size -= len(old.body)


def _store() -> _Store:
    app = current_app._get_current_object()
    store = app.extensions.get("anju_responses")
    if store is None:
        store = app.extensions["anju_responses"] = _Store(
            int(app.config.get("RESPONSE_CACHE_BYTES", 16 * 2**20)))
    return store


def _session_digest() -> str:
    return repr(sorted((k, v) for k, v in session.items() if k not in VOLATILE_SESSION))


def _eligible() -> bool:
    if request.method != "GET" or request.endpoint is None:
        return False
    view = current_app.view_functions.get(request.endpoint)
    if view is None or not hasattr(view, _MARK):
        return False
    return (cache.enabled() and "_flashes" not in session
            and current_user.is_authenticated)


def _key() -> tuple:
    return (request.endpoint, request.host, request.script_root, request.full_path,
            current_user.id, str(current_locale()), str(current_timezone()), _session_digest())


def _reuse():
    """Before the view: answer with the kept response when it still holds."""
    if not _eligible():
        return None
    key = _key()
    store = _store()
    entry = store.get(key)
    if entry is not None:
        if (entry.expires > time.monotonic()
                and cache.versions_now(entry.namespaces) == entry.versions):
            body = entry.body
            if entry.has_csrf:
                body = body.replace(CSRF_MARK, generate_csrf().encode())
            return current_app.response_class(body, status=200,
                                              content_type=entry.content_type)
        store.drop(key)
    g._response_key = key
    return None


def _keep(response):
    """After the view: keep its response when it was made only of versioned values."""
    key = g.pop("_response_key", None)
    if key is None or not _keepable(response, key):
        return response
    reads = cache.request_reads()
    if reads is None:
        return response
    read, expires = reads
    if getattr(current_app.view_functions[request.endpoint], _MARK):
        expires = min(expires, time.monotonic() + RESPONSE_TTL)
    body = response.get_data()
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    has_csrf = bool(token) and token.encode() in body
    if has_csrf:
        body = body.replace(token.encode(), CSRF_MARK)
    namespaces = tuple(read)
    _store().put(key, _Entry(namespaces, tuple(read[ns] for ns in namespaces), expires, body,
                             response.content_type, has_csrf))
    return response


def _keepable(response, key: tuple) -> bool:
    return (response.status_code == 200 and not response.is_streamed
            and not response.direct_passthrough and response.mimetype in KEPT_TYPES
            and all(name.lower() in KEPT_HEADERS for name in response.headers.keys())
            and "_flashes" not in session and _session_digest() == key[-1])


def _statement_sent(conn, cursor, statement, parameters, context, executemany) -> None:
    cache.note_statement()


def install(app: Flask) -> None:
    """Register last, so that rate limits, the idle sign-out and the user's loading come first,
    and the kept response is the view's own (security headers are added to every answer)."""
    app.before_request_funcs.setdefault(None, []).insert(0, cache.begin_request)
    app.before_request(_reuse)
    app.after_request(_keep)
    if not event.contains(Engine, "before_cursor_execute", _statement_sent):
        event.listen(Engine, "before_cursor_execute", _statement_sent)
