"""Rate limits apply to the routes that declare one, and the limiter skips every other request."""
from __future__ import annotations

from unittest import mock

from flask_limiter.util import get_qualified_name

from services.extensions import limiter
from tests.api.test_auth import get_token
from tests.factories import make_user


def test_every_limited_view_is_marked(app):
    limited = {endpoint for endpoint, view in app.view_functions.items()
               if getattr(view, "rate_limited", False)}
    assert limited == {"auth.login", "auth.register", "api.token", "api.register"}
    # Every view the limiter wrapped carries the mark, so none is exempted by mistake.
    wrapped = {endpoint for endpoint, view in app.view_functions.items()
               if get_qualified_name(view) in limiter._marked_for_limiting}
    assert wrapped <= limited


def test_unlimited_routes_do_not_resolve_limits(client, app):
    manager = type(limiter.limit_manager)
    with mock.patch.object(manager, "resolve_limits", autospec=True,
                           side_effect=manager.resolve_limits) as resolve:
        assert client.get("/login").status_code == 200  # limited for POST only: resolved
        seen = resolve.call_count
        assert seen >= 1
        assert client.get("/healthz").status_code in (200, 503)
        assert client.get("/api/v1/openapi.json").status_code == 200
        assert resolve.call_count == seen


def test_limited_route_still_counts_failures(client, app):
    make_user("worker", username="limitscope")
    statuses = [get_token(client, "limitscope", "wrong-password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
