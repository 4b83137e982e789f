"""The fuzzing harness shared by tests/api/test_schema_fuzz.py, tests/test_operation_properties.py
and bench/fuzz_api.py.

- `seeded_app(folder)`: the app on a SQLite file made by `db.create_all()` and filled with the
  small demo set (services/demo.py), the business-day calendar and the routing rules, so that ids
  in paths and bodies hit real objects. `FuzzEnv.reset()` puts the pristine file back.
- `like_postgres()`: while active, a flush that PostgreSQL would refuse (text with NUL, a string
  longer than its VARCHAR, an integer outside the 32-bit INTEGER columns) raises
  `PostgresWouldRefuse` instead of being written, so SQLite runs find what a production database
  would answer with a 500.
- `FuzzEnv.fuzz(method, path, role, ...)`: schemathesis cases for one API operation, generated
  from /api/v1/openapi.json (positive and negative data), sent in-process through the WSGI app
  with the bearer token of one demo account, and checked for 5xx and for answers the document
  does not describe (status code, content type, body).
"""
from __future__ import annotations

import logging
import os
import sqlite3
from collections import Counter
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from sqlalchemy import Enum, Integer, String, event, inspect, select
from sqlalchemy.orm import Session

from services.core.web import LARGEST_ID
from services.extensions import db, limiter

# The demo account that stands for each role (services/demo.py ACCOUNTS); None: no token.
ROLE_ACCOUNTS = {
    "worker": "worker", "park_manager": "manager", "caseworker": "union_cw",
    "supervisor": "hrss_sup", "coordinator": "coordinator", "provider": "provider",
    "admin": "admin", "anonymous": None,
}
CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_schema_conformance", "negative_data_rejection")
INT4 = 2**31 - 1
FUZZ_SETTINGS = dict(deadline=None, database=None, phases=[Phase.explicit, Phase.generate,
                                                           Phase.shrink],
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                            HealthCheck.data_too_large,
                                            HealthCheck.large_base_example])


# --- what PostgreSQL would refuse ----------------------------------------------------------

class PostgresWouldRefuse(AssertionError):
    """A value SQLite stores but PostgreSQL rejects (the production answer would be a 500)."""


def _refusal(obj, column, value) -> str | None:
    if isinstance(column.type, Enum):
        return None
    if isinstance(value, str):
        if "\x00" in value:
            return "text with a NUL character"
        length = getattr(column.type, "length", None)
        if isinstance(column.type, String) and length and len(value) > length:
            return f"{len(value)} characters for VARCHAR({length})"
    elif isinstance(value, int) and not isinstance(value, bool):
        if isinstance(column.type, Integer) and abs(value) > INT4:
            return f"{value} in a 32-bit INTEGER column"
    return None


def _check_flush(session, flush_context, instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        state = inspect(obj)
        for column in state.mapper.columns:
            attr = state.mapper.get_property_by_column(column).key
            problem = _refusal(obj, column, getattr(obj, attr, None))
            if problem:
                raise PostgresWouldRefuse(
                    f"PostgreSQL would refuse {type(obj).__name__}.{attr}: {problem}")


@contextmanager
def like_postgres() -> Iterator[None]:
    """Refuse, at flush, what PostgreSQL would refuse (see the module docstring)."""
    event.listen(Session, "before_flush", _check_flush)
    try:
        yield
    finally:
        event.remove(Session, "before_flush", _check_flush)


# --- the seeded database -------------------------------------------------------------------

def seed(app) -> None:
    """Schema, calendar, routing rules and the small demo set, committed."""
    from services import demo
    from services.cases.routing import seed_rules
    from services.core.calendar import CalendarDay, calendar_rows

    with app.app_context():
        db.create_all()
        db.session.add_all(CalendarDay(**row) for row in calendar_rows())
        seed_rules()
        demo.seed_small()
        _more_for_the_fuzzer()
        db.session.commit()
        db.session.remove()


def _more_for_the_fuzzer() -> None:
    """The demo worker also waits for a bed (with an offer on the table) and has a second aid
    request, so that their ids in paths lead somewhere."""
    from datetime import date, timedelta

    from services.accounts.models import Organisation, User
    from services.cases.operations import intake
    from services.dorms.models import Bed, Room
    from services.dorms.operations import applications, offers

    def user(name: str) -> User:
        return db.session.scalar(select(User).where(User.username == name))

    worker, manager = user("worker"), user("manager")
    park = db.session.scalar(select(Organisation).where(Organisation.code == "yc-etdz"))
    application = applications.submit_application(
        worker=worker, park_id=park.id, gender="M", move_in_date=date.today() + timedelta(days=7),
        shift="day", smoker=False, needs_accessible=False, max_rent_fen=50_000,
        preferred_buildings=["B"])
    for bed in db.session.scalars(select(Bed).join(Room).where(Room.gender == "M").order_by(Bed.id)):
        try:
            with db.session.begin_nested():
                offers.assign_bed(actor_id=manager.id, bed=bed, application=application,
                                  reason="fuzzing: an offer to answer")
            break
        except Exception:  # taken or not suitable: try the next bed
            continue
    intake.submit_request(actor=worker, worker=worker, category="wage_arrears",
                          description="两个月工资没有发放，老板说再等等。", consent=["union", "hrss"],
                          amount_fen=860_000, employer_name="盐城恒达汽车零部件有限公司")


def seeded_app(folder: Path, database_url: str | None = None):
    """The app on a seeded database: a SQLite file under `folder`, or `database_url` (emptied)."""
    from tests.conftest import build_app

    url = database_url or f"sqlite:///{folder / 'fuzz.db'}"
    app = build_app(folder, SQLALCHEMY_DATABASE_URI=url)
    if database_url:
        with app.app_context():
            db.drop_all()
    seed(app)
    return app


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database with its write-ahead log folded in (a file copy would miss it)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


class ErrorLog(logging.Handler):
    """Keeps the exceptions the app logged as unhandled (the cause of a 500)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


@dataclass
class Finding:
    operation: str
    role: str
    mode: str
    kinds: tuple[str, ...]
    report: str
    cause: str = ""


@dataclass
class FuzzEnv:
    """A seeded app, its OpenAPI schema in schemathesis, and a token per role."""

    app: object
    folder: Path
    tokens: dict[str, str | None] = field(default_factory=dict)
    known: dict[str, list] = field(default_factory=dict)
    calls: int = 0
    statuses: Counter = field(default_factory=Counter)  # (operation, role, status) -> answers

    @classmethod
    def create(cls, folder: Path, database_url: str | None = None) -> "FuzzEnv":
        app = seeded_app(folder, database_url)
        env = cls(app=app, folder=folder)
        env._pristine = None
        if database_url is None:
            env._pristine = folder / "pristine.db"
            _copy_sqlite(folder / "fuzz.db", env._pristine)
        env.tokens = env._issue_tokens()
        env.known = env._known_values()
        env.schema = env._load_schema()
        env.error_log = ErrorLog()
        logging.getLogger("anju.errors").addHandler(env.error_log)
        return env

    def close(self) -> None:
        logging.getLogger("anju.errors").removeHandler(self.error_log)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def reset(self) -> None:
        """The pristine seeded database again (SQLite only) and fresh rate limits."""
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
            if self._pristine is not None:
                _copy_sqlite(self._pristine, self.folder / "fuzz.db")
            limiter.reset()

    def _issue_tokens(self) -> dict[str, str | None]:
        from services.accounts.models import User
        from services.accounts.sessions import issue_token

        out: dict[str, str | None] = {}
        with self.app.app_context():
            for role, username in ROLE_ACCOUNTS.items():
                user = username and db.session.scalar(select(User).where(User.username == username))
                out[role] = issue_token(user)[0] if user else None
            db.session.remove()
        return out

    def _known_values(self) -> dict[str, list]:
        """Ids (and usernames) that exist in the seeded database, by parameter name."""
        from services.accounts.models import Organisation, User
        from services.bookings.models import Booking, Service, Slot
        from services.cases.models import Case, Handoff
        from services.dorms.models import Bed, DormApplication, Stay

        def ids(column, *where) -> list[int]:
            return list(db.session.scalars(select(column).where(*where).order_by(column)))

        with self.app.app_context():
            parks = ids(Organisation.id, Organisation.kind == "park")
            known = {
                "case_id": ids(Case.id), "handoff_id": ids(Handoff.id),
                "booking_id": ids(Booking.id), "service_id": ids(Service.id),
                "offer_id": ids(Stay.id), "application_id": ids(DormApplication.id),
                "park_id": parks, "bed_id": ids(Bed.id)[:50], "slot_id": ids(Slot.id)[:50],
                "employer_id": ids(Organisation.id, Organisation.kind == "employer"),
                "couple_with": list(db.session.scalars(
                    select(User.username).where(User.role == "worker"))),
            }
            db.session.remove()
        return {name: values for name, values in known.items() if values}

    def _load_schema(self):
        import schemathesis

        # The harness sends each role's token itself: no generated (or left out) Authorization.
        config = schemathesis.Config.from_dict(
            {"generation": {"with-security-parameters": False}})
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", self.app, config=config)
        known = self.known

        def could_be(value, like) -> bool:
            """A generated value that is itself valid where `like` is (an id in range, a short
            username): swapping it keeps a negative case negative (its fault is elsewhere)."""
            if type(value) is not type(like):
                return False
            return 1 <= value <= LARGEST_ID if isinstance(value, int) else len(value) <= 40

        def swap_in_known(values: dict) -> st.SearchStrategy:
            """Keep the generated value, or use one that exists."""
            if not isinstance(values, dict):
                return st.just(values)
            strategy = st.just(dict(values))
            for name, value in values.items():
                choices = known.get(name)
                if not choices or not could_be(value, choices[0]):
                    continue
                strategy = strategy.flatmap(
                    lambda current, name=name, choices=choices: st.one_of(
                        st.just(current),
                        *[st.sampled_from(choices).map(lambda chosen: {**current, name: chosen})]
                        * 3))  # three times in four: an object that exists
            return strategy

        @schema.hook("flatmap_path_parameters")
        def path_ids(context, path_parameters):
            return swap_in_known(path_parameters)

        @schema.hook("flatmap_body")
        def body_ids(context, body):
            return swap_in_known(body)

        return schema

    def operation(self, method: str, path: str):
        return self.schema[path][method.upper()]

    def fuzz(self, method: str, path: str, role: str, *, examples: int,
             modes: tuple[str, ...] = ("positive", "negative"), raise_first: bool = True,
             derandomize: bool = False, only_statuses: frozenset[int] | None = None,
             on_finding: Callable[[Finding], None] | None = None) -> int:
        """Send `examples` generated cases per mode; raise on the first finding (Hypothesis then
        shrinks it) or hand each to `on_finding`. With `only_statuses`, any other status is a
        finding too (a role that may not call the operation gets 401/403 and nothing else).
        Returns the number of calls made."""
        from schemathesis import GenerationMode
        from schemathesis.checks import CHECKS, load_all_checks

        load_all_checks()
        checks = [CHECKS.get_one(name) for name in CHECK_NAMES]
        operation = self.operation(method, path)
        token = self.tokens[role]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        made = 0
        raw = operation.definition.raw
        if not raw.get("parameters") and "requestBody" not in raw:
            modes = tuple(m for m in modes if m != "negative")  # nothing to break (`GET /parks`)
        for mode in modes:
            @settings(max_examples=examples, derandomize=derandomize, **FUZZ_SETTINGS)
            @given(case=operation.as_strategy(GenerationMode(mode)))
            def run(case):
                nonlocal made
                made += 1
                self.error_log.errors.clear()
                with self.app.app_context():
                    limiter.reset()  # sign-in and registration limits would answer 429 only
                response = case.call(headers=headers)
                self.statuses[(f"{method.upper()} {path}", role, response.status_code)] += 1
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                    if only_statuses and response.status_code not in only_statuses:
                        raise ExceptionGroup(
                            f"{role} got {response.status_code} from {method.upper()} {path}, "
                            f"expected one of {sorted(only_statuses)}: {response.text[:300]}",
                            [AssertionError("unexpected status for this role")])
                except BaseExceptionGroup as group:
                    finding = Finding(
                        operation=f"{method.upper()} {path}", role=role, mode=mode,
                        kinds=tuple(sorted({type(e).__name__ for e in group.exceptions})),
                        report=str(group), cause="; ".join(
                            f"{type(e).__name__}: {e}" for e in self.error_log.errors))
                    if raise_first:
                        if finding.cause:
                            group.add_note(f"Cause logged by the app: {finding.cause}")
                        raise
                    if on_finding is not None:
                        on_finding(finding)

            try:
                run()
            except Unsatisfiable:  # nothing valid (or invalid) to generate here
                pass
        self.calls += made
        return made


def api_operations(app) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, OpenAPI path, roles allowed) of every documented API operation."""
    from services.api.docs import _openapi_path

    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if not rule.endpoint.startswith("api.") or getattr(view, "api_doc", None) is None:
            continue
        roles = getattr(view, "allowed_roles", None)
        allowed = tuple(sorted(r.value for r in roles)) if roles else tuple(ROLE_ACCOUNTS)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, _openapi_path(rule.rule, "/api/v1"), allowed))
    return sorted(out, key=lambda item: (item[1], item[0]))


def examples_from_env(default: int) -> int:
    return int(os.environ.get("FUZZ_EXAMPLES", default))
