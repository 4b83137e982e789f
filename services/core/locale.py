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


# --- template gettext without per-call lookups ---------------------------------------------
# Flask-Babel's template callables look up the context, the domain and the locale for every
# string; a page with a table calls them hundreds of times (28 ms of a 60 ms page). These
# fetch the request's translations once and keep them on `g` for the rest of the request.

def _translations():
    from flask import g
    from flask_babel import get_translations

    found = g.get("_anju_translations")
    if found is None:
        found = g._anju_translations = get_translations()
    return found


def _gettext(string: str) -> str:
    return _translations().ugettext(string)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _translations().ungettext(singular, plural, n)


def _pgettext(context: str, string: str) -> str:
    return _translations().upgettext(context, string)


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return _translations().unpgettext(context, singular, plural, n)


def install_template_gettext(app) -> None:
    """Replace Flask-Babel's template callables (after `babel.init_app`)."""
    app.jinja_env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, newstyle=True,
                                            pgettext=_pgettext, npgettext=_npgettext)
