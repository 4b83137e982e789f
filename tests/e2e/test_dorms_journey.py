"""Dormitory journey in a real browser: a manager imports rooms, a worker applies on a phone and
sees their queue position, the manager runs a dry run and commits, the worker accepts the offer."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from services.demo import DEMO_PASSWORD
from tests.e2e.conftest import PHONE, TIMEOUT_MS, check_accessibility, screenshot
from tests.e2e.test_account_journey import at, sign_in

pytestmark = pytest.mark.browser

ROOMS_CSV = """building,room,floor,gender,capacity,kind,smoking,area_m2,rent_yuan,reserved_for,status
D,101,1,F,2,standard,no,16,260,,
D,102,1,M,2,standard,no,16,260,,
"""


def new_page(browser, live_server, **options) -> Page:
    context = browser.new_context(base_url=live_server, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def test_apply_allocate_accept(browser, live_server, tmp_path):
    manager = new_page(browser, live_server, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    manager.on("dialog", lambda dialog: dialog.accept())  # "Make the offers now?"
    manager.goto("/login")
    sign_in(manager, "manager", DEMO_PASSWORD)
    manager.goto("/dorms/manage/import")
    check_accessibility(manager, "dorms-import")
    csv_file = tmp_path / "rooms-d.csv"
    csv_file.write_text(ROOMS_CSV, "utf-8")
    manager.locator("input[type=file][name=file]").set_input_files(str(csv_file))
    manager.locator("form[action='/dorms/manage/import'] button[type=submit]").click()
    confirm = manager.locator("form[action='/dorms/manage/import/confirm'] button[type=submit]")
    expect(confirm).to_be_visible()
    screenshot(manager, "desktop-dorms-import-preview")
    confirm.click()
    expect(manager).to_have_url(at("/dorms/manage/rooms"))
    # The list shows 20 rooms a page; the new building is found with the building filter.
    manager.locator("main select[name=building]").select_option("D")
    manager.locator("main form.filter-form button[type=submit]").click()
    expect(manager.locator("main")).to_contain_text("D-101")
    check_accessibility(manager, "dorms-rooms")

    worker = new_page(browser, live_server, **PHONE)
    worker.goto("/login")
    sign_in(worker, "worker", DEMO_PASSWORD)
    worker.goto("/dorms/")
    check_accessibility(worker, "dorms-index")
    worker.locator("a[href^='/dorms/apply/']").first.click()
    form = worker.locator("main form[action^='/dorms/apply/']")
    form.locator("input[name=gender][value=F]").check()
    form.locator("input[name=max_rent_yuan]").fill("280")
    form.locator("select[name=building_1]").select_option("D")
    check_accessibility(worker, "dorms-apply")
    screenshot(worker, "phone-dorms-apply")
    form.locator("button[type=submit]").click()
    expect(worker).to_have_url(re.compile(r"/dorms/applications/\d+$"))
    application_url = worker.url
    expect(worker.locator("main")).to_contain_text("1")
    check_accessibility(worker, "dorms-application")
    screenshot(worker, "phone-dorms-queued")

    manager.goto("/dorms/manage/runs")
    manager.locator("main form[action='/dorms/manage/runs'] button[type=submit]").click()
    expect(manager).to_have_url(re.compile(r"/dorms/manage/runs/\d+$"))
    check_accessibility(manager, "dorms-run-preview")
    screenshot(manager, "desktop-dorms-dry-run")
    manager.locator("main form[action='/dorms/manage/runs'] button[type=submit]").click()
    expect(manager).to_have_url(re.compile(r"/dorms/manage/runs/\d+$"))

    worker.goto(application_url)
    accept = worker.locator("form[action$='/accept'] button[type=submit]")
    expect(accept).to_be_visible()
    screenshot(worker, "phone-dorms-offer")
    accept.click()
    expect(worker.locator("main")).to_contain_text("D-101")
    check_accessibility(worker, "dorms-accepted")
    screenshot(worker, "phone-dorms-accepted")

    manager.goto("/dorms/manage/stays?status=reserved")
    check_accessibility(manager, "dorms-arrivals")
    manager.locator("main li", has_text="D-101").locator("a[href$='/check-in']").click()
    form = manager.locator("main form[action$='/check-in']")
    form.locator("input[name=key_card]").fill("K-D101-A")
    form.locator("input[name=deposit_yuan]").fill("300")
    check_accessibility(manager, "dorms-check-in")
    screenshot(manager, "desktop-dorms-check-in")
    form.locator("button[type=submit]").click()
    expect(manager).to_have_url(at("/dorms/manage/stays"))
    expect(manager.locator("main")).to_contain_text("D-101-A")
