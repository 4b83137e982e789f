"""Static URLs carry a content digest and are cached for a year; unversioned ones for a day."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import url_for

STATIC = Path(__file__).resolve().parents[2] / "static"


def test_static_urls_carry_the_file_digest_and_are_cached_for_a_year(app, client):
    with app.test_request_context("/"):
        url = url_for("static", filename="css/anju.css")
    digest = hashlib.sha256((STATIC / "css/anju.css").read_bytes()).hexdigest()[:12]
    assert url == f"/static/css/anju.css?v={digest}"
    response = client.get(url)
    assert response.status_code == 200
    assert response.cache_control.max_age == 31_536_000
    assert response.cache_control.immutable
    response.close()


def test_an_old_or_missing_version_is_cached_for_a_day_only(client):
    for url in ("/static/css/anju.css", "/static/css/anju.css?v=000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.cache_control.max_age == 86_400
        assert not response.cache_control.immutable
        response.close()


def test_pages_link_the_versioned_files(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/static/css/anju.css?v=' in html
    assert 'src="/static/js/anju.js?v=' in html


def test_a_missing_file_is_a_404_without_a_version(app, client):
    with app.test_request_context("/"):
        assert url_for("static", filename="css/nope.css") == "/static/css/nope.css"
    assert client.get("/static/css/nope.css").status_code == 404
