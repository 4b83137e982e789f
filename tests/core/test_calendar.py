"""Tests for services.core.calendar: working-day arithmetic (pure) and the admin operations (DB).

The DB tests carry `_db` in their names and use the `app` fixture from tests/conftest.py.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

# Without a conftest the repository root may not be importable yet.

from services.core.calendar import (  # noqa: E402
    BusinessCalendar,
    CalendarDay,
    DayKind,
    calendar_rows,
    load_calendar,
    remove_calendar_day,
    set_calendar_day,
)
from services.core.calendar_data import CALENDAR_DAYS  # noqa: E402
from services.core.errors import NotFound, ValidationFailed  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = BusinessCalendar.from_entries((day, kind) for day, kind, _ in CALENDAR_DAYS)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def after(start: datetime, days: float) -> datetime:
    """The deadline, read back as Shanghai wall-clock time."""
    return CAL.add_business_days(start, days).astimezone(SHANGHAI)


# ---- the data ----


def test_data_has_no_duplicate_days_and_names_fit():
    counts = Counter(day for day, _, _ in CALENDAR_DAYS)
    assert [day for day, n in counts.items() if n > 1] == []
    assert all(0 < len(name) <= 80 for _, _, name in CALENDAR_DAYS)


def test_make_up_workdays_are_weekend_days():
    workdays = [day for day, kind, _ in CALENDAR_DAYS if kind == "workday"]
    assert workdays and all(day.weekday() >= 5 for day in workdays)


def test_2026_matches_the_state_council_notice():
    holidays = sorted(d for d, k, _ in CALENDAR_DAYS if k == "holiday" and d.year == 2026)
    workdays = sorted(d for d, k, _ in CALENDAR_DAYS if k == "workday" and d.year == 2026)
    assert len(holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert workdays == [
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
        date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10),
    ]


def test_2027_is_present():
    assert {d.year for d, _, _ in CALENDAR_DAYS} == {2026, 2027}
    assert not CAL.is_business_day(date(2027, 2, 6))  # 春节 2027, projected


def test_calendar_rows_are_plain_values():
    rows = calendar_rows()
    assert len(rows) == len(CALENDAR_DAYS)
    assert rows[0] == {"day": date(2026, 1, 1), "kind": "holiday", "name": "元旦 New Year's Day"}
    assert {row["kind"] for row in rows} == {"holiday", "workday"}


# ---- business days ----


def test_spring_festival_2026_is_off():
    for offset in range(9):
        assert not CAL.is_business_day(date(2026, 2, 15) + timedelta(days=offset))
    assert CAL.is_business_day(date(2026, 2, 24))


def test_spring_festival_make_up_saturdays_are_business_days():
    assert CAL.is_business_day(date(2026, 2, 14))
    assert CAL.is_business_day(date(2026, 2, 28))


def test_ordinary_weekend_is_off_and_ordinary_weekday_is_on():
    assert not CAL.is_business_day(date(2026, 3, 7))  # Saturday
    assert not CAL.is_business_day(date(2026, 3, 8))  # Sunday
    assert CAL.is_business_day(date(2026, 3, 9))  # Monday


def test_workday_list_wins_over_holiday_list():
    day = date(2026, 3, 7)
    assert BusinessCalendar({day}, {day}).is_business_day(day)


# ---- deadlines ----


def test_friday_afternoon_plus_one_is_monday_same_time():
    assert after(local(2026, 3, 13, 15, 0), 1) == local(2026, 3, 16, 15, 0)


def test_saturday_dispatch_plus_one_is_end_of_monday():
    assert after(local(2026, 3, 14, 10, 0), 1) == local(2026, 3, 17, 0, 0)


def test_result_is_utc():
    due = CAL.add_business_days(local(2026, 3, 13, 15, 0), 1)
    assert due.tzinfo is timezone.utc
    assert due == datetime(2026, 3, 16, 7, 0, tzinfo=timezone.utc)


def test_input_in_another_zone_means_the_same_instant():
    start = datetime(2026, 3, 13, 7, 0, tzinfo=timezone.utc)  # Friday 15:00 in Shanghai
    assert after(start, 1) == local(2026, 3, 16, 15, 0)


def test_deadline_across_national_day_2026():
    # Sep 30 (Wed) gives 14 h; Oct 1-7 are off; the remaining 10 h run on Thursday Oct 8.
    assert after(local(2026, 9, 30, 10, 0), 1) == local(2026, 10, 8, 10, 0)


def test_make_up_sunday_counts():
    assert CAL.is_business_day(date(2026, 9, 20))
    assert after(local(2026, 9, 18, 15, 0), 1) == local(2026, 9, 20, 15, 0)
    assert after(local(2026, 9, 19, 10, 0), 1) == local(2026, 9, 21, 0, 0)


def test_deadline_across_spring_festival_uses_make_up_saturday():
    start = local(2026, 2, 13, 9, 0)  # Friday before the festival
    assert after(start, 1) == local(2026, 2, 14, 9, 0)
    assert after(start, 2) == local(2026, 2, 24, 9, 0)


def test_fractional_and_zero_days():
    assert after(local(2026, 3, 13, 9, 0), 0.5) == local(2026, 3, 13, 21, 0)
    assert after(local(2026, 3, 14, 9, 0), 0) == local(2026, 3, 14, 9, 0)


def test_long_span():
    start = local(2026, 1, 5, 9, 0)
    due = CAL.add_business_days(start, 300)
    assert CAL.business_time_between(start, due) == timedelta(days=300)


def test_business_time_between_skips_weekend_and_holidays():
    assert CAL.business_time_between(local(2026, 3, 13, 15), local(2026, 3, 16, 15)) == timedelta(
        hours=24
    )
    assert CAL.business_time_between(local(2026, 10, 1), local(2026, 10, 8)) == timedelta(0)
    assert CAL.business_time_between(local(2026, 3, 16, 15), local(2026, 3, 13, 15)) == timedelta(
        hours=-24
    )


def test_business_time_between_is_the_inverse_for_a_business_moment():
    start, end = local(2026, 9, 30, 10, 0), local(2026, 10, 9, 16, 30)
    used = CAL.business_time_between(start, end)
    assert used == timedelta(hours=14 + 24 + 16.5)
    assert after(start, used / timedelta(days=1)) == end


def test_round_trip_add_then_between():
    # Starts every 37 h 17 min over two years land at all hours, on every kind of day.
    start = local(2025, 12, 1, 0, 0)
    while start < local(2028, 1, 1):
        for days in (0, 0.25, 1, 2.5, 5, 15):
            due = CAL.add_business_days(start, days)
            assert due >= start
            assert CAL.business_time_between(start, due) == timedelta(days=days), (start, days)
        start += timedelta(hours=37, minutes=17)


@pytest.mark.parametrize("method", ["add", "between_start", "between_end"])
def test_naive_datetime_raises(method: str):
    naive, aware = datetime(2026, 3, 13, 15, 0), local(2026, 3, 13, 15, 0)
    with pytest.raises(ValueError):
        if method == "add":
            CAL.add_business_days(naive, 1)
        elif method == "between_start":
            CAL.business_time_between(naive, aware)
        else:
            CAL.business_time_between(aware, naive)


def test_negative_days_raise():
    with pytest.raises(ValueError):
        CAL.add_business_days(local(2026, 3, 13, 15, 0), -1)


# ---- operations (database) ----


def _audit_events():
    from services.core.audit import AuditEvent
    from services.extensions import db

    return db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()


def test_set_calendar_day_creates_and_audits_db(app):
    row = set_calendar_day(
        actor_id=None, day=date(2028, 1, 1), kind=DayKind.HOLIDAY, name=" 元旦 New Year's Day "
    )
    assert (row.day, row.kind, row.name) == (date(2028, 1, 1), DayKind.HOLIDAY, "元旦 New Year's Day")
    [event] = _audit_events()
    assert event.action == "calendar.day_set"
    assert event.object_type == "calendar_day" and event.object_id == "2028-01-01"
    assert event.changes == {"kind": [None, "holiday"], "name": [None, "元旦 New Year's Day"]}


def test_set_calendar_day_updates_with_before_and_after_db(app):
    set_calendar_day(actor_id=None, day=date(2028, 1, 2), kind=DayKind.HOLIDAY, name="元旦 A")
    set_calendar_day(actor_id=None, day=date(2028, 1, 2), kind=DayKind.WORKDAY, name="元旦补班 B")
    from services.extensions import db

    assert db.session.get(CalendarDay, date(2028, 1, 2)).kind is DayKind.WORKDAY
    assert _audit_events()[-1].changes == {
        "kind": ["holiday", "workday"],
        "name": ["元旦 A", "元旦补班 B"],
    }


def test_set_calendar_day_unchanged_writes_no_event_db(app):
    for _ in range(2):
        set_calendar_day(actor_id=None, day=date(2028, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    assert len(_audit_events()) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_set_calendar_day_rejects_bad_name_db(app, name: str):
    with pytest.raises(ValidationFailed):
        set_calendar_day(actor_id=None, day=date(2028, 1, 1), kind=DayKind.HOLIDAY, name=name)


def test_set_calendar_day_rejects_weekday_make_up_workday_db(app):
    with pytest.raises(ValidationFailed):
        set_calendar_day(actor_id=None, day=date(2028, 1, 3), kind=DayKind.WORKDAY, name="补班")


def test_remove_calendar_day_db(app):
    set_calendar_day(actor_id=None, day=date(2028, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    remove_calendar_day(actor_id=None, day=date(2028, 1, 1))
    from services.extensions import db

    assert db.session.get(CalendarDay, date(2028, 1, 1)) is None
    event = _audit_events()[-1]
    assert event.action == "calendar.day_removed"
    assert event.changes == {"kind": ["holiday", None], "name": ["元旦", None]}


def test_remove_missing_calendar_day_raises_not_found_db(app):
    with pytest.raises(NotFound):
        remove_calendar_day(actor_id=None, day=date(2028, 1, 1))


def test_load_calendar_reads_stored_rows_db(app):
    from services.extensions import db

    db.session.execute(db.insert(CalendarDay), calendar_rows())
    calendar = load_calendar()
    assert calendar.holidays == CAL.holidays and calendar.workdays == CAL.workdays
    set_calendar_day(actor_id=None, day=date(2026, 3, 9), kind=DayKind.HOLIDAY, name="测试 Test")
    assert not load_calendar().is_business_day(date(2026, 3, 9))
