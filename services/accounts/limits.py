"""Sign-in rate limits, shared by the login page and the API token endpoint.

Only failed attempts count (answers with status 401); the sixth failure within a minute, per
client address and per account name, gets 429. Storage is Redis when REDIS_URL is set, so the
limit holds across gunicorn workers.

No default or application-wide limit is configured: only the routes decorated here are limited,
and every other request is exempted before the limiter resolves anything (`_unlimited_route`),
which spares each page and API read the limiter's per-request work.
"""
from __future__ import annotations

from flask import current_app, request

from services.extensions import client_address, limiter


def _marked(limit):
    """The limiter's decorator, and a mark on the view that `_unlimited_route` looks for
    (like `public`, an attribute on the view, which the other decorators keep)."""
    def decorator(view):
        limited = limit(view)
        limited.rate_limited = True
        return limited
    return decorator


@limiter.request_filter
def _unlimited_route() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, "rate_limited", False)


def _per_minute() -> str:
    return f"{current_app.config['LOGIN_FAILURES_PER_MINUTE']} per minute"


def _account_key() -> str:
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else ""
    else:
        name = request.form.get("username", "")
    return "account:" + (name if isinstance(name, str) else "").strip().lower()[:40]


def _failed(response) -> bool:
    return response.status_code == 401


login_per_address = _marked(limiter.shared_limit(
    _per_minute, scope="login-address", key_func=client_address, deduct_when=_failed,
    methods=["POST"],
))
login_per_account = _marked(limiter.shared_limit(
    _per_minute, scope="login-account", key_func=_account_key, deduct_when=_failed,
    methods=["POST"],
))


def _registrations_per_hour() -> str:
    return f"{current_app.config['REGISTRATIONS_PER_HOUR']} per hour"


# Self-registration from one address (a shared dormitory Wi-Fi counts as one) is capped so
# that nobody can mass-create accounts; every attempt counts.
registrations_per_address = _marked(limiter.shared_limit(
    _registrations_per_hour, scope="register-address", key_func=client_address, methods=["POST"],
))
