"""Submitting a request: number, lead, consented referrals, deadlines, collective case."""
import services.cases.models  # noqa: F401

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from services.cases.models import Case, HandoffKind, HandoffStatus
from services.cases.operations import intake
from services.core.errors import Forbidden, ValidationFailed
from services.extensions import db
from tests.cases.factories import agencies, file_case, load_calendar_rows
from tests.factories import make_user


@pytest.fixture
def world(app):
    load_calendar_rows()
    return agencies()


def test_submit_numbers_routes_and_refers_only_consented(world):
    worker = world["worker"]
    first = file_case(worker)
    second = file_case(worker, category="hardship", consent=["union"])
    assert first.case_no == "YC-2026-000001" and second.case_no == "YC-2026-000002"
    assert first.lead_agency == "hrss" and first.owner_id is None
    assert [(h.kind, h.to_agency, h.status) for h in first.handoffs] == [
        (HandoffKind.REFERRAL, "union", HandoffStatus.REQUESTED)]
    assert second.handoffs == []  # civil not consented
    # dispatched Mon 2026-11-02 10:00 local: ack Tue 10:00, resolve after 15 working days
    assert intake.as_utc(first.ack_due_at) == datetime(2026, 11, 3, 2, tzinfo=timezone.utc)
    assert intake.as_utc(first.resolve_due_at) == datetime(2026, 11, 23, 2, tzinfo=timezone.utc)
    assert first.events[0].key == "submitted"


def test_staff_may_file_for_a_worker_but_not_others(world):
    staff = world["union"]["cw"]
    case = file_case(world["worker"], actor=staff)
    assert case.filed_by == staff.id
    with pytest.raises(Forbidden):
        file_case(world["worker"], actor=make_user("worker"))


def test_lead_must_be_consented_and_input_checked(world):
    with pytest.raises(ValidationFailed) as err:
        file_case(world["worker"], consent=["union"])
    assert "consent" in err.value.fields
    with pytest.raises(ValidationFailed):
        intake.submit_request(actor=world["worker"], worker=world["worker"], category="nope",
                              description="x", consent=["hrss"], amount_fen=-1)


def test_three_wage_requests_against_one_employer_open_a_collective_case(world):
    names = ["某某电子有限公司", "某某电子 有限公司", "某某电子（有限公司）"]
    cases = [file_case(make_user("worker"), employer=name) for name in names[:2]]
    assert db.session.scalar(select(Case).where(Case.is_collective.is_(True))) is None
    cases.append(file_case(make_user("worker"), employer=names[2]))
    collective = db.session.scalar(select(Case).where(Case.is_collective.is_(True)))
    assert collective.lead_agency == "hrss" and collective.worker_id is None
    assert all(c.collective_case_id == collective.id for c in cases)
    fourth = file_case(make_user("worker"), employer="某某电子有限公司")
    assert fourth.collective_case_id == collective.id
    assert db.session.query(Case).filter(Case.is_collective.is_(True)).count() == 1
