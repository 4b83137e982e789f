"""Accept, assignment, hold/resume pausing the clock, resolve, confirm, reopen, auto-close."""
import services.cases.models  # noqa: F401

from datetime import datetime, timedelta, timezone

import pytest

from services.cases.models import CaseStatus
from services.cases.operations import intake, lifecycle
from services.core.errors import InvalidState, NotFound
from tests.cases.factories import agencies, file_case, load_calendar_rows

UTC = timezone.utc
START = datetime(2026, 11, 2, 2, tzinfo=UTC)


@pytest.fixture
def world(app):
    load_calendar_rows()
    return agencies()


def test_full_life_with_hold_and_reopen(world):
    hrss = world["hrss"]
    case = file_case(world["worker"], category="social_insurance", now=START)
    lifecycle.set_availability(actor=hrss["sup"], user=hrss["cw"], available=False)
    lifecycle.accept_case(actor=hrss["sup"], case=case, now=START)
    assert case.status is CaseStatus.ACCEPTED and case.owner_id == hrss["cw2"].id
    lifecycle.start_work(actor=hrss["cw2"], case=case)
    due = intake.as_utc(case.resolve_due_at)
    lifecycle.hold(actor=hrss["cw2"], case=case, reason="等待企业提供缴费记录", now=START)
    lifecycle.resume(actor=hrss["cw2"], case=case, now=START + timedelta(days=7))  # 5 working days
    assert intake.as_utc(case.resolve_due_at) == due + timedelta(days=7)
    lifecycle.resolve(actor=hrss["cw2"], case=case, outcome="help_given", note="已补缴",
                      now=START + timedelta(days=8))
    with pytest.raises(NotFound):
        lifecycle.reopen(worker=world["union"]["cw"], case=case, reason="x")
    lifecycle.reopen(worker=world["worker"], case=case, reason="仍未补缴",
                     now=START + timedelta(days=20))
    assert case.status is CaseStatus.REOPENED and case.reopen_count == 1
    lifecycle.resolve(actor=hrss["cw2"], case=case, outcome="help_given", note="已补缴",
                      now=START + timedelta(days=21))
    lifecycle.confirm(worker=world["worker"], case=case, satisfaction=5)
    assert case.status is CaseStatus.CLOSED and case.satisfaction == 5
    with pytest.raises(InvalidState):
        lifecycle.reopen(worker=world["worker"], case=case, reason="x",
                         now=START + timedelta(days=40))


def test_auto_close_withdraw_and_not_accepted(world):
    hrss = world["hrss"]["cw"]
    case = file_case(world["worker"], category="social_insurance", now=START)
    lifecycle.accept_case(actor=hrss, case=case)
    lifecycle.resolve(actor=hrss, case=case, outcome="not_eligible", note="不符合条件",
                      now=START)
    assert lifecycle.close_unanswered(now=START + timedelta(days=16)) == [case]
    other = file_case(world["worker"], category="social_insurance", now=START)
    lifecycle.withdraw(worker=world["worker"], case=other)
    assert other.status is CaseStatus.WITHDRAWN
    third = file_case(world["worker"], category="social_insurance", now=START)
    lifecycle.not_accept(actor=hrss, case=third, reason="已进入仲裁程序")
    assert third.status is CaseStatus.NOT_ACCEPTED
