"""Deadlines on the business calendar (National Day 2026, make-up workdays) and the sweep."""
import services.cases.models  # noqa: F401

from datetime import datetime, timedelta, timezone

import pytest

from services.cases.models import DeadlineState
from services.cases.operations import deadlines, intake
from tests.cases.factories import agencies, file_case, load_calendar_rows

UTC = timezone.utc


@pytest.fixture
def world(app):
    load_calendar_rows()
    return agencies()


def test_deadline_across_national_day_and_make_up_saturday(world):
    case = file_case(world["worker"], category="social_insurance",
                     now=datetime(2026, 9, 30, 2, tzinfo=UTC))  # Wed 10:00 local
    assert intake.as_utc(case.ack_due_at) == datetime(2026, 10, 8, 2, tzinfo=UTC)
    # 10 working days: 9-30, 10-8/9, Sat 10-10 (make-up), 10-12..16, 10-19 -> due 10-20 10:00
    assert intake.as_utc(case.resolve_due_at) == datetime(2026, 10, 20, 2, tzinfo=UTC)


def test_make_up_sunday_counts(world):
    case = file_case(world["worker"], category="social_insurance",
                     now=datetime(2026, 9, 19, 2, tzinfo=UTC))  # Sat; Sun 9-20 is worked
    assert intake.as_utc(case.ack_due_at) == datetime(2026, 9, 20, 16, tzinfo=UTC)


def test_sweep_marks_at_risk_then_breached_and_climbs_the_ladder(world):
    start = datetime(2026, 11, 2, 2, tzinfo=UTC)
    case = file_case(world["worker"], category="social_insurance", now=start)  # due 11-16
    report = deadlines.sweep(now=start + timedelta(days=1))
    assert report["ack_breached"] == 1 and case.escalation_level == 2
    report = deadlines.sweep(now=datetime(2026, 11, 13, 4, tzinfo=UTC))  # 8.1 of 10 days
    assert case.deadline_state is DeadlineState.AT_RISK and report["at_risk"] == 1
    deadlines.sweep(now=datetime(2026, 11, 16, 3, tzinfo=UTC))
    assert case.deadline_state is DeadlineState.BREACHED and case.escalation_level == 2
    report = deadlines.sweep(now=datetime(2026, 11, 18, 3, tzinfo=UTC))
    assert case.escalation_level == 3 and report["handoffs_expired"] == 0
