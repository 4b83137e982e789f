"""A worker's first visit on a phone, and an administrator's pages, in a real browser.

Elements are found by form action, input name and button type rather than by visible text, so
the tests hold whichever language the catalogue renders (Chinese is the default).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from services.demo import DEMO_PASSWORD
from tests.e2e.conftest import check_accessibility, screenshot

pytestmark = pytest.mark.browser

WORKER = {
    "name": "王小明",
    "phone": "13912345678",
    "username": "wangxiaoming",
    "password": "anju-journey-2026",
}


def at(path: str) -> re.Pattern:
    """A URL pattern matching `path` on the live server, ignoring the query string."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def reveal(page: Page, locator):
    """The locator, after opening a collapsed header menu if the phone layout hides it."""
    if not locator.is_visible():
        toggle = page.locator("header [aria-expanded='false']").first
        if toggle.count():
            toggle.click()
    expect(locator).to_be_visible()
    return locator


def sign_in(page: Page, username: str, password: str) -> None:
    form = page.locator("main form[action='/login']")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()


def sign_out(page: Page) -> None:
    reveal(page, page.locator("header form[action='/logout'] button[type=submit]")).click()
    expect(page).to_have_url(at("/login"))


def test_worker_registers_signs_out_and_signs_in_again(phone_page: Page):
    page = phone_page
    page.goto("/")
    expect(page).to_have_url(at("/login"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    check_accessibility(page, "login")
    screenshot(page, "phone-login")

    page.locator("main a[href='/register']").first.click()
    expect(page).to_have_url(at("/register"))
    check_accessibility(page, "register")

    form = page.locator("main form[action='/register']")
    form.locator("input[name=name]").fill(WORKER["name"])
    form.locator("input[name=phone]").fill(WORKER["phone"])
    form.locator("input[name=username]").fill(WORKER["username"])
    form.locator("input[name=password]").fill(WORKER["password"])
    form.locator("input[name=confirm]").fill(WORKER["password"])
    form.locator("input[name=employment_form][value=platform]").check()
    form.locator("input[name=agree]").check()
    screenshot(page, "phone-register-filled")
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(at("/"))
    expect(page.locator("main")).to_contain_text(WORKER["name"])
    check_accessibility(page, "home (new worker)")
    screenshot(page, "phone-home-worker")

    reveal(page, page.locator("header nav a[href='/profile']")).click()
    expect(page).to_have_url(at("/profile"))
    expect(page.locator("main input[name=name]")).to_have_value(WORKER["name"])
    check_accessibility(page, "profile")
    screenshot(page, "phone-profile")

    sign_out(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    sign_in(page, WORKER["username"], WORKER["password"])
    expect(page).to_have_url(at("/"))
    expect(page.locator("main")).to_contain_text(WORKER["name"])

    sign_out(page)
    # Signed out means signed out: the home page sends the visitor back to the login page.
    page.goto("/")
    expect(page).to_have_url(at("/login"))


def test_wrong_password_shows_an_error_and_stays_on_login(phone_page: Page):
    page = phone_page
    page.goto("/login")
    sign_in(page, "admin", "not-the-password")

    expect(page).to_have_url(at("/login"))
    password = page.locator("main form[action='/login'] input[name=password]")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("header form[action='/logout']")).to_have_count(0)
    check_accessibility(page, "login with an error")
    screenshot(page, "phone-login-error")


def test_admin_opens_users_and_organisations_and_switches_to_english(phone_page: Page):
    page = phone_page
    page.goto("/login")
    sign_in(page, "admin", DEMO_PASSWORD)
    expect(page).to_have_url(at("/"))
    check_accessibility(page, "home (admin)")
    screenshot(page, "phone-home-admin")

    reveal(page, page.locator("header nav a[href='/admin/users']")).click()
    expect(page).to_have_url(at("/admin/users"))
    expect(page.locator("main")).to_contain_text("worker")
    check_accessibility(page, "admin users")
    screenshot(page, "phone-admin-users")

    reveal(page, page.locator("header nav a[href='/admin/orgs']")).click()
    expect(page).to_have_url(at("/admin/orgs"))
    expect(page.locator("main")).to_contain_text("盐城市总工会")
    check_accessibility(page, "admin organisations")
    screenshot(page, "phone-admin-orgs")

    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    chinese, english = (
        page.locator(f"form[action='/language']:has(input[name=lang][value={code}]) "
                     "button[type=submit]").first
        for code in ("zh_CN", "en")
    )
    expect(chinese).to_have_attribute("aria-current", "true")
    reveal(page, english).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(english).to_have_attribute("aria-current", "true")
    expect(chinese).not_to_have_attribute("aria-current", "true")
    expect(page).to_have_url(at("/admin/orgs"))
    check_accessibility(page, "admin organisations (English)")
    screenshot(page, "phone-admin-orgs-en")

    sign_out(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
