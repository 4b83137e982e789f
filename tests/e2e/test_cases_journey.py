"""Aid cases in a real browser: a rider asks for help on a phone and the three agencies answer.

1. A rider files a wage-arrears request on a phone (HRSS leads, the union co-handles); HRSS
   accepts and starts it, the union does its part, HRSS resolves it, the rider confirms and rates.
2. A transfer declined twice goes to the park coordination office, which decides the lead.
3. Bad input on the details step shows errors and files nothing.

The live server is shared by the whole e2e session, so each test files its own requests and finds
them by their case number, never by counts of seeded cases. Elements are found by form action and
input name; the words the tests expect are looked up in the app's own catalogue for the page's
language (Chinese unless a context switched to English), so the assertions hold whichever
language the catalogue renders.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from services.demo import DEMO_PASSWORD
from tests.e2e.conftest import PHONE, TIMEOUT_MS, check_accessibility, screenshot

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
CASE_NO = re.compile(r"YC-\d{4}-\d{6}")
ZH, EN = "zh_CN", "en"


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def say(live_app):
    """The words a page in `lang` shows for a message id (or a lazy label), from the catalogue."""
    from flask_babel import gettext

    def say(message, lang: str = ZH, **params) -> str:
        with live_app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
            if isinstance(message, str):
                return gettext(message, **params)
            return str(message)
    return say


@pytest.fixture(scope="module")
def labels():
    from services.cases import labels
    return labels


def at(path: str) -> re.Pattern:
    """A URL pattern matching `path` on the live server, ignoring the query string."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


def path_of(page: Page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]


@pytest.fixture
def new_page(browser, live_server):
    """Make a page in a context of its own (its own cookies: one signed-in person per context);
    every context made is closed when the test ends."""
    contexts = []

    def new_page(options: dict) -> Page:
        context = browser.new_context(base_url=live_server, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield new_page
    for context in contexts:
        context.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    form = page.locator("main form[action='/login']")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(DEMO_PASSWORD)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(at("/"))


def detail(page: Page, term: str):
    """The <dd> of the first <dt> in main whose text is exactly `term`."""
    return page.locator("main dl.details > div").filter(
        has=page.locator("dt", has_text=re.compile(rf"^\s*{re.escape(term)}\s*$"))
    ).first.locator("dd")


def open_details(page: Page, action: str):
    """Open the collapsed <details> holding the form posting to `action`; return the form."""
    form = page.locator(f"main form[action='{action}']")
    section = page.locator("main details", has=page.locator(f"form[action='{action}']")).first
    if section.get_attribute("open") is None:
        section.locator("summary").first.click()
    expect(form).to_be_visible()
    return form


def flash(page: Page, text: str):
    expect(page.locator(".flash-success")).to_contain_text(text)


def open_case_from_list(page: Page, view: str, case_no: str) -> None:
    """Filter a case list by the case number and open the case."""
    page.goto(f"/cases?view={view}")
    filters = page.locator("main form.filter-form")
    filters.locator("input[name=q]").fill(case_no)
    filters.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"[?&]q=" + re.escape(case_no)))
    page.locator("main table a", has_text=case_no).click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("main h1")).to_contain_text(case_no)


def open_task(page: Page, case_no: str) -> None:
    """Open a case from the "handoffs to us" tab."""
    page.goto("/cases?view=tasks")
    page.locator("main ul.link-list a", has_text=case_no).click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("main h1")).to_contain_text(case_no)


def handoff_item(page: Page, kind_label: str, to_label: str):
    """The latest handoff row of this kind (by its label) addressed to this agency."""
    return page.locator("main li.handoff").filter(has_text=kind_label).filter(
        has_text=f"→ {to_label}").last


def file_request(page: Page, category: str, consent: list[str], *, description: str,
                 amount: str = "", employer: str = "") -> tuple[str, str]:
    """Walk the three steps from /aid/new; return the case page's path and the case number."""
    page.goto("/aid/new")
    page.locator(f"main input[name=category][value={category}]").check()
    page.locator("main form[action='/aid/new'] button[type=submit]").click()
    expect(page).to_have_url(at("/aid/new/consent"))
    for code in consent:
        page.locator(f"main input[name=consent][value={code}]").check()
    page.locator("main form[action='/aid/new/consent'] button[type=submit]").click()
    expect(page).to_have_url(at("/aid/new/details"))
    form = page.locator("main form[enctype='multipart/form-data']")
    form.locator("textarea[name=description]").fill(description)
    if amount:
        form.locator("input[name=amount_yuan]").fill(amount)
    if employer:
        form.locator("input[name=employer_name]").fill(employer)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/aid/cases/\d+$"))
    case_no = CASE_NO.search(page.locator("main p.muted").first.inner_text()).group(0)
    return path_of(page), case_no


# --- 1. wage arrears: filed on a phone, co-handled, resolved, rated -------------------------


def test_rider_wage_arrears_co_handled_resolved_and_rated(phone_page, new_page, say, labels):
    L = labels
    hrss, union = say(L.AGENCY_LABELS["hrss"]), say(L.AGENCY_LABELS["union"])
    rider = phone_page
    sign_in(rider, "rider")
    expect(rider.locator("html")).to_have_attribute("lang", "zh-CN")
    check_accessibility(rider, "home (rider)")
    ask = rider.locator("main a.button[href='/aid/new']")
    expect(ask).to_have_text(say("Ask for help"))
    ask.click()

    # Step 1: what about.
    expect(rider).to_have_url(at("/aid/new"))
    expect(rider.locator("main ol.steps li[aria-current=step]")).to_have_text(say("What about"))
    wage = rider.locator("main input[name=category][value=wage_arrears]")
    expect(rider.locator(f"main label[for='{wage.get_attribute('id')}']")).to_contain_text(
        say(L.CATEGORY_LABELS["wage_arrears"]))
    check_accessibility(rider, "aid step 1: category")
    wage.check()
    screenshot(rider, "phone-aid-category")
    rider.locator("main form[action='/aid/new'] button[type=submit]").click()

    # Step 2: the pre-screen says who handles it and why; nothing is ticked for the rider.
    expect(rider).to_have_url(at("/aid/new/consent"))
    reasons = rider.locator("main section.prescreen ul.reason-list > li")
    expect(reasons).to_have_count(2)
    expect(reasons.nth(0)).to_contain_text(hrss)
    expect(reasons.nth(0)).to_contain_text(say("decides on your request and keeps you informed."))
    expect(reasons.nth(1)).to_contain_text(union)
    expect(reasons.nth(1)).to_contain_text(
        say("helps with its part (for example free legal aid), if you agree below."))
    expect(rider.locator("main section.prescreen details p")).to_contain_text("保障农民工工资支付条例")
    for code in ("union", "hrss", "civil"):
        expect(rider.locator(f"main input[name=consent][value={code}]")).not_to_be_checked()
    expect(rider.locator("#consent-hrss-hint")).to_have_text(
        say("Required: it decides on your request."))
    check_accessibility(rider, "aid step 2: pre-screen and consent")
    rider.locator("main input[name=consent][value=hrss]").check()
    rider.locator("main input[name=consent][value=union]").check()
    screenshot(rider, "phone-aid-consent")
    rider.locator("main form[action='/aid/new/consent'] button[type=submit]").click()

    # Step 3: what happened.
    expect(rider).to_have_url(at("/aid/new/details"))
    expect(rider.locator("main p.notice")).to_contain_text(
        say("Handled by %(lead)s", lead=hrss))
    check_accessibility(rider, "aid step 3: details")
    form = rider.locator("main form[enctype='multipart/form-data']")
    form.locator("textarea[name=description]").fill(
        "我在平台跑外卖，站点从上个月起拖欠两个月的配送费，一共5600元，站长一直说等平台结算。")
    form.locator("input[name=amount_yuan]").fill("5600")
    employer = "盐城蜂跑即配网络科技有限公司"
    form.locator("input[name=employer_name]").fill(employer)
    form.locator("input[name=incident_start]").fill((date.today() - timedelta(days=60)).isoformat())
    form.locator("input[name=contact_preference][value=sms]").check()
    screenshot(rider, "phone-aid-details")
    form.locator("button[type=submit]").click()

    # The case page: number, with HRSS, the union asked to help.
    expect(rider).to_have_url(re.compile(r"/aid/cases/\d+$"))
    case_path = path_of(rider)
    case_id = case_path.rsplit("/", 1)[1]
    case_no = CASE_NO.search(rider.locator("main p.muted").first.inner_text()).group(0)
    flash(rider, case_no)
    expect(rider.locator("main h1")).to_have_text(say(L.CATEGORY_LABELS["wage_arrears"]))
    expect(rider.locator("main .standing .tag")).to_have_text(say(L.STATUS_LABELS["submitted"]))
    expect(detail(rider, say("Who has it"))).to_have_text(hrss)
    expect(detail(rider, say("Helping"))).to_have_text(f"{union}: {say('asked to help')}")
    expect(detail(rider, say("Amount involved"))).to_contain_text("5600.00")
    expect(detail(rider, say("Employer or platform"))).to_have_text(employer)
    expect(rider.locator("main ol.feed li").first).to_contain_text(case_no)
    check_accessibility(rider, "aid case (submitted)")
    screenshot(rider, "phone-aid-case-submitted")

    # HRSS finds it in its queue, accepts it (it becomes the caseworker's) and starts work.
    hrss_cw = new_page(DESKTOP)
    sign_in(hrss_cw, "hrss_cw")
    hrss_cw.goto("/cases?view=queue")
    expect(hrss_cw.locator("main h1")).to_contain_text(hrss)
    check_accessibility(hrss_cw, "cases: agency queue")
    open_case_from_list(hrss_cw, "queue", case_no)
    expect(hrss_cw).to_have_url(at(f"/cases/{case_id}"))
    expect(detail(hrss_cw, say("Status"))).to_contain_text(say(L.STATUS_LABELS["submitted"]))
    expect(detail(hrss_cw, say("Lead agency"))).to_have_text(hrss)
    expect(detail(hrss_cw, say("Caseworker"))).to_have_text(say("In the agency queue"))
    co_handling = handoff_item(hrss_cw, say(L.HANDOFF_KIND_LABELS["referral"]), union)
    expect(co_handling).to_contain_text(say(L.HANDOFF_STATUS_LABELS["requested"]))
    check_accessibility(hrss_cw, "case page (lead, submitted)")
    screenshot(hrss_cw, "desktop-case-hrss-new")
    hrss_cw.locator(f"main form[action='/cases/{case_id}/accept'] button[type=submit]").click()
    flash(hrss_cw, say("Case accepted; the worker has been told."))
    expect(detail(hrss_cw, say("Status"))).to_contain_text(say(L.STATUS_LABELS["accepted"]))
    expect(detail(hrss_cw, say("Caseworker"))).to_have_text("陈刚")
    expect(hrss_cw.locator(f"main form[action='/cases/{case_id}/claim']")).to_have_count(0)
    hrss_cw.locator(f"main form[action='/cases/{case_id}/start'] button[type=submit]").click()
    flash(hrss_cw, say("Work started."))
    expect(detail(hrss_cw, say("Status"))).to_contain_text(say(L.STATUS_LABELS["in_progress"]))
    hrss_cw.goto("/cases?view=mine")
    expect(hrss_cw.locator("main table tr", has_text=case_no)).to_contain_text(
        say(L.STATUS_LABELS["in_progress"]))

    # The union opens it from "handoffs to us", accepts co-handling and records its part.
    union_cw = new_page(DESKTOP)
    sign_in(union_cw, "union_cw")
    union_cw.goto("/cases?view=tasks")
    task = union_cw.locator("main ul.link-list li", has_text=case_no)
    expect(task).to_contain_text(say(L.HANDOFF_KIND_LABELS["referral"]))
    expect(task).to_contain_text(say(L.HANDOFF_STATUS_LABELS["requested"]))
    check_accessibility(union_cw, "cases: handoffs to us")
    open_task(union_cw, case_no)
    expect(detail(union_cw, say("Lead agency"))).to_have_text(hrss)
    expect(detail(union_cw, say("What happened"))).to_contain_text("5600")
    mine = handoff_item(union_cw, say(L.HANDOFF_KIND_LABELS["referral"]), union)
    check_accessibility(union_cw, "case page (co-handler)")
    mine.locator("form[action$='/accept'] button[type=submit]").click()
    flash(union_cw, say("Accepted."))
    mine = handoff_item(union_cw, say(L.HANDOFF_KIND_LABELS["referral"]), union)
    expect(mine).to_contain_text(say(L.HANDOFF_STATUS_LABELS["accepted"]))
    finish_action = mine.locator("form[action$='/finish']").get_attribute("action")
    finish = open_details(union_cw, finish_action)
    finish.locator("input[name$='-succeeded'][value='1']").check()
    finish.locator("textarea[name$='-note']").fill(
        "工会法律援助律师已联系站点负责人，出具律师函，并陪同骑手到人社局劳动监察大队。")
    screenshot(union_cw, "desktop-case-union-finish")
    finish.locator("button[type=submit]").click()
    flash(union_cw, say("Your part is recorded."))

    # The rider sees the union helping and HRSS's caseworker on it.
    rider.goto(case_path)
    expect(rider.locator("main .standing .tag")).to_have_text(say(L.STATUS_LABELS["in_progress"]))
    expect(detail(rider, say("Who has it"))).to_have_text(
        say("%(agency)s (caseworker %(name)s)", agency=hrss, name="陈刚"))
    expect(detail(rider, say("Helping"))).to_have_text(f"{union}: {say('finished its part')}")
    expect(rider.locator("main ol.feed")).to_contain_text(
        say("%(agency)s finished its part.", agency=union))
    screenshot(rider, "phone-aid-case-in-progress")

    # HRSS resolves it: money recovered.
    hrss_cw.goto(f"/cases/{case_id}")
    done = handoff_item(hrss_cw, say(L.HANDOFF_KIND_LABELS["referral"]), union)
    expect(done).to_contain_text(say(L.HANDOFF_STATUS_LABELS["completed"]))
    expect(done).to_contain_text("律师函")
    resolve = open_details(hrss_cw, f"/cases/{case_id}/resolve")
    resolve.locator("select[name=resolve-outcome]").select_option("money_recovered")
    resolve.locator("textarea[name=resolve-note]").fill("经劳动监察责令支付，站点已将拖欠的5600元配送费全部打到你的银行卡。")
    resolve.locator("input[name=resolve-recovered_yuan]").fill("5600")
    screenshot(hrss_cw, "desktop-case-hrss-resolve")
    resolve.locator("button[type=submit]").click()
    flash(hrss_cw, say("Case resolved; the worker is asked to confirm."))
    expect(detail(hrss_cw, say("Status"))).to_contain_text(say(L.STATUS_LABELS["resolved"]))
    expect(detail(hrss_cw, say("Outcome"))).to_contain_text(
        say(L.OUTCOME_LABELS["money_recovered"]))
    expect(detail(hrss_cw, say("Money recovered"))).to_contain_text("5600.00")
    screenshot(hrss_cw, "desktop-case-hrss-resolved")

    # The rider sees it resolved, confirms and rates it 5; it closes with the rating.
    rider.goto(case_path)
    expect(rider.locator("main .standing .tag")).to_have_text(say(L.STATUS_LABELS["resolved"]))
    recovered = say(L.OUTCOME_LABELS["money_recovered"])
    expect(rider.locator("main ol.feed li").first).to_contain_text(
        say("Your case was resolved: %(outcome)s.", outcome=recovered))
    expect(detail(rider, say("Result"))).to_contain_text(recovered)
    expect(detail(rider, say("Money recovered"))).to_contain_text("5600.00")
    confirm = rider.locator(f"main form[action='{case_path}/confirm']")
    expect(confirm).to_be_visible()
    check_accessibility(rider, "aid case (resolved, confirm form)")
    confirm.locator("input[name=confirm-satisfaction][value='5']").check()
    confirm.locator("textarea[name=confirm-comment]").fill("钱已经收到了，谢谢工会和人社局！")
    screenshot(rider, "phone-aid-case-resolved")
    confirm.locator("button[type=submit]").click()
    expect(rider).to_have_url(at(case_path))
    flash(rider, say("Thank you. Your case is closed."))
    expect(rider.locator("main .standing .tag")).to_have_text(say(L.STATUS_LABELS["closed"]))
    expect(detail(rider, say("Your rating"))).to_have_text(say("%(n)s of 5", n=5))
    expect(detail(rider, say("What comes next"))).to_have_text(
        say("Nothing more: this case is finished."))
    expect(rider.locator(f"main form[action='{case_path}/confirm']")).to_have_count(0)
    expect(rider.locator(f"main form[action='{case_path}/withdraw']")).to_have_count(0)
    check_accessibility(rider, "aid case (closed)")
    screenshot(rider, "phone-aid-case-closed")

    rider.goto("/aid")
    mine = rider.locator("main ul.card-list li", has_text=case_no)
    expect(mine).to_contain_text(say(L.STATUS_LABELS["closed"]))
    expect(mine).to_contain_text(say("Handled by %(agency)s", agency=hrss))
    check_accessibility(rider, "aid: my requests")
    screenshot(rider, "phone-aid-my-requests")

    # HRSS sees the rating among its finished cases.
    hrss_cw.goto(f"/cases/{case_id}")
    expect(detail(hrss_cw, say("Worker rating"))).to_contain_text(say("%(n)s of 5", n=5))
    hrss_cw.goto("/cases?view=done")
    expect(hrss_cw.locator("main table tr", has_text=case_no)).to_contain_text(
        say(L.STATUS_LABELS["closed"]))


# --- 2. two declined transfers: the coordination office decides ----------------------------


def transfer(page: Page, case_id: str, to_agency: str, reason: str) -> None:
    form = open_details(page, f"/cases/{case_id}/handoffs")
    form.locator("input[name=handoff-kind][value=transfer]").check()
    form.locator("select[name=handoff-to_agency]").select_option(to_agency)
    form.locator("textarea[name=handoff-reason]").fill(reason)
    form.locator("button[type=submit]").click()


def decline(page: Page, item, basis: str) -> None:
    action = item.locator("form[action$='/decline']").get_attribute("action")
    form = open_details(page, action)
    form.locator("select[name$='-reason_code']").select_option("not_our_remit")
    form.locator("textarea[name$='-basis']").fill(basis)
    form.locator("button[type=submit]").click()


def test_transfer_declined_twice_goes_to_the_coordinator(new_page, say, labels):
    L = labels
    union, hrss, civil = (say(L.AGENCY_LABELS[a]) for a in ("union", "hrss", "civil"))
    transfer_word = say(L.HANDOFF_KIND_LABELS["transfer"])

    worker = new_page(PHONE)
    sign_in(worker, "worker")
    case_path, case_no = file_request(
        worker, "other", ["union", "hrss", "civil"],
        description="我在园区做保洁，公司说我是外包的，不给签合同也不给买保险，我不知道该找谁。")
    case_id = case_path.rsplit("/", 1)[1]
    expect(detail(worker, say("Who has it"))).to_have_text(union)
    expect(detail(worker, say("Shared with"))).to_contain_text(civil)

    # The union asks civil affairs to take it over; civil declines: back with the union.
    union_cw = new_page(DESKTOP)
    sign_in(union_cw, "union_cw")
    open_case_from_list(union_cw, "queue", case_no)
    transfer(union_cw, case_id, "civil", "保洁员无劳动合同、生活困难，建议民政部门牵头核查救助。")
    flash(union_cw, say("Sent; the agency has one working day to answer."))
    expect(handoff_item(union_cw, transfer_word, civil)).to_contain_text(
        say(L.HANDOFF_STATUS_LABELS["requested"]))
    expect(detail(union_cw, say("Lead agency"))).to_have_text(union)  # not before civil accepts
    screenshot(union_cw, "desktop-case-union-transfer-sent")

    civil_cw = new_page(DESKTOP)
    sign_in(civil_cw, "civil_cw")
    civil_cw.goto("/cases?view=tasks")
    expect(civil_cw.locator("main ul.link-list li", has_text=case_no)).to_contain_text(
        transfer_word)
    open_task(civil_cw, case_no)
    item = handoff_item(civil_cw, transfer_word, civil)
    check_accessibility(civil_cw, "case page (transfer to answer)")
    decline(civil_cw, item, "劳动合同和社会保险争议不属于民政部门职责（《社会救助暂行办法》第二条）。")
    flash(civil_cw, say("Declined, with your reason and basis."))
    expect(civil_cw).to_have_url(at("/cases"))  # civil no longer sees the case

    union_cw.goto(f"/cases/{case_id}")
    expect(detail(union_cw, say("Lead agency"))).to_have_text(union)
    expect(detail(union_cw, say("Returns"))).to_have_text("1")
    declined = handoff_item(union_cw, transfer_word, civil)
    expect(declined).to_contain_text(say(L.HANDOFF_STATUS_LABELS["declined"]))
    expect(declined).to_contain_text(say(L.REASON_CODES["not_our_remit"]))
    expect(declined).to_contain_text("社会救助暂行办法")
    expect(union_cw.locator("main p.notice")).to_have_count(0)
    screenshot(union_cw, "desktop-case-union-first-return")

    # The union tries HRSS; HRSS declines too: the second return goes to the coordinator.
    transfer(union_cw, case_id, "hrss", "未签劳动合同、未缴社保，请人社局牵头处理。")
    flash(union_cw, say("Sent; the agency has one working day to answer."))
    hrss_cw = new_page(DESKTOP)
    sign_in(hrss_cw, "hrss_cw")
    open_task(hrss_cw, case_no)
    decline(hrss_cw, handoff_item(hrss_cw, transfer_word, hrss),
            "劳务派遣关系尚未确认，应先由工会法律援助确认用工主体（《劳动争议调解仲裁法》）。")
    flash(hrss_cw, say("Declined, with your reason and basis."))

    union_cw.goto(f"/cases/{case_id}")
    expect(union_cw.locator("main p.notice")).to_have_text(say(
        "This case waits for the park coordination office to decide which agency leads it "
        "(returned %(n)s times). The decision is binding.", n=2))
    expect(detail(union_cw, say("Returns"))).to_have_text("2")
    expect(detail(union_cw, say("Escalation"))).to_have_text(say(L.ESCALATION_LABELS[3]))
    expect(union_cw.locator(f"main form[action='/cases/{case_id}/accept']")).to_have_count(0)
    expect(union_cw.locator(f"main form[action='/cases/{case_id}/handoffs']")).to_have_count(0)
    screenshot(union_cw, "desktop-case-waiting-for-coordinator")

    worker.goto(case_path)
    expect(detail(worker, say("What comes next"))).to_have_text(
        say("The park coordination office decides which agency handles it."))
    expect(worker.locator("main ol.feed li").first).to_contain_text(say(
        "The agencies did not agree who should handle your case; the park coordination office "
        "will decide, and its decision is final."))
    screenshot(worker, "phone-aid-case-arbitration")

    # The coordinator, in English, decides that civil affairs leads.
    coordinator = new_page(DESKTOP)
    sign_in(coordinator, "coordinator")
    coordinator.locator("header .lang-switch button[lang=en]").click()
    expect(coordinator.locator("html")).to_have_attribute("lang", "en")
    coordinator.goto("/cases")
    expect(coordinator.locator("main h1")).to_have_text(say("Coordination office", EN))
    row = coordinator.locator("main table tr", has_text=case_no)
    expect(row).to_contain_text(say("arbitration", EN))
    check_accessibility(coordinator, "coordination office list")
    screenshot(coordinator, "desktop-coordinator-list")
    row.locator("a", has_text=case_no).click()
    expect(coordinator).to_have_url(at(f"/cases/{case_id}"))
    form = coordinator.locator(f"main form[action='/cases/{case_id}/arbitrate']")
    expect(form).to_be_visible()  # open from the start
    expect(coordinator.locator("main section[aria-labelledby=handoffs-title]")).to_contain_text(
        say(L.HANDOFF_STATUS_LABELS["declined"], EN))
    check_accessibility(coordinator, "case page (coordinator)")
    form.locator("input[name=arbitrate-lead_agency][value=civil]").check()
    form.locator("textarea[name=arbitrate-decision]").fill(
        "该职工生活困难且用工主体不明，由民政局牵头核查救助，工会、人社局配合。")
    screenshot(coordinator, "desktop-coordinator-decide")
    form.locator("button[type=submit]").click()
    expect(coordinator).to_have_url(at(f"/cases/{case_id}"))
    flash(coordinator, say("Decision recorded; it is binding.", EN))
    lead = detail(coordinator, say("Lead agency", EN))
    expect(lead).to_contain_text(say(L.AGENCY_LABELS["civil"], EN))
    expect(lead).to_contain_text(say("decided by the coordinator", EN))
    expect(coordinator.locator("main p.notice")).to_have_count(0)
    expect(form).to_have_count(0)
    screenshot(coordinator, "desktop-coordinator-decided")

    # Civil affairs now leads and cannot return it; the worker is told who decided.
    civil_cw.goto("/cases?view=queue")
    open_case_from_list(civil_cw, "queue", case_no)
    expect(detail(civil_cw, say("Lead agency"))).to_contain_text(civil)
    expect(detail(civil_cw, say("Lead agency"))).to_contain_text(say("decided by the coordinator"))
    expect(civil_cw.locator(f"main form[action='/cases/{case_id}/accept']")).to_be_visible()
    expect(civil_cw.locator(f"main form[action='/cases/{case_id}/return']")).to_have_count(0)

    worker.goto(case_path)
    expect(detail(worker, say("Who has it"))).to_have_text(civil)
    expect(worker.locator("main ol.feed li").first).to_contain_text(
        say("The coordination office decided that %(agency)s handles your case.", agency=civil))
    check_accessibility(worker, "aid case (decided by the coordinator)")
    screenshot(worker, "phone-aid-case-decided")


# --- 3. bad input files nothing ------------------------------------------------------------


def test_bad_input_on_the_phone_shows_errors_and_files_nothing(phone_page, say, labels):
    page = phone_page
    sign_in(page, "rider")
    page.goto("/aid")
    before = page.locator("main ul.card-list > li").count()
    page.locator("main a.button[href='/aid/new']").click()

    # No category chosen.
    page.locator("main form[action='/aid/new'] button[type=submit]").click()
    expect(page.locator("#category-error")).to_have_text(say("Choose what you need help with."))

    # The lead agency not ticked.
    page.locator("main input[name=category][value=work_injury]").check()
    page.locator("main form[action='/aid/new'] button[type=submit]").click()
    expect(page).to_have_url(at("/aid/new/consent"))
    page.locator("main input[name=consent][value=union]").check()
    page.locator("main form[action='/aid/new/consent'] button[type=submit]").click()
    expect(page).to_have_url(at("/aid/new/consent"))
    expect(page.locator("#consent-error")).to_have_text(say(
        "The agency that decides this request must be allowed to see it; please tick it."))
    expect(page.locator("main input[name=consent][value=union]")).to_be_checked()
    check_accessibility(page, "aid step 2 with an error")
    screenshot(page, "phone-aid-consent-error")
    page.locator("main input[name=consent][value=hrss]").check()
    page.locator("main form[action='/aid/new/consent'] button[type=submit]").click()
    expect(page).to_have_url(at("/aid/new/details"))

    # An empty description and a negative amount.
    form = page.locator("main form[enctype='multipart/form-data']")
    form.locator("input[name=amount_yuan]").fill("-300")
    form.locator("input[name=employer_name]").fill("盐城快送物流有限公司")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(at("/aid/new/details"))
    expect(page.locator("#description-error")).to_be_visible()
    expect(page.locator("textarea[name=description]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#amount_yuan-error")).to_be_visible()
    expect(page.locator("main .error-summary").first).to_be_visible()
    expect(page.locator("input[name=employer_name]")).to_have_value("盐城快送物流有限公司")
    check_accessibility(page, "aid step 3 with errors")
    screenshot(page, "phone-aid-details-errors")

    # Too short a description is refused too.
    form.locator("textarea[name=description]").fill("没钱")
    form.locator("input[name=amount_yuan]").fill("")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(at("/aid/new/details"))
    expect(page.locator("#description-error")).to_be_visible()

    page.goto("/aid")
    expect(page.locator("main ul.card-list > li")).to_have_count(before)
