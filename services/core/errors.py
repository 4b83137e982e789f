"""Domain errors and their HTTP meaning.

Operations raise these with a message a person can read; views show the message on the form,
the API turns it into `{"error": {"code", "message", "fields"}}` with the status below.
"""
from __future__ import annotations


class DomainError(Exception):
    """A rule was broken; nothing was changed."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class ValidationFailed(DomainError):
    """Input has the wrong shape or value."""

    status = 422
    code = "validation_error"


class Unauthorized(DomainError):
    """No valid credentials."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """The caller may not do this."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """No such object, or the caller may not know it exists."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The change collides with another one (taken, full, already done)."""

    status = 409
    code = "conflict"


class InvalidState(Conflict):
    """The object is not in a state that allows this step."""

    code = "invalid_state"
