"""Property tests of the operations behind the forms and the API (design/security.md: "Bad input
of any kind … never a 500 and never a partial write").

For arbitrary input — text with NUL characters, huge strings, broken UTF-8 as the request layer
decodes it (U+FFFD), negative and huge numbers, dates in year 1 and 9999, unknown enum values —
each operation either succeeds or raises a DomainError, never another exception. Every example is
rolled back afterwards and the row count of every table must be what it was before: nothing is
left behind on failure, and no operation commits on its own. While the tests run, a flush that
PostgreSQL would refuse fails too (tests/fuzzing.py `like_postgres`), since SQLite stores NUL and
overlong strings without complaint.

Lone surrogates (broken UTF-16, which only a JSON body can carry: "\\ud800") never reach the
operations: the API refuses them with a 422 (services/api/io.py, tested at the end with the forms);
werkzeug decodes broken UTF-8 in forms and query strings to U+FFFD.

The last tests post arbitrary fields to a few HTML forms through the test client: never a 5xx.

Bounded for the suite: PROPERTY_EXAMPLES (default 40) examples per test, the same ones every
run; FUZZ_RANDOM=1 draws new ones (as in tests/api/test_schema_fuzz.py).
"""
from __future__ import annotations

import io
import os
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from services.core.errors import DomainError
from services.extensions import db, limiter
from tests.conftest import login
from tests.fuzzing import like_postgres

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

# --- arbitrary input -----------------------------------------------------------------------

LONE_SURROGATES = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
BROKEN_UTF8 = st.binary(min_size=1, max_size=12).map(lambda raw: raw.decode("utf-8", "replace"))
NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=10), st.text(max_size=10)),
    st.builds(lambda part, n: part * n, st.text(min_size=1, max_size=4),
              st.integers(300, 25_000)),  # up to 100,000 characters
    st.builds(lambda a, b: a + b, st.text(max_size=10), BROKEN_UTF8),
    st.sampled_from(["", "   ", "\t\n", "正常的中文内容，足够长。", "<script>alert(1)</script>",
                     "' OR 1=1 --", "\u202e\u200b", "😀" * 3]),
)
FORM_TEXT = st.one_of(  # what a browser can send: no lone surrogates
    st.text(max_size=40),
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=10), st.text(max_size=10)),
    st.builds(lambda part, n: part * n, st.text(min_size=1, max_size=4),
              st.integers(300, 5_000)),
    st.sampled_from(["", "-1", "0", "1e309", "99999999999999999999999", "9999-12-31",
                     "0001-01-01", "2026-02-30", "NaN", "on", "y"]),
)
NUMBERS = st.one_of(
    st.integers(-10, 1_000_000),
    st.sampled_from([-1, 0, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30]),
    st.integers(),
)
DATES = st.one_of(st.dates(), st.sampled_from([date(1, 1, 1), date(9999, 12, 31)]),
                  st.dates(date.today() - timedelta(days=30), date.today() + timedelta(days=400)))
ZONES = st.sampled_from([timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-12)),
                         timezone(timedelta(hours=14))])
INSTANTS = st.one_of(
    st.datetimes(timezones=ZONES),
    st.datetimes(),  # naive
    st.sampled_from([datetime(1, 1, 1, tzinfo=timezone.utc),
                     datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)]),
    st.integers(-48, 24 * 400).map(
        lambda hours: datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=hours)),
)


def code_or_junk(codes) -> st.SearchStrategy:
    """A valid code, or any other text (or none)."""
    return st.one_of(st.sampled_from(list(codes)), NASTY_TEXT, st.none())


def mostly_valid(valid: dict, bad: dict) -> st.SearchStrategy:
    """Keyword arguments that are valid except for up to three of them, drawn from `bad`
    (so that each check is reached, not only the first one)."""
    def spoil(base: dict) -> st.SearchStrategy:
        return st.lists(st.sampled_from(sorted(bad)), max_size=3, unique=True).flatmap(
            lambda names: st.fixed_dictionaries({name: bad[name] for name in names}).map(
                lambda spoilt: {**base, **spoilt}))

    return st.fixed_dictionaries(valid).flatmap(spoil)


# --- the property --------------------------------------------------------------------------

def _row_counts() -> tuple:
    tables = db.metadata.sorted_tables
    return tuple(db.session.execute(select(*[
        select(func.count()).select_from(table).scalar_subquery().label(table.name)
        for table in tables])).one())


OUTCOMES: dict[str, Counter] = defaultdict(Counter)


def succeeds_or_refuses(name: str, operation) -> str:
    """Run `operation()`: it succeeds or raises a DomainError (any other exception fails the
    test); then roll back, and every table holds as many rows as before."""
    before = _row_counts()
    try:
        operation()
        outcome = "done"
    except DomainError:
        outcome = "refused"
    finally:
        db.session.rollback()
    assert _row_counts() == before, "rows were left behind"
    OUTCOMES[name][outcome] += 1
    return outcome


def reached(*names: str) -> None:
    """The examples got both through (valid input) and refused (bad input) for each operation."""
    for name in names:
        assert set(OUTCOMES[name]) == {"done", "refused"}, (name, dict(OUTCOMES[name]))


@pytest.fixture
def pg_like(app):
    with like_postgres():
        yield


# --- accounts ------------------------------------------------------------------------------

def test_register_worker(app, pg_like):
    from services.accounts import operations
    from services.accounts.models import EmploymentForm
    from tests.factories import make_org, make_user

    employer = make_org("employer")
    park = make_org("park")
    make_user("worker", username="taken-name", phone="13900000001")

    @SETTINGS
    @given(data=mostly_valid(
        {"username": st.from_regex(r"[a-z0-9][a-z0-9_.-]{2,12}", fullmatch=True),
         "password": st.just("a-long-passphrase-42"),
         "phone": st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
         "name": st.sampled_from(["张伟", "Li Na"]),
         "employer_id": st.sampled_from([None, employer.id]),
         "employment_form": st.sampled_from([f.value for f in EmploymentForm])},
        {"username": st.one_of(st.just("taken-name"), NASTY_TEXT),
         "password": st.one_of(st.just("password"), NASTY_TEXT),
         "phone": st.one_of(st.just("13900000001"), st.just("+86 139-0000-0002"), NASTY_TEXT),
         "name": NASTY_TEXT, "employer_id": st.one_of(st.just(park.id), NUMBERS),
         "employment_form": code_or_junk(["employee", "platform"])}))
    def check(data):
        succeeds_or_refuses("register_worker", lambda: operations.register_worker(**data))

    check()
    reached("register_worker")


# --- aid intake ----------------------------------------------------------------------------

@pytest.fixture
def agencies(app):
    from tests.cases.factories import agencies as make_agencies
    from tests.cases.factories import load_calendar_rows

    load_calendar_rows()
    return make_agencies()


def test_submit_request(agencies, pg_like):
    from services.cases.models import ContactPreference
    from services.cases.operations import intake
    from services.cases.routing import AGENCIES, CATEGORIES

    worker, staff = agencies["worker"], agencies["union"]["cw"]

    @SETTINGS
    @given(actor=st.sampled_from([worker, worker, staff, agencies["coordinator"]]),
           data=mostly_valid(
               {"category": st.sampled_from(CATEGORIES),
                "description": st.just("三个月工资没有发放。"),
                "consent": st.just(list(AGENCIES)), "amount_fen": st.sampled_from([None, 120_000]),
                "employer_name": st.just("某某电子有限公司"), "incident_start": st.none(),
                "incident_end": st.none(), "contact_preference": st.just("phone")},
               {"category": code_or_junk(CATEGORIES), "description": NASTY_TEXT,
                "consent": st.lists(code_or_junk(AGENCIES), max_size=4),
                "amount_fen": NUMBERS, "employer_name": NASTY_TEXT,
                "incident_start": DATES, "incident_end": DATES,
                "contact_preference": code_or_junk([c.value for c in ContactPreference])}))
    def check(actor, data):
        succeeds_or_refuses("submit_request", lambda: intake.submit_request(
            actor=actor, worker=worker, **data))

    check()
    reached("submit_request")


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
UPLOADS = st.builds(
    lambda head, tail, name, kind: FileStorage(stream=io.BytesIO(head + tail), filename=name,
                                               content_type=kind),
    st.sampled_from([b"", PNG, PDF, b"MZ\x90\x00", b"<html>"]), st.binary(max_size=300),
    st.one_of(st.just("photo.png"), NASTY_TEXT.filter(bool)),
    st.sampled_from(["image/png", "application/pdf", "text/html", ""]))


def test_attach_files(agencies, pg_like, app):
    from services.cases.operations import intake
    from tests.cases.factories import file_case

    worker = agencies["worker"]
    case = file_case(worker)
    folder = app.config["UPLOAD_FOLDER"]

    def stored() -> set:
        return set(os.listdir(folder)) if os.path.isdir(folder) else set()

    @SETTINGS
    @given(files=st.lists(UPLOADS, max_size=8))
    def check(files):
        before = stored()
        outcome = succeeds_or_refuses(
            "attach_files", lambda: intake.attach_files(actor=worker, case=case, files=files))
        if outcome == "refused":
            assert stored() == before, "a refused upload left a file behind"

    check()
    reached("attach_files")


# --- case steps ----------------------------------------------------------------------------

@pytest.fixture
def working_cases(agencies):
    """A hardship case being worked by the union (civil co-handles) and a legal-aid case the
    union works alone, plus everyone who might try to act on them."""
    from services.cases.operations import lifecycle
    from tests.cases.factories import ALL, file_case

    worker, cw = agencies["worker"], agencies["union"]["cw"]
    cases = [file_case(worker, category="hardship", consent=ALL),
             file_case(worker, category="legal_aid", consent=ALL)]
    for case in cases:
        lifecycle.accept_case(actor=cw, case=case)
        lifecycle.start_work(actor=cw, case=case)
    db.session.commit()
    actors = [cw, agencies["union"]["sup"], agencies["hrss"]["cw"], agencies["civil"]["cw"],
              agencies["coordinator"], worker]
    return cases, actors


def test_hold_resolve_and_notes(working_cases, pg_like):
    from services.cases.models import Outcome
    from services.cases.operations import lifecycle

    cases, actors = working_cases
    steps = st.one_of(
        st.builds(lambda **kw: ("hold", kw), reason=st.one_of(st.just("等待职工补充材料"),
                                                              NASTY_TEXT)),
        st.tuples(st.just("resolve"), mostly_valid(
            {"outcome": st.sampled_from([o.value for o in Outcome]),
             "note": st.just("已协调企业补发工资。"), "recovered_fen": st.sampled_from([None, 500])},
            {"outcome": code_or_junk([o.value for o in Outcome]), "note": NASTY_TEXT,
             "recovered_fen": NUMBERS})),
        st.builds(lambda **kw: ("add_note", kw), body=st.one_of(st.just("已电话联系。"), NASTY_TEXT),
                  worker_visible=st.booleans()),
    )

    @SETTINGS
    @given(step=steps, actor=st.sampled_from(actors[:1] * 4 + actors), case=st.sampled_from(cases))
    def check(step, actor, case):
        name, data = step
        succeeds_or_refuses(name, lambda: getattr(lifecycle, name)(actor=actor, case=case,
                                                                   **data))

    check()
    reached("hold", "resolve", "add_note")


def test_request_and_decline_handoffs(working_cases, pg_like):
    from services.cases.labels import REASON_CODES
    from services.cases.models import Handoff, HandoffKind, HandoffStatus
    from services.cases.operations import handoffs
    from services.cases.routing import AGENCIES

    cases, actors = working_cases
    referral = db.session.scalar(select(Handoff).where(Handoff.status == HandoffStatus.REQUESTED))
    assert referral is not None

    civil = next(a for a in actors if a.org and a.org.code == "civil")

    @SETTINGS
    @given(actor=st.sampled_from(actors[:1] * 4 + actors), case=st.sampled_from(cases),
           data=mostly_valid(
               {"kind": st.sampled_from(["transfer", "referral"]),
                "to_agency": st.sampled_from(["hrss", "civil"]),
                "reason": st.just("需要人社部门协助核查劳动关系。")},
               {"kind": code_or_junk([k.value for k in HandoffKind]),
                "to_agency": code_or_junk(AGENCIES), "reason": NASTY_TEXT}))
    def request(actor, case, data):
        succeeds_or_refuses("request_handoff", lambda: handoffs.request_handoff(
            actor=actor, case=case, **data))

    @SETTINGS
    @given(actor=st.sampled_from([civil] * 4 + actors), data=mostly_valid(
        {"reason_code": st.sampled_from(sorted(REASON_CODES)),
         "basis": st.just("《社会救助暂行办法》第九条")},
        {"reason_code": code_or_junk(REASON_CODES), "basis": NASTY_TEXT}))
    def decline(actor, data):
        succeeds_or_refuses("decline_handoff", lambda: handoffs.decline_handoff(
            actor=actor, handoff=referral, **data))

    request()
    decline()
    reached("request_handoff", "decline_handoff")


# --- dormitory applications ----------------------------------------------------------------

def test_dorm_application(app, pg_like):
    from services.dorms.operations import applications
    from tests.dorms.factories import apply, make_park
    from tests.factories import make_user

    park, employer, _ = make_park("A,101,1,F,4,standard,no,20,300,,open\n"
                                  "B,101,1,M,4,standard,yes,20,300,,open")
    worker = make_user("worker", org=employer)
    outsider = make_user("worker")
    spouse = make_user("worker", username="spouse-1", org=employer)
    waiting = apply(make_user("worker", org=employer), park)

    @SETTINGS
    @given(who=st.sampled_from([worker, worker, worker, outsider]), data=mostly_valid(
        {"park_id": st.just(park.id), "gender": st.sampled_from(["M", "F"]),
         "move_in_date": st.just(date.today() + timedelta(days=10)),
         "shift": st.sampled_from(["day", "night"]), "smoker": st.booleans(),
         "needs_accessible": st.booleans(), "max_rent_fen": st.just(50_000),
         "preferred_buildings": st.just(["A"]), "group_code": st.none(),
         "couple_with_username": st.none()},
        {"park_id": st.one_of(st.just(employer.id), NUMBERS),
         "gender": code_or_junk(["M", "F"]), "move_in_date": DATES,
         "shift": code_or_junk(["day", "night"]), "max_rent_fen": NUMBERS,
         "preferred_buildings": st.lists(st.one_of(st.sampled_from(["A", "B", "a "]), NASTY_TEXT),
                                         max_size=4),
         "group_code": st.one_of(st.just("team-7"), NASTY_TEXT),
         "couple_with_username": st.one_of(st.just("spouse-1"), NASTY_TEXT)}))
    def submit(who, data):
        succeeds_or_refuses("submit_application", lambda: applications.submit_application(
            worker=who, **data))

    @SETTINGS
    @given(who=st.sampled_from([worker, outsider, spouse, waiting.worker]))
    def withdraw(who):
        succeeds_or_refuses("withdraw_application", lambda: applications.withdraw_application(
            worker=who, application=waiting))

    submit()
    withdraw()
    reached("submit_application", "withdraw_application")


# --- bookings and the catalogue -------------------------------------------------------------

@pytest.fixture
def catalogue(app):
    from tests.bookings.helpers import book, make_service, make_slot
    from tests.factories import make_org, make_user

    provider = make_user("provider")
    service = make_service(provider)
    slots = [make_slot(service, capacity=2), make_slot(service, capacity=1, start_in_hours=72)]
    workers = [make_user("worker"), make_user("worker")]
    booking = book(workers[0], slots[1])
    return {"provider": provider, "service": service, "slots": slots, "workers": workers,
            "booking": booking, "other_provider": make_user("provider"),
            "park": make_org("park")}


def test_book_and_cancel(catalogue, pg_like):
    from services.bookings.operations import booking as ops

    people = catalogue["workers"] + [catalogue["provider"]]

    @SETTINGS
    @given(worker=st.sampled_from(people), slot=st.sampled_from(catalogue["slots"]),
           idempotency_key=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_.:-]{8,64}",
                                                              fullmatch=True), NASTY_TEXT),
           join_waitlist=st.booleans())
    def book(**data):
        succeeds_or_refuses("book", lambda: ops.book(**data))

    @SETTINGS
    @given(actor=st.sampled_from(people),
           now=st.one_of(st.none(), st.datetimes(timezones=ZONES)))
    def cancel(actor, now):
        succeeds_or_refuses("cancel", lambda: ops.cancel(actor=actor,
                                                         booking=catalogue["booking"], now=now))

    book()
    cancel()
    reached("book", "cancel")


def test_create_service_and_add_slot(catalogue, pg_like):
    from services.bookings.models import Category, Eligibility, Mode
    from services.bookings.operations import catalogue as ops

    providers = [catalogue["provider"], catalogue["other_provider"], catalogue["workers"][0]]
    setting_names = list(ops.SETTING_LIMITS)

    @SETTINGS
    @given(actor=st.sampled_from(providers[:1] * 4 + providers), data=mostly_valid(
        {"title": st.just("法律咨询"), "category": st.sampled_from([c.value for c in Category]),
         "description": st.just("劳动合同、工资争议咨询。"), "location": st.just("工会大厦2楼"),
         "map_url": st.none(), "online": st.booleans(), "eligibility": st.just("all"),
         "eligible_park": st.none(), "mode": st.sampled_from([m.value for m in Mode])},
        {"title": NASTY_TEXT, "category": code_or_junk([c.value for c in Category]),
         "description": NASTY_TEXT, "location": NASTY_TEXT,
         "map_url": st.one_of(st.just("https://map.example/1"), NASTY_TEXT),
         "eligibility": code_or_junk([e.value for e in Eligibility]),
         "eligible_park": st.one_of(st.just(catalogue["park"].id),
                                    st.just(catalogue["park"].code), NUMBERS, NASTY_TEXT),
         "mode": code_or_junk([m.value for m in Mode])}),
           settings=st.dictionaries(st.sampled_from(setting_names),
                                    st.one_of(NUMBERS, st.none(), NASTY_TEXT), max_size=3))
    def create(actor, data, settings):
        succeeds_or_refuses("create_service", lambda: ops.create_service(actor=actor, **data,
                                                                         **settings))

    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)

    @SETTINGS
    @given(actor=st.sampled_from(providers[:1] * 4 + providers), data=mostly_valid(
        {"starts_at": st.just(start), "ends_at": st.just(start + timedelta(hours=2)),
         "capacity": st.integers(1, 30)},
        {"starts_at": INSTANTS, "ends_at": INSTANTS,
         "capacity": st.one_of(NUMBERS, st.booleans())}))
    def add_slot(actor, data):
        succeeds_or_refuses("add_slot", lambda: ops.add_slot(actor=actor,
                                                             service=catalogue["service"], **data))

    create()
    add_slot()
    reached("create_service", "add_slot")


# --- HTML forms through the test client ------------------------------------------------------

FIELD_RE = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _fuzz_form(client, page: str, target: str | None = None) -> None:
    """Post arbitrary values (and broken UTF-8) for the fields of the form on `page`: any answer
    but a 5xx."""
    html = client.get(page).get_data(as_text=True)
    names = sorted(set(FIELD_RE.findall(html)) - {"csrf_token"})
    token = TOKEN_RE.search(html).group(1)
    assert names, f"no form fields on {page}"
    values = st.one_of(FORM_TEXT.map(lambda text: text.encode("utf-8")),
                       st.binary(max_size=20))  # bytes that are not UTF-8 too

    @SETTINGS
    @given(fields=st.dictionaries(st.one_of(st.sampled_from(names), st.text(max_size=8)),
                                  values, max_size=len(names) + 2))
    def post(fields):
        limiter.reset()
        body = urlencode({"csrf_token": token, **{k.encode(): v for k, v in fields.items()}})
        response = client.post(target or page, data=body,
                               content_type="application/x-www-form-urlencoded")
        assert response.status_code < 500, (response.status_code, fields)
        db.session.rollback()

    post()


def test_register_form(app, client, pg_like):
    app.config["REGISTRATIONS_PER_HOUR"] = 1_000_000
    _fuzz_form(client, "/register")


def test_dorm_application_form(app, client, pg_like):
    from tests.dorms.factories import make_park
    from tests.factories import make_user

    park, employer, _ = make_park("A,101,1,F,4,standard,no,20,300,,open")
    make_user("worker", username="form-worker", org=employer)
    login(client, "form-worker")
    _fuzz_form(client, f"/dorms/apply/{park.id}")


def test_provider_service_form(app, client, pg_like):
    from tests.factories import make_user

    make_user("provider", username="form-provider")
    login(client, "form-provider")
    _fuzz_form(client, "/provider/services/new")


def test_case_forms(working_cases, client, pg_like, app):
    cases, actors = working_cases
    login(client, actors[0].username)
    page = f"/cases/{cases[1].id}"
    for step in ("hold", "resolve", "notes", "handoffs"):
        _fuzz_form(client, page, f"/cases/{cases[1].id}/{step}")


# --- regressions of what these properties found ---------------------------------------------

def test_unknown_codes_are_validation_errors(working_cases, agencies):
    from services.accounts import operations
    from services.cases.models import Handoff, HandoffStatus
    from services.cases.operations import handoffs
    from services.core.errors import NotFound, ValidationFailed
    from services.dorms.operations.inventory import park_by_id

    cases, actors = working_cases
    with pytest.raises(ValidationFailed) as error:
        operations.register_worker(username="new-one", password="a-long-passphrase-42",
                                   phone="13912345670", name="张伟", employment_form="freelance")
    assert "employment_form" in error.value.fields
    with pytest.raises(ValidationFailed):
        operations.register_worker(username="new-two", password="a-long-passphrase-42",
                                   phone="13912345671", name="张伟", employer_id=2**70)
    with pytest.raises(ValidationFailed) as error:
        handoffs.request_handoff(actor=actors[0], case=cases[1], kind="", to_agency="hrss",
                                 reason="需要协助")
    assert "kind" in error.value.fields
    referral = db.session.scalar(select(Handoff).where(Handoff.status == HandoffStatus.REQUESTED))
    civil = agencies["civil"]["cw"]
    with pytest.raises(ValidationFailed) as error:
        handoffs.decline_handoff(actor=civil, handoff=referral, reason_code="made-up", basis="x")
    assert "reason_code" in error.value.fields
    with pytest.raises(NotFound):
        park_by_id(2**70)
    db.session.rollback()


def test_unknown_shift_is_a_validation_error(app):
    from services.core.errors import ValidationFailed
    from tests.dorms.factories import apply, make_park
    from tests.factories import make_user

    park, employer, _ = make_park("A,101,1,F,4,standard,no,20,300,,open")
    with pytest.raises(ValidationFailed) as error:
        apply(make_user("worker", org=employer), park, shift="evening")
    assert "shift" in error.value.fields


def test_text_the_database_cannot_store_is_a_validation_error(agencies):
    from services.cases.operations import lifecycle
    from services.core.errors import ValidationFailed
    from tests.cases.factories import file_case

    case = file_case(agencies["worker"], category="legal_aid")
    before = _row_counts()
    for body in ("a\x00b", "broken \ud800 text"):
        with pytest.raises(ValidationFailed) as error:
            lifecycle.add_note(actor=agencies["union"]["cw"], case=case, body=body,
                               worker_visible=False)
        assert "body" in error.value.fields
        db.session.rollback()
    assert _row_counts() == before


def test_an_upload_name_with_nul_is_cleaned_and_no_file_is_left(agencies, app):
    from services.cases.operations import intake
    from tests.cases.factories import file_case

    worker = agencies["worker"]
    case = file_case(worker)
    [attached] = intake.attach_files(actor=worker, case=case, files=[FileStorage(
        stream=io.BytesIO(PNG + b"\x00" * 20), filename="pho\x00to\ud800.png")])
    assert attached.file.original_name == "photo.png"


@pytest.mark.parametrize("path,body", [
    ("/api/v1/auth/register", '{"username": "abc", "password": "\\ud800\\udc00x\\ud800", '
                              '"phone": "13912345678", "name": "n"}'),
    ("/api/v1/auth/token", '{"username": "a\\u0000b", "password": "x"}'),
])
def test_api_refuses_nul_and_lone_surrogates_with_422(client, path, body):
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]


def test_a_number_too_long_for_a_float_is_not_a_valid_integer(app, client):
    """NumberRange compared it as a float: OverflowError, a 500 (found posting the service form)."""
    from tests.factories import make_user

    make_user("provider", username="long-number")
    login(client, "long-number")
    page = "/provider/services/new"
    token = TOKEN_RE.search(client.get(page).get_data(as_text=True)).group(1)
    response = client.post(page, data={"csrf_token": token, "title": "法律咨询",
                                       "category": "legal", "location": "工会大厦",
                                       "max_active_bookings": "1" * 400})
    assert response.status_code < 500
