"""Translation and local dates for code and templates, without Flask-Babel's per-call lookups.

Flask-Babel finds the context, the domain, the locale and the translations again for every
string and every date it formats; a page with a list does that hundreds of times (a third of
the page's time). These functions take the request's translations, locale and timezone once and
keep them with the request (its WSGI environ); the results are Flask-Babel's own — same
catalogues, same locale selector, same Babel formatting. Outside a request they defer to
Flask-Babel. Code imports `gettext as _` and `lazy_gettext as _l` from here; pybabel extracts
the same keywords.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import cached_property, lru_cache

from babel import dates
from flask import Request as FlaskRequest, has_request_context, request
from flask_babel import get_locale, get_timezone, get_translations
from flask_babel.speaklater import LazyString


def _memo(key: str, make):
    if not has_request_context():
        return make()
    environ = request.environ
    found = environ.get(key)
    if found is None:
        found = environ[key] = make()
    return found


def translations():
    return _memo("anju.translations", get_translations)


def current_locale():
    return _memo("anju.locale", get_locale)


def current_timezone():
    return _memo("anju.timezone", get_timezone)


def gettext(string: str, **variables) -> str:
    text = translations().ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(singular, plural, num) % variables


def pgettext(context: str, string: str, **variables) -> str:
    text = translations().upgettext(context, string)
    return text % variables if variables else text


def npgettext(context: str, singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return translations().unpgettext(context, singular, plural, num) % variables


def lazy_gettext(string: str, **variables) -> LazyString:
    return LazyString(gettext, string, **variables)


# Formatting is a pure function of (instant, pattern, timezone, locale) and Babel's costs
# about 50 µs; list pages show the same slot and due times request after request.
@lru_cache(maxsize=8192)
def _formatted_datetime(value: datetime, format: str, tz, locale) -> str:
    return dates.format_datetime(value, format, tzinfo=tz, locale=locale)


@lru_cache(maxsize=4096)
def _formatted_date(value: date, format: str, locale) -> str:
    return dates.format_date(value, format, locale=locale)


def format_datetime(value: datetime | None = None, format: str = "medium") -> str:
    """An instant in the user's timezone (stored naive values are UTC), Babel's patterns."""
    value = value or datetime.now(timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return _formatted_datetime(value, format, current_timezone(), current_locale())


def format_date(value: date | datetime | None = None, format: str = "medium") -> str:
    if isinstance(value, datetime):
        value = value.astimezone(current_timezone()).date() if value.tzinfo else value.date()
    return _formatted_date(value or date.today(), format, current_locale())


@lru_cache(maxsize=16)
def _wtforms_catalogue(locale: str):
    from babel import support
    from wtforms.i18n import messages_path

    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class Request(FlaskRequest):
    """Flask-WTF looks for `request.wtforms_translations` and otherwise reads and parses
    WTForms' catalogue from disk on every request that builds a form; here it is read once per
    locale and process."""

    @cached_property
    def wtforms_translations(self):
        return _wtforms_catalogue(str(current_locale()))


def install(app) -> None:
    """After `babel.init_app`: templates use these callables and date filters."""
    app.request_class = Request
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n), newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n))
    app.jinja_env.filters.update(datetimeformat=format_datetime, dateformat=format_date)
