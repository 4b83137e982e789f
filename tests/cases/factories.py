"""Case test data: the three agencies with staff, a coordinator, the calendar, a filed case."""
from __future__ import annotations

from datetime import datetime, timezone

from services.cases.operations import intake
from services.core.calendar import CalendarDay, calendar_rows
from services.extensions import db
from tests import concurrency
from tests.conftest import login
from tests.factories import make_org, make_user

ALL = ["union", "hrss", "civil"]


def load_calendar_rows() -> None:
    db.session.add_all(CalendarDay(**row) for row in calendar_rows())
    db.session.commit()


def agencies() -> dict:
    """{code: {"org", "cw", "cw2", "sup"}} plus "coordinator" and a "worker"."""
    out = {}
    for code in ALL:
        org = make_org("agency", code=code, name=code)
        out[code] = {"org": org, "cw": make_user("caseworker", org=org),
                     "cw2": make_user("caseworker", org=org), "sup": make_user("supervisor", org=org)}
    out["coordinator"] = make_user("coordinator")
    out["worker"] = make_user("worker")
    return out


def file_case(worker, category="wage_arrears", consent=None, now=None, employer="某某电子有限公司",
              actor=None):
    case = intake.submit_request(actor=actor or worker, worker=worker, category=category,
                                 description="三个月工资未发放", consent=consent or ALL,
                                 amount_fen=1_200_000, employer_name=employer,
                                 now=now or datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc))
    db.session.commit()
    return case


def client_for(app, user):
    """A test client signed in as `user`."""
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def at_once(app, user_ids, work) -> list[str]:
    """Run `work(user)` for each user at the same instant (see tests/concurrency.py)."""
    from services.accounts.models import User

    return concurrency.at_once(app, lambda user_id: work(db.session.get(User, user_id)),
                               [(user_id,) for user_id in user_ids])
