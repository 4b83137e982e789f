"""Static files under URLs that change with their content, cached by browsers for a year.

`url_for('static', filename=…)` adds `v=<first 12 hex digits of the file's SHA-256>`; a
release that changes a stylesheet changes its URL, so phones never keep an old one and never
ask again for an unchanged one. Flask answers such URLs with `Cache-Control: public,
max-age=31536000, immutable` (nginx does the same: deploy/nginx/anju.conf); a URL without
the version (an old page, a bookmark) gets the one-day default with revalidation. Digests are
computed once per file per process (a code change means a restart).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache

from flask import Flask, request, url_for

YEAR = 31_536_000
DAY = 86_400


@lru_cache(maxsize=512)
def _digest(folder: str, filename: str) -> str | None:
    path = os.path.join(folder, filename)
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:12]
    except OSError:
        return None


def install(app: Flask) -> None:
    folder = app.static_folder
    built: dict[tuple[str, str], str] = {}

    def static_url(filename: str) -> str:
        """`url_for('static', filename=…)`, built once per file and script root (the layout
        links seven files on every page)."""
        key = (filename, request.script_root)
        url = built.get(key)
        if url is None:
            url = built[key] = url_for("static", filename=filename)
        return url

    app.add_template_global(static_url)

    @app.url_defaults
    def _versioned(endpoint, values):
        if endpoint == "static" and "v" not in values and "filename" in values:
            digest = _digest(folder, values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def _cache_static(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            versioned = request.args.get("v") == _digest(folder, request.view_args["filename"])
            response.cache_control.public = True
            response.cache_control.max_age = YEAR if versioned else DAY
            if versioned:
                response.cache_control.immutable = True
        return response
