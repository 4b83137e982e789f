"""Business-day calendar: weekends, public holidays and make-up workdays (调休) of the PRC.

Case deadlines are counted in working days (see design/cases.md, Deadlines). The rules:

- A *business day* is a local calendar day that is a make-up workday, or else a Monday-Friday that
  is not a public holiday. The make-up list wins over the holiday list and the weekend.
- A *working day* is a whole local calendar day (Asia/Shanghai by default, via zoneinfo), from
  local midnight to the next local midnight.
- Business time runs only on business days and not at all on other days; it is measured as
  elapsed (absolute) time, so one working day is 24 hours of business time.
- A deadline of N working days from a dispatch at instant t is the instant when N x 24 h of
  business time has elapsed since t. Dispatched Friday 15:00, one working day is due Monday 15:00
  (when Monday is a business day); dispatched Saturday 10:00, it is due at the end of Monday,
  i.e. Tuesday 00:00 local. N may be fractional (0.5 = 12 hours of business time).
- `business_time_between(start, end)` is the inverse: the business time inside [start, end). It
  serves the "80 % of the time used" check, and pausing the clock while a case is on hold (add
  the business time spent on hold back to the deadline).

Inputs must be timezone-aware datetimes (ValueError otherwise); results are in UTC.

The calendar is data in the `calendar_days` table, edited by an administrator; `calendar_data.py`
holds the official notices it is first filled from. `load_calendar()` reads it in one query; it is
deliberately not cached in the process, so every worker sees an administrator's change at once
(a deadline sweep loads it once per run).
"""
from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from services.core import audit
from services.core.calendar_data import CALENDAR_DAYS
from services.core.errors import NotFound, ValidationFailed
from services.core.types import str_enum
from services.extensions import db

DEFAULT_TZ = "Asia/Shanghai"
NAME_MAX_LENGTH = 80
ONE_DAY = timedelta(days=1)


class DayKind(enum.Enum):
    HOLIDAY = "holiday"  # a day off, even if it is a Monday-Friday
    WORKDAY = "workday"  # a Saturday or Sunday that is worked (调休上班)


class CalendarDay(db.Model):
    """One day that differs from the plain Monday-Friday week."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[DayKind] = mapped_column(str_enum(DayKind, length=16))
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))


class BusinessCalendar:
    """Working-day arithmetic over a fixed set of holidays and make-up workdays (no DB, no Flask)."""

    def __init__(
        self, holidays: Iterable[date] = (), workdays: Iterable[date] = (), tz: str = DEFAULT_TZ
    ) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self.tz = ZoneInfo(tz)

    @classmethod
    def from_entries(
        cls, entries: Iterable[tuple[date, DayKind | str]], tz: str = DEFAULT_TZ
    ) -> BusinessCalendar:
        """Build from (day, kind) pairs, as stored in `calendar_days` or listed in calendar_data."""
        holidays: set[date] = set()
        workdays: set[date] = set()
        for day, kind in entries:
            (workdays if DayKind(kind) is DayKind.WORKDAY else holidays).add(day)
        return cls(holidays, workdays, tz)

    def is_business_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_business_days(self, start: datetime, days: float) -> datetime:
        """The instant when `days` x 24 h of business time has elapsed since `start` (UTC)."""
        if days < 0:
            raise ValueError("days must not be negative")
        cursor = self._to_utc(start)
        remaining = timedelta(days=days)
        if not remaining:
            return cursor
        day = cursor.astimezone(self.tz).date()
        # Terminates: only finitely many days are holidays, so business days keep coming.
        while True:
            day_end = self._day_start(day + ONE_DAY)
            if self.is_business_day(day):
                available = day_end - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
            cursor = day_end
            day += ONE_DAY

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time inside [start, end); negative when end is before start."""
        lo, hi = self._to_utc(start), self._to_utc(end)
        if hi < lo:
            return -self.business_time_between(end, start)
        total = timedelta(0)
        day, last = lo.astimezone(self.tz).date(), hi.astimezone(self.tz).date()
        while day <= last:
            if self.is_business_day(day):
                overlap = min(hi, self._day_start(day + ONE_DAY)) - max(lo, self._day_start(day))
                if overlap > timedelta(0):
                    total += overlap
            day += ONE_DAY
        return total

    def _day_start(self, day: date) -> datetime:
        # Local midnight as a UTC instant: arithmetic between two datetimes that share a
        # ZoneInfo is wall-clock arithmetic in Python, which would be wrong across a DST change.
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(timezone.utc)

    @staticmethod
    def _to_utc(value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value!r} is a naive datetime; pass a timezone-aware one")
        return value.astimezone(timezone.utc)


def load_calendar() -> BusinessCalendar:
    """The calendar as currently stored (one query)."""
    rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    return BusinessCalendar.from_entries((row.day, row.kind) for row in rows)


def calendar_rows() -> list[dict]:
    """The shipped calendar data as rows for a migration's `op.bulk_insert`."""
    return [
        {"day": day, "kind": DayKind(kind).value, "name": name} for day, kind, name in CALENDAR_DAYS
    ]


def _snapshot(row: CalendarDay) -> dict[str, str]:
    return {"kind": row.kind.value, "name": row.name}


def set_calendar_day(*, actor_id: int | None, day: date, kind: DayKind, name: str) -> CalendarDay:
    """Mark one day as a day off or a make-up workday, replacing any entry it had."""
    try:
        kind = DayKind(kind)
    except ValueError:
        message = str(_l("Choose a day off or a make-up workday."))
        raise ValidationFailed(message, fields={"kind": message}) from None
    name = (name or "").strip()
    if not name:
        message = str(_l("Give the day a name, e.g. 春节 Spring Festival."))
        raise ValidationFailed(message, fields={"name": message})
    if len(name) > NAME_MAX_LENGTH:
        message = str(_l("Use at most %(n)d characters.", n=NAME_MAX_LENGTH))
        raise ValidationFailed(message, fields={"name": message})
    # Monday-Friday is already a working day; a make-up workday there is almost surely a typo.
    if kind is DayKind.WORKDAY and day.weekday() < 5:
        message = str(_l("A make-up workday must be a Saturday or a Sunday."))
        raise ValidationFailed(message, fields={"day": message})

    row = db.session.get(CalendarDay, day)
    before = _snapshot(row) if row else {}
    if row is None:
        row = CalendarDay(day=day, kind=kind, name=name)
        db.session.add(row)
    else:
        row.kind, row.name = kind, name
    after = _snapshot(row)
    if after != before:  # saving an unchanged day is not an event worth auditing
        audit.record(
            action="calendar.day_set",
            object_type="calendar_day",
            object_id=day.isoformat(),
            actor_id=actor_id,
            before=before,
            after=after,
        )
    db.session.flush()
    return row


def remove_calendar_day(*, actor_id: int | None, day: date) -> None:
    """Drop a day's entry, so it falls back to the plain Monday-Friday rule."""
    row = db.session.get(CalendarDay, day)
    if row is None:
        raise NotFound(str(_l("There is no calendar entry for %(day)s.", day=day.isoformat())))
    audit.record(
        action="calendar.day_removed",
        object_type="calendar_day",
        object_id=day.isoformat(),
        actor_id=actor_id,
        before=_snapshot(row),
        after={},
    )
    db.session.delete(row)
    db.session.flush()
