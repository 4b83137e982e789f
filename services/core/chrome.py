"""The site header, rendered once per process for each combination of what it shows.

The header (brand, language switch, menu, unread badge, sign-out) depends only on the language,
whether someone is signed in and their role, the page's endpoint (the current menu entry), the
unread count and the script root; it is rendered once per such key (templates/_site_header.html)
and kept in this process. The two things that differ per request are filled in afterwards: the
CSRF token of the language and sign-out forms, and the current path the language switch returns
to (escaped). Nothing in it comes from the database, so nothing can go stale: a change in the
unread count is a different key.
"""
from __future__ import annotations

from collections import OrderedDict

from flask import Flask, current_app, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from services.core.i18n import current_locale

CSRF_MARK = "\x1eanju-csrf\x1e"
HERE_MARK = "\x1eanju-here\x1e"
MAX_HEADERS = 2048
_headers: OrderedDict[tuple, str] = OrderedDict()


def _render(key: tuple, unread: int) -> str:
    html = _headers.get(key)
    if html is None:
        # Rendered with exactly what it may show (not through render_template, whose context
        # processors would read the unread count again).
        template = current_app.jinja_env.get_template("_site_header.html")
        html = template.render(
            current_user=current_user, request=request, unread_notifications=unread,
            current_locale="zh_CN" if current_locale().language == "zh" else "en",
            csrf_mark=Markup(CSRF_MARK), here_mark=Markup(HERE_MARK))
        _headers[key] = html
        while len(_headers) > MAX_HEADERS:
            _headers.popitem(last=False)
    return html


def site_header(unread: int = 0) -> Markup:
    user = current_user
    role = user.role.value if user.is_authenticated else None
    key = (str(current_locale()), role, request.endpoint, unread, request.script_root)
    here = request.full_path.rstrip("?")
    html = _render(key, unread)
    return Markup(html.replace(CSRF_MARK, generate_csrf())
                  .replace(HERE_MARK, str(escape(here))))


def install(app: Flask) -> None:
    app.add_template_global(site_header)
