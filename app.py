"""Application factory: wires configuration, extensions, blueprints, CLI and error handling.

It creates nothing in the database and calls no network: `flask db upgrade` makes the schema
and `flask seed-demo` fills demo data.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services import extensions
from services.config import Config, config_from_env

CSP = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def create_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    """Build the Flask app. `config` is a Config class, or a dict of overrides on the env config."""
    app = Flask(__name__, instance_relative_config=True, static_folder="static",
                template_folder="templates")
    from services.core.web import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added
    if isinstance(config, type):
        app.config.from_object(config)
    else:
        app.config.from_object(config_from_env())
        app.config.update(config or {})
    _configure_logging(app)
    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"],
                                x_proto=app.config["PROXY_HOPS"], x_host=app.config["PROXY_HOPS"])
    _init_extensions(app)
    _register_blueprints(app)

    from services import cli
    from services.core import handlers, page_cache

    handlers.register(app)
    page_cache.install(app)  # after every other request hook (see its docstring)
    cli.register(app)
    return app


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _init_extensions(app: Flask) -> None:
    from services.accounts import sessions
    from services.core import chrome, i18n, locale, static_urls, storable

    extensions.db.init_app(app)
    storable.install()
    extensions.migrate.init_app(app, extensions.db, directory=str(app.root_path + "/migrations"))
    extensions.csrf.init_app(app)
    extensions.babel.init_app(app, locale_selector=locale.select_locale)
    i18n.install(app)
    static_urls.install(app)
    chrome.install(app)
    extensions.limiter.init_app(app)
    production = app.config["PRODUCTION"]
    extensions.talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=production,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )
    sessions.init_login(app, extensions.login_manager)


def _register_blueprints(app: Flask) -> None:
    import services.core.models  # noqa: F401  (the kernel's tables)
    from services.accounts.views import admin_bp, auth_bp, home_bp, profile_bp
    from services.api import api_bp

    for blueprint in (auth_bp, home_bp, profile_bp, admin_bp):
        app.register_blueprint(blueprint)
    from services.dorms.views import dorms_bp

    app.register_blueprint(dorms_bp)
    from services.bookings.views import bookings_bp
    app.register_blueprint(bookings_bp)
    from services.cases.views import cases_bp

    app.register_blueprint(cases_bp)
    from services.aid.views import aid_bp

    app.register_blueprint(aid_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    extensions.csrf.exempt(api_bp)  # bearer tokens only; the API never reads the session cookie
