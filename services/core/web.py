"""Request plumbing shared by all blueprints: error rendering, safe redirects, API detection."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, jsonify, render_template, request
from werkzeug.routing import IntegerConverter

from services.core.errors import DomainError

API_PREFIX = "/api/"
# Ids are INTEGER columns: 32 bits on PostgreSQL, which refuses a larger parameter (a 500).
LARGEST_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a number no row id can be is no match (404), not a 500."""

    def __init__(self, map, fixed_digits=0, min=None, max=LARGEST_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def html_error(status: int, message: str):
    return render_template("errors/error.html", status=status, message=message), status


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only (a path, no scheme or host, no '//' or '\\' tricks)."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    return target


def show_errors(form, error: DomainError) -> None:
    """Put a DomainError's messages next to the fields they concern (or on top of the form)."""
    placed = False
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
            placed = True
    if not placed:
        flash(error.message, "error")
