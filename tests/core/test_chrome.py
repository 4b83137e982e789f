"""The site header is rendered once per key; the CSRF token and the path are per request."""
from __future__ import annotations

import re

from services.core import chrome
from tests.conftest import login
from tests.factories import make_user

NEXT_RE = re.compile(r'name="next" value="([^"]*)"')
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


def test_the_language_switch_returns_to_this_page_escaped(app, client):
    html = client.get('/login?next=/x"><script>').get_data(as_text=True)
    assert chrome.HERE_MARK not in html and chrome.CSRF_MARK not in html
    assert NEXT_RE.findall(html) == ["/login?next=/x&#34;&gt;&lt;script&gt;"] * 2


def test_each_session_gets_its_own_token_in_the_header(app):
    make_user("worker", username="wang")
    make_user("worker", username="lili")
    tokens = []
    for name in ("wang", "lili"):
        client = app.test_client()
        login(client, name)
        html = client.get("/").get_data(as_text=True)
        header = html.split("</header>")[0]
        found = set(TOKEN_RE.findall(header))
        assert len(found) == 1 and chrome.CSRF_MARK not in html
        tokens.append(found.pop())
    assert tokens[0] != tokens[1]


def test_the_header_follows_role_page_language_and_unread_count(app):
    from services.core import notify
    from services.extensions import db

    worker = make_user("worker", username="wang")
    client = app.test_client()
    login(client, "wang")
    home = client.get("/").get_data(as_text=True).split("</header>")[0]
    assert 'href="/services"' in home and 'class="badge"' not in home
    menu = home.split("<nav", 1)[1]
    assert 'aria-current="page">' in menu.split('href="/"', 1)[1][:40]
    services = client.get("/services").get_data(as_text=True).split("</header>")[0]
    assert 'aria-current="page"' in services.split('href="/services"', 1)[1][:40]
    notify.send(user_id=worker.id, kind="test", title="Hi")
    db.session.commit()
    assert 'class="badge">1' in client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get("/").get_data(as_text=True).split("</header>")[0]
    assert "Sign out" in english
    client.set_cookie("lang", "zh_CN")
    assert "退出" in client.get("/").get_data(as_text=True).split("</header>")[0]
    make_user("park_manager", username="mgr")
    manager = app.test_client()
    login(manager, "mgr")
    header = manager.get("/").get_data(as_text=True).split("</header>")[0]
    assert 'href="/services"' not in header and 'href="/dorms/manage"' in header
