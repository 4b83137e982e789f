"""App-wide request handling: errors as pages or JSON, no-store on personal pages, template globals."""
from __future__ import annotations

import logging

from flask import Flask, g, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from services.core.errors import DomainError, Unauthorized
from services.core.web import html_error, is_api_request, json_error
from services.extensions import db

log = logging.getLogger("anju.errors")

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited", 503: "unavailable",
}
HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in first."),
    403: _l("You may not do this."),
    404: _l("Not found."),
    405: _l("This action is not allowed here."),
    413: _l("The upload is too large."),
    429: _l("Too many attempts. Please wait a minute and try again."),
    503: _l("The service is briefly unavailable. Please try again shortly."),
}


def _respond(status: int, code: str, message: str, fields: dict | None = None):
    if is_api_request():
        return json_error(status, code, message, fields)
    return html_error(status, message)


def handle_domain_error(error: DomainError):
    db.session.rollback()
    if isinstance(error, Unauthorized) and not is_api_request():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return _respond(error.status, error.code, error.message, error.fields)


def handle_integrity_error(error: IntegrityError):
    db.session.rollback()
    log.info("integrity conflict on %s %s", request.method, request.path)
    return _respond(409, "conflict", str(_l("This conflicts with a change made at the same time. "
                                            "Please reload and try again.")))


def handle_csrf_error(error: CSRFError):
    return _respond(400, "csrf_failed", str(_l("The form expired or was sent from another site. "
                                               "Please reload the page and try again.")))


def handle_http_error(error: HTTPException):
    status = error.code or 500
    if status < 400:
        return error
    message = HTTP_MESSAGES.get(status)
    response = _respond(status, HTTP_CODES.get(status, "error"), str(message or error.name))
    if status == 429 and getattr(error, "retry_after", None):
        response[0].headers["Retry-After"] = str(error.retry_after)
    return response


def handle_database_down(error: OperationalError):
    db.session.rollback()
    log.error("database unavailable: %s", type(error).__name__)
    return _respond(503, "unavailable", str(HTTP_MESSAGES[503]))


def handle_unexpected(error: Exception):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _respond(500, "server_error", str(_l("Something went wrong on our side. "
                                                "The team has been told.")))


def no_store_for_signed_in(response):
    """Pages and API answers for a signed-in user hold personal data: never cache them."""
    if request.endpoint != "static" and (
        getattr(g, "_login_user", None) is not None and current_user.is_authenticated
        or is_api_request()
    ):
        response.headers["Cache-Control"] = "no-store"
    return response


def forget_request_state(exc=None) -> None:
    """`g` belongs to one request even where the app context outlives it (tests, CLI, inline
    jobs): Flask-Login caches the user there and Flask-WTF the CSRF token."""
    for key in list(g):
        g.pop(key, None)


def template_globals() -> dict:
    from services.core.notify import unread_count

    try:
        unread = unread_count(current_user.id) if current_user.is_authenticated else 0
    except OperationalError:  # the 503 page must render while the database is down
        db.session.rollback()
        unread = 0
    locale = get_locale()
    return {"current_locale": "zh_CN" if locale.language == "zh" else "en",
            "unread_notifications": unread}


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(Exception, handle_unexpected)
    app.after_request(no_store_for_signed_in)
    app.teardown_request(forget_request_state)
    app.context_processor(template_globals)
