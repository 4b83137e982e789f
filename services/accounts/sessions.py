"""How a request finds its user: the session cookie for pages, a bearer token for the API.

- The cookie holds "id:session_version"; logout, a password change or a suspension bumps the
  version in the database, so a copied cookie stops working at once.
- The API never reads the cookie (its session is empty and never saved), which is why it can
  be exempt from CSRF: it authenticates only through Flask-Login's request loader.
- Staff sessions end after STAFF_IDLE_MINUTES without a request.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, current_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from services.accounts.models import Organisation, User
from services.core import cache
from services.core.notify import inbox_namespace
from services.core.web import API_PREFIX
from services.extensions import db

TOKEN_SALT = "anju-api-token"


class PageOnlySessionInterface(SecureCookieSessionInterface):
    """Cookie sessions for pages; API requests get an empty session that is never saved."""

    def open_session(self, app, request):
        if request.path.startswith(API_PREFIX):
            return SecureCookieSession()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if request.path.startswith(API_PREFIX):
            return None
        return super().save_session(app, session, response)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def issue_token(user: User) -> tuple[str, datetime]:
    """A signed bearer token for the API, valid API_TOKEN_HOURS or until the user signs out."""
    hours = current_app.config["API_TOKEN_HOURS"]
    token = _serializer().dumps({"u": user.id, "v": user.session_version})
    expires = datetime.now(timezone.utc) + timedelta(hours=hours)
    return token, expires.replace(microsecond=0)


# Tokens whose signature this process has checked: (secret, token) -> (user id, session
# version, signed at). The signature of a given string under a given key never changes; its
# age is checked on every use.
_checked_tokens: OrderedDict[tuple[str, str], tuple[int, int, int]] = OrderedDict()
_CHECKED_TOKENS_MAX = 20_000
_checked_tokens_lock = threading.Lock()


def _token_claims(token: str) -> tuple[int, int, int] | None:
    key = (current_app.config["SECRET_KEY"], token)
    claims = _checked_tokens.get(key)
    if claims is None:
        try:
            data, signed_at = _serializer().loads(token, return_timestamp=True)
            claims = (int(data["u"]), int(data["v"]), int(signed_at.timestamp()))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        with _checked_tokens_lock:
            _checked_tokens[key] = claims
            while len(_checked_tokens) > _CHECKED_TOKENS_MAX:
                _checked_tokens.popitem(last=False)
    return claims


def user_from_token(token: str) -> User | None:
    claims = _token_claims(token)
    if claims is None:
        return None
    user_id, version, signed_at = claims
    age = time.time() - signed_at
    if age < 0 or age > current_app.config["API_TOKEN_HOURS"] * 3600:
        return None
    return _live_user(user_id, version)


# The signed-in user is needed on every request. What every request reads of it (not the
# password hash nor the encrypted numbers, which the few pages that use them load on access)
# is one row of plain columns, cached per user (services/core/cache.py) and invalidated by
# any change to the user or to an organisation (`_touch_changed_accounts`). The row becomes
# a User in the request's session without a query, so everything else works as with a
# loaded one: attributes not in the row load on first access, changes are flushed.
_USER_COLUMNS = (User.id, User.username, User.role, User.org_id, User.name, User.phone_hash,
                 User.employment_form, User.active, User.session_version)
_ORG_COLUMNS = (Organisation.kind, Organisation.code, Organisation.name, Organisation.park_id,
                Organisation.is_platform)
# Built once with a bound parameter: a statement built per call costs more than running it
# (SQLAlchemy also re-keys a cached result's columns for every new statement object).
_USER_ROW = select(*_USER_COLUMNS, *_ORG_COLUMNS).outerjoin(
    Organisation, Organisation.id == User.org_id).where(User.id == bindparam("user_id"))
ORGS_NAMESPACE = "accounts:organisations"


def user_namespace(user_id: int) -> str:
    return f"user:{user_id}"


def _user_row(user_id: int) -> tuple | None:
    # On the session's connection, past the ORM layer: plain columns need none of it.
    row = db.session.connection().execute(_USER_ROW, {"user_id": user_id}).first()
    return None if row is None else tuple(row)


# The last User built from each cached row in this process, reused while it is exactly as
# built: detached, unchanged, and with no attribute loaded or expired since (a collection loaded
# by an earlier request could be stale, so an instance that has one is not reused).
# Per thread: one instance can be in one session only.
_BUILT_MAX = 10_000
_built = threading.local()
_ORG_ID = [c.key for c in _USER_COLUMNS].index("org_id")


def _built_users() -> dict[int, tuple[tuple, User, tuple]]:
    users = getattr(_built, "users", None)
    if users is None:
        users = _built.users = {}
    return users


def _shape(obj) -> tuple:
    state = inspect(obj)
    return frozenset(state.dict), frozenset(state.expired_attributes)


def _reusable(row: tuple) -> User | None:
    built = _built_users().get(row[0])
    if built is None or built[0] is not row:
        return None
    user, shapes = built[1], built[2]
    # Read through the instances' states only: an attribute expired by an earlier request's
    # commit would try to load on a detached instance.
    state = inspect(user)
    if not state.detached or state.modified or _shape(user) != shapes[0]:
        return None
    org = state.dict.get("org")
    if org is not None:
        org_state = inspect(org)
        if (len(shapes) < 2 or not org_state.detached or org_state.modified
                or _shape(org) != shapes[1]):
            return None
    return user


def _build_user(row: tuple, org: Organisation | None) -> User:
    """A detached User from the row; its organisation `org` when the session holds it already."""
    user = User(**dict(zip((c.key for c in _USER_COLUMNS), row)))
    if user.org_id is not None and org is None:
        org = Organisation(id=user.org_id, **dict(zip(
            (c.key for c in _ORG_COLUMNS), row[len(_USER_COLUMNS):])))
        make_transient_to_detached(org)
    user.org = org
    make_transient_to_detached(user)
    return user


def _as_session_user(row: tuple) -> User:
    session = db.session()
    known = session.identity_map.get(identity_key(User, row[0]))
    if known is not None:
        return known
    org_key = None if row[_ORG_ID] is None else identity_key(Organisation, row[_ORG_ID])
    loaded_org = None if org_key is None else session.identity_map.get(org_key)
    user = None if loaded_org is not None else _reusable(row)
    if user is None:
        user = _build_user(row, loaded_org)
        if loaded_org is None:  # built whole from the row: reusable by the next request
            users = _built_users()
            if len(users) >= _BUILT_MAX:
                users.clear()
            parts = (user,) if user.org is None else (user, user.org)
            users[row[0]] = (row, user, tuple(_shape(obj) for obj in parts))
    session.add(user)
    return user


def _live_user(user_id: int, version: int) -> User | None:
    namespace = user_namespace(user_id)
    cache.prefetch(inbox_namespace(user_id))  # every page's header shows the unread count
    cache.learn_as(namespace)  # and the rest of what this user's pages read, once learnt
    row = cache.cached(namespace, lambda: _user_row(user_id),
                       depends_on=(namespace, ORGS_NAMESPACE))
    if row is None:
        return None
    user_values = dict(zip((c.key for c in _USER_COLUMNS), row))
    if not user_values["active"] or user_values["session_version"] != version:
        return None
    return _as_session_user(row)


@event.listens_for(Session, "after_flush")
def _touch_changed_accounts(session: Session, flush_context) -> None:
    """Every flushed change to a user or an organisation invalidates the cached rows."""
    namespaces = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, User) and obj.id is not None:
            namespaces.add(user_namespace(obj.id))
        elif isinstance(obj, Organisation):
            namespaces.add(ORGS_NAMESPACE)
    if namespaces:
        cache.touch(*namespaces, session=session)


def _load_from_session(identity: str) -> User | None:
    user_id, _, version = identity.partition(":")
    try:
        return _live_user(int(user_id), int(version))
    except ValueError:
        return None


def _load_from_request(req) -> User | None:
    if not req.path.startswith(API_PREFIX):
        return None
    header = req.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_from_token(token.strip())


def _end_idle_staff_session() -> None:
    """Sign staff out after a quiet spell; refresh the timestamp at most once a minute."""
    if request.endpoint in (None, "static") or request.path.startswith(API_PREFIX):
        return
    if not current_user.is_authenticated:
        return
    now = int(time.time())
    seen = session.get("seen", now)
    if current_user.is_staff and now - seen > current_app.config["STAFF_IDLE_MINUTES"] * 60:
        logout_user()
        session.clear()
        session["idle_expired"] = True
        return
    if now - seen >= 60 or "seen" not in session:
        session["seen"] = now


def init_login(app: Flask, login_manager: LoginManager) -> None:
    app.session_interface = PageOnlySessionInterface()
    login_manager.init_app(app)
    login_manager.session_protection = None  # the session version does the job, without IP ties
    login_manager.user_loader(_load_from_session)
    login_manager.request_loader(_load_from_request)
    app.before_request(_end_idle_staff_session)
