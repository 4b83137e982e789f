"""How a request finds its user: the session cookie for pages, a bearer token for the API.

- The cookie holds "id:session_version"; logout, a password change or a suspension bumps the
  version in the database, so a copied cookie stops working at once.
- The API never reads the cookie (its session is empty and never saved), which is why it can
  be exempt from CSRF: it authenticates only through Flask-Login's request loader.
- Staff sessions end after STAFF_IDLE_MINUTES without a request.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager, current_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import defer

from services.accounts.models import User
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


def user_from_token(token: str) -> User | None:
    max_age = current_app.config["API_TOKEN_HOURS"] * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
        user_id, version = int(data["u"]), int(data["v"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return _live_user(user_id, version)


# The signed-in user is loaded on every request; the encrypted numbers and the password hash
# are read (and decrypted) only by the few pages that use them.
_RARELY_USED = (defer(User.password_hash), defer(User.phone), defer(User.national_id),
                defer(User.national_id_hash), defer(User.last_login_at),
                defer(User.password_changed_at), defer(User.created_at))


def _live_user(user_id: int, version: int) -> User | None:
    user = db.session.get(User, user_id, options=_RARELY_USED)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


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
