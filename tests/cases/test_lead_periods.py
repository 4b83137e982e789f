"""Lead periods: the time each agency held a case, written by every operation that moves it."""
import services.cases.models  # noqa: F401

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.cases.models import CaseLeadPeriod
from services.cases.operations import handoffs, lifecycle
from services.extensions import db
from tests.cases.factories import agencies, file_case, load_calendar_rows

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(app):
    load_calendar_rows()
    return agencies()


def periods(case):
    rows = db.session.scalars(select(CaseLeadPeriod).where(CaseLeadPeriod.case_id == case.id)
                              .order_by(CaseLeadPeriod.id))
    return [(p.agency, p.ended_at is None) for p in rows]


def test_transfer_return_arbitration_and_resolution_each_close_and_open_a_period(world):
    case = file_case(world["worker"], category="other", now=T0)
    assert periods(case) == [("union", True)]
    h = handoffs.request_handoff(actor=world["union"]["cw"], case=case, kind="transfer",
                                 to_agency="civil", reason="民政职责", now=T0 + timedelta(hours=1))
    assert periods(case) == [("union", True)]  # nothing moves until civil accepts
    handoffs.accept_handoff(actor=world["civil"]["cw"], handoff=h, now=T0 + timedelta(hours=2))
    assert periods(case) == [("union", False), ("civil", True)]
    h = handoffs.request_handoff(actor=world["civil"]["cw"], case=case, kind="transfer",
                                 to_agency="hrss", reason="人社职责", now=T0 + timedelta(hours=3))
    handoffs.decline_handoff(actor=world["hrss"]["cw"], handoff=h, reason_code="not_our_remit",
                             basis="不属本局", now=T0 + timedelta(hours=4))
    assert periods(case)[-1] == ("civil", True) and len(periods(case)) == 2  # back to the sender
    lifecycle.accept_case(actor=world["civil"]["cw"], case=case)
    lifecycle.resolve(actor=world["civil"]["cw"], case=case, outcome="help_given", note="已帮扶",
                      now=T0 + timedelta(days=2))
    assert periods(case) == [("union", False), ("civil", False)]
    lifecycle.reopen(worker=world["worker"], case=case, reason="没解决", now=T0 + timedelta(days=3))
    assert periods(case) == [("union", False), ("civil", False), ("civil", True)]
    db.session.commit()


def test_one_open_period_per_case_is_a_database_rule(world):
    from sqlalchemy.exc import IntegrityError

    case = file_case(world["worker"], now=T0)
    db.session.add(CaseLeadPeriod(case_id=case.id, agency="union", started_at=T0))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
