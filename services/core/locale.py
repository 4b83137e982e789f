"""Locale choice: Chinese by default; English when the visitor chose it (a `lang` cookie).

The browser's Accept-Language is deliberately ignored: the platform's users and staff work in
Chinese, and a page must not change language because a phone happens to be set to English.
"""
from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import current_app, has_request_context, request

LANG_COOKIE = "lang"


def select_locale() -> Locale:
    chosen = request.cookies.get(LANG_COOKIE) if has_request_context() else None
    if chosen not in current_app.config["LANGUAGES"]:
        chosen = current_app.config["BABEL_DEFAULT_LOCALE"]
    return _parsed(chosen)


@lru_cache(maxsize=8)
def _parsed(code: str) -> Locale:
    """Parsing a locale name costs more than the rest of the locale lookup: parse each once."""
    return Locale.parse(code)

