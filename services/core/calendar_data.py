"""The PRC business calendar shipped with Anju: public-holiday days off and make-up workdays (调休).

Each entry is `(date, kind, name)`, kind "holiday" (a day off, including weekend days inside a
holiday block) or "workday" (a Saturday or Sunday that is worked, 补班). Ordinary weekends and
Monday-Friday need no entry. The first migration loads these rows into `calendar_days`; from then
on the database is the truth and an administrator edits it there (`set_calendar_day`), so a
change to this file does not reach a running site by itself.

2026 — OFFICIAL: 国务院办公厅关于2026年部分节假日安排的通知 (issued 2025-11-04,
https://www.gov.cn/zhengce/zhengceku/202511/content_7047091.htm, as carried by Xinhua).

2027 — PROJECTED, NOT OFFICIAL: the State Council notice for 2027 was not available when this was
written. The days below apply the fixed days of the 全国年节及纪念日放假办法 as revised on
2024-11-10 (in force from 2025: 元旦 1 day, 春节 4 days from 除夕, 清明 1, 劳动节 2, 端午 1,
中秋 1, 国庆 3; a statutory day on a weekend is made up on a weekday) to the 2027 dates
(除夕 Feb 5, 清明 Apr 5, 端午 Jun 9, 中秋 Sep 15), with the 调休 pattern of the 2025/2026
notices: long breaks for 春节, 劳动节 and 国庆 bridged by at most two make-up days, none for a
holiday that falls mid-week. CHECK 2027 AGAINST THE OFFICIAL NOTICE WHEN IT IS PUBLISHED (usually
in November of the year before) and correct the `calendar_days` rows in the admin.
"""
from __future__ import annotations

from datetime import date, timedelta

HOLIDAY = "holiday"
WORKDAY = "workday"

OFFICIAL_YEARS = frozenset({2026})
PROJECTED_YEARS = frozenset({2027})

NEW_YEAR = "元旦 New Year's Day"
SPRING_FESTIVAL = "春节 Spring Festival"
QINGMING = "清明节 Qingming Festival"
LABOUR_DAY = "劳动节 Labour Day"
DRAGON_BOAT = "端午节 Dragon Boat Festival"
MID_AUTUMN = "中秋节 Mid-Autumn Festival"
NATIONAL_DAY = "国庆节 National Day"


def _off(first: date, last: date, name: str) -> tuple[tuple[date, str, str], ...]:
    """Every day from first to last inclusive, as days off (mirrors the notices' "X日至Y日")."""
    return tuple(
        (first + timedelta(days=i), HOLIDAY, name) for i in range((last - first).days + 1)
    )


def _work(day: date, holiday_name: str) -> tuple[date, str, str]:
    """A make-up workday for the holiday, e.g. "春节补班 Spring Festival make-up workday"."""
    chinese, english = holiday_name.split(" ", 1)
    return (day, WORKDAY, f"{chinese}补班 {english} make-up workday")


CALENDAR_DAYS: tuple[tuple[date, str, str], ...] = (
    # ---- 2026, official ----
    *_off(date(2026, 1, 1), date(2026, 1, 3), NEW_YEAR),
    _work(date(2026, 1, 4), NEW_YEAR),  # Sun
    _work(date(2026, 2, 14), SPRING_FESTIVAL),  # Sat
    *_off(date(2026, 2, 15), date(2026, 2, 23), SPRING_FESTIVAL),
    _work(date(2026, 2, 28), SPRING_FESTIVAL),  # Sat
    *_off(date(2026, 4, 4), date(2026, 4, 6), QINGMING),
    *_off(date(2026, 5, 1), date(2026, 5, 5), LABOUR_DAY),
    _work(date(2026, 5, 9), LABOUR_DAY),  # Sat
    *_off(date(2026, 6, 19), date(2026, 6, 21), DRAGON_BOAT),
    _work(date(2026, 9, 20), NATIONAL_DAY),  # Sun
    *_off(date(2026, 9, 25), date(2026, 9, 27), MID_AUTUMN),
    *_off(date(2026, 10, 1), date(2026, 10, 7), NATIONAL_DAY),
    _work(date(2026, 10, 10), NATIONAL_DAY),  # Sat
    # ---- 2027, projected (see module docstring) ----
    *_off(date(2027, 1, 1), date(2027, 1, 3), NEW_YEAR),  # Fri-Sun, no make-up needed
    _work(date(2027, 1, 31), SPRING_FESTIVAL),  # Sun
    # 除夕 Fri Feb 5 to 初三 Mon Feb 8; Sat/Sun made up on Feb 9-10; Feb 11-12 bridged.
    *_off(date(2027, 2, 5), date(2027, 2, 14), SPRING_FESTIVAL),
    _work(date(2027, 2, 20), SPRING_FESTIVAL),  # Sat
    *_off(date(2027, 4, 3), date(2027, 4, 5), QINGMING),  # 清明 Mon Apr 5
    # May 1-2 fall on Sat/Sun, made up on May 3-4; May 5 bridged.
    *_off(date(2027, 5, 1), date(2027, 5, 5), LABOUR_DAY),
    _work(date(2027, 5, 8), LABOUR_DAY),  # Sat
    *_off(date(2027, 6, 9), date(2027, 6, 9), DRAGON_BOAT),  # Wed, single day (as 元旦 2025)
    *_off(date(2027, 9, 15), date(2027, 9, 15), MID_AUTUMN),  # Wed, single day
    _work(date(2027, 9, 26), NATIONAL_DAY),  # Sun
    # Oct 2-3 fall on Sat/Sun, made up on Oct 4-5; Oct 6-7 bridged (the 2021 layout).
    *_off(date(2027, 10, 1), date(2027, 10, 7), NATIONAL_DAY),
    _work(date(2027, 10, 9), NATIONAL_DAY),  # Sat
)
