"""Browser tests: a live Anju server on a migrated, seeded SQLite file and headless Chromium.

The server is built like the other tests' app (tests/conftest.py `build_app`, ANJU_ENV=testing)
but its schema comes from the real Alembic migrations, not `db.create_all()`, so these tests
also prove that the migrations make a schema the pages work on. Rate limits stay on.

Chromium is the Debian package at /usr/bin/chromium (never `playwright install`): missing, it
skips these tests locally and fails them under CI=true.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import build_app, require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "locale": "zh-CN",
}
BLOCKING_IMPACTS = {"serious", "critical"}
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config, items):
    """Every test in tests/e2e drives a browser."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app on a file database made by `flask db upgrade` and filled with the small demo set."""
    from flask_migrate import upgrade

    from services import demo
    from services.extensions import db

    folder = tmp_path_factory.mktemp("e2e")
    application = build_app(folder, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'e2e.db'}")
    with application.app_context():
        upgrade()
        demo.seed_small()
        db.session.commit()
        db.session.remove()
    return application


@pytest.fixture(scope="session")
def live_server(live_app):
    """The base URL of the app served by werkzeug on a free port in a daemon thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    require(CHROMIUM.exists(), f"Chromium ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def phone_page(browser, live_server):
    """A fresh page (no cookies) on a phone-sized touch screen, in a Chinese browser."""
    context = browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def check_accessibility(page, name: str) -> None:
    """Fail when axe-core finds a serious or critical violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    lines = []
    for violation in blocking:
        targets = [" ".join(map(str, node.get("target", []))) for node in violation["nodes"][:3]]
        more = len(violation["nodes"]) - len(targets)
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation.get('help', '')}; "
            f"nodes: {targets}" + (f" and {more} more" if more > 0 else "")
        )
    assert not blocking, (
        f"accessibility violations on {name} ({page.url}):\n" + "\n".join(lines)
    )


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG to test-artifacts/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
