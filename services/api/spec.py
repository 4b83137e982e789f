"""Serves the OpenAPI document."""
from __future__ import annotations

from flask import current_app

from services.api import api_bp
from services.api.docs import build_spec
from services.core.access import public


@api_bp.route("/openapi.json", methods=["GET"])
@public
def openapi():
    cached = current_app.extensions.get("anju_openapi")
    if cached is None:
        cached = current_app.extensions["anju_openapi"] = build_spec(current_app)
    return cached
