"""App-wide request handling: errors as pages or JSON, no-store on personal pages, template globals.

A database that is down or drops the connection (OperationalError, or any driver error that
SQLAlchemy recognised as a disconnect) answers 503 with `Retry-After`, as a page or as JSON
`{"error": {"code": "unavailable", …}}`. The 503 page is rendered for an anonymous visitor:
loading the signed-in user would ask the same dead database again and turn the 503 into a 500.
A connection terminated *after* the work (`pg_terminate_backend`, a server restart) no longer
turns a finished answer into a 500 either: the error handlers' rollback and the session's final
rollback at teardown drop a dead connection instead of raising, and the no-store check reads
whether a user was loaded instead of reloading the user's expired attributes
(`bench/fault_drills.py` drill c, `tests/faults/`).
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, g, make_response, redirect, request, url_for
from flask_babel import get_locale
from services.core.i18n import lazy_gettext as _l
from flask_login import AnonymousUserMixin, current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
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
RETRY_AFTER_SECONDS = 5


def _rollback() -> None:
    """Undo the request's work; on a connection that is already gone there is nothing to undo."""
    try:
        db.session.rollback()
    except DBAPIError as error:
        log.warning("database connection lost during rollback (%s)", type(error).__name__)
        db.session().invalidate()  # drop the dead connection without another rollback


def _respond(status: int, code: str, message: str, fields: dict | None = None):
    if is_api_request():
        return json_error(status, code, message, fields)
    return html_error(status, message)


def handle_domain_error(error: DomainError):
    _rollback()
    if isinstance(error, Unauthorized) and not is_api_request():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return _respond(error.status, error.code, error.message, error.fields)


def handle_integrity_error(error: IntegrityError):
    _rollback()
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


def handle_database_down(error: DBAPIError):
    if not isinstance(error, OperationalError) and not error.connection_invalidated:
        return handle_unexpected(error)
    _rollback()
    log.error("database unavailable: %s", type(error).__name__)
    g._login_user = current_app.login_manager.anonymous_user()  # no second try at the database
    response = make_response(_respond(503, "unavailable", str(HTTP_MESSAGES[503])))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handle_unexpected(error: Exception):
    _rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _respond(500, "server_error", str(_l("Something went wrong on our side. "
                                                "The team has been told.")))


def no_store_for_signed_in(response):
    """Pages and API answers for a signed-in user hold personal data: never cache them."""
    user = getattr(g, "_login_user", None)  # loaded by this request; anonymous when none was
    signed_in = user is not None and not isinstance(user, AnonymousUserMixin)  # no DB round trip
    if request.endpoint != "static" and (signed_in or is_api_request()):
        response.headers["Cache-Control"] = "no-store"
    return response


def release_session(exc=None) -> None:
    """End the request's session; a connection the server already closed is dropped quietly.

    Closing rolls back, and a rollback on a connection that was terminated after the request's
    work (its commit went through or nothing was written) must not turn a finished answer into
    a 500. Runs before Flask-SQLAlchemy's own teardown, which then has nothing left to do.
    """
    try:
        db.session.remove()
    except DBAPIError as error:
        log.warning("database connection lost at the end of a request (%s)", type(error).__name__)
        db.session().invalidate()  # drop the dead connection without another rollback
        db.session.remove()


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
        _rollback()
        unread = 0
    locale = get_locale()
    return {"current_locale": "zh_CN" if locale.language == "zh" else "en",
            "unread_notifications": unread}


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DBAPIError, handle_database_down)
    app.register_error_handler(Exception, handle_unexpected)
    app.after_request(no_store_for_signed_in)
    app.teardown_request(forget_request_state)
    app.teardown_appcontext(release_session)
    app.context_processor(template_globals)
