"""Reading JSON bodies and query strings through schemas, and writing paginated answers."""
from __future__ import annotations

from typing import Any

from flask import request
from services.core.i18n import gettext as _
from marshmallow import Schema, ValidationError

from services.core.errors import DomainError, ValidationFailed
from services.core.pagination import Page
from services.core.storable import is_broken_text


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"


def _flatten(messages: Any) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in (messages.items() if isinstance(messages, dict) else [("_", messages)]):
        if isinstance(value, dict):
            for sub, text in _flatten(value).items():
                flat[f"{key}.{sub}"] = text
        else:
            flat[str(key)] = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return flat


def _unstorable_text(value: Any, path: str = "") -> dict[str, str]:
    """Fields whose text holds NUL or a lone surrogate (JSON can escape both: "\\u0000",
    "\\ud800"); no database stores them and no driver can even send the second in a query."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items()
                for k, v in _unstorable_text(item, f"{path}.{key}" if path else str(key)).items()}
    if isinstance(value, list):
        return {k: v for index, item in enumerate(value)
                for k, v in _unstorable_text(item, f"{path}.{index}" if path else str(index)).items()}
    if isinstance(value, str) and is_broken_text(value):
        return {path or "_": _("The text contains a character that is not allowed.")}
    return {}


def _refuse_unstorable(data: Any) -> None:
    bad = _unstorable_text(data)
    if bad:
        raise ValidationFailed(_("Some fields are not valid."), fields=bad)


def load_body(schema: type[Schema]) -> dict:
    """The request's JSON object validated by `schema`; 400 for no/broken JSON, 422 for bad fields
    (text with NUL or a lone surrogate included)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise MalformedJson(_("Send a JSON object with Content-Type: application/json."))
    _refuse_unstorable(body)
    try:
        return schema().load(body)
    except ValidationError as error:
        raise ValidationFailed(_("Some fields are not valid."), fields=_flatten(error.messages)) from None


def load_query(schema: type[Schema]) -> dict:
    _refuse_unstorable(request.args.to_dict())
    try:
        return schema().load(request.args.to_dict())
    except ValidationError as error:
        raise ValidationFailed(_("Some parameters are not valid."),
                               fields=_flatten(error.messages)) from None


def page_body(page: Page, items: list[dict]) -> dict:
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}
