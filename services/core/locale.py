"""Locale choice: Chinese by default; English when the visitor chose it (a `lang` cookie).

The browser's Accept-Language is deliberately ignored: the platform's users and staff work in
Chinese, and a page must not change language because a phone happens to be set to English.
"""
from __future__ import annotations

from flask import current_app, has_request_context, request

LANG_COOKIE = "lang"


def select_locale() -> str:
    chosen = request.cookies.get(LANG_COOKIE) if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]
