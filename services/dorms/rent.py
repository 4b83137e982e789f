"""Rent accrual and the monthly statement of a park.

Rules (decided here; the design says only "per bed-night, part months prorated"):

* **Nights.** A stay is charged for the nights from `start_date` (the check-in day, included)
  to `end_date` (the check-out day, excluded): someone who moves in on the 1st and out on the
  10th slept 9 nights. A stay still open is counted to the end of the month, so the month's
  rent can be deducted from that month's pay; a later check-out lowers it on the next statement.
  Moving in and out on the same day costs nothing.
* **Proration.** A month's rent is `Room.rent_fen` (per bed per month, the room's rent today:
  rents have no history yet) × nights in the month ÷ days in that month, so a full month costs
  exactly the rent whether it has 28 or 31 days.
* **Rounding.** Once per stay and month, to whole fen, half up (0.5 fen → 1 fen); the subsidy is
  rounded the same way from the rounded gross rent, and the worker's share is the rest, so
  subsidy + worker share always equals the gross rent.
* **Subsidy.** The employer's `RentSubsidy` in force on the month's first day (the latest
  `valid_from` not after it) gives the percentage the enterprise pays. The worker's employer is
  their organisation now (a worker who changed employer is billed to the new one); workers
  without an employer (gig workers) pay in full.
* **Paid and unpaid.** Payments are the worker's share; unpaid = worker share − paid. It can be
  negative (a credit) when a back-dated check-out or a new subsidy lowers a month already paid.

`accrue`, `nights_in_month` and `split_subsidy` are pure; `monthly_statement` reads the database
in three queries whatever the number of stays (a park has a few thousand beds, so the statement
is computed whole and paginated afterwards; totals need every row anyway).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from services.accounts.models import Organisation, OrgKind, User
from services.core.errors import ValidationFailed
from services.core.pii import mask_phone
from services.dorms.models import Bed, Building, Room, Stay, StayStatus
from services.dorms.rent_models import RentPayment, RentSubsidy
from services.extensions import db

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
BILLED_STAY = (StayStatus.ACTIVE, StayStatus.ENDED)


def parse_month(text: str | None) -> date:
    """`YYYY-MM` → the month's first day; anything else is a ValidationFailed a person can read."""
    match = _MONTH.match((text or "").strip())
    if not match or not 2000 <= int(match[1]) <= 2100 or not 1 <= int(match[2]) <= 12:
        message = str(_l("Give the month as YYYY-MM, for example 2026-03."))
        raise ValidationFailed(message, fields={"month": message})
    return date(int(match[1]), int(match[2]), 1)


def month_key(month_first_day: date) -> str:
    return f"{month_first_day.year:04d}-{month_first_day.month:02d}"


def next_month(month_first_day: date) -> date:
    if month_first_day.month == 12:
        return date(month_first_day.year + 1, 1, 1)
    return date(month_first_day.year, month_first_day.month + 1, 1)


def days_in_month(month_first_day: date) -> int:
    return calendar.monthrange(month_first_day.year, month_first_day.month)[1]


def nights_in_month(stay_start: date, stay_end: date | None, month_first_day: date) -> int:
    """Nights of [stay_start, stay_end) that fall in the month; an open stay runs to the month's end."""
    first, after = month_first_day.replace(day=1), next_month(month_first_day.replace(day=1))
    start = max(stay_start, first)
    end = min(stay_end, after) if stay_end is not None else after
    return max(0, (end - start).days)


def _round_half_up(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator to the nearest integer, halves up (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def accrue(stay_start: date, stay_end: date | None, month_first_day: date,
           rent_fen_per_month: int) -> int:
    """The rent in fen a stay accrues in one month: rent × nights ÷ days in month, half up."""
    nights = nights_in_month(stay_start, stay_end, month_first_day)
    return _round_half_up(rent_fen_per_month * nights, days_in_month(month_first_day))


def split_subsidy(gross_fen: int, share_percent: int) -> tuple[int, int]:
    """(what the employer pays, what the worker pays) of a gross rent; the two add up to it."""
    subsidy = _round_half_up(gross_fen * share_percent, 100)
    return subsidy, gross_fen - subsidy


@dataclass
class StatementRow:
    stay_id: int
    worker_id: int
    worker_name: str
    phone_masked: str
    employer_id: int | None
    employer_code: str
    employer_name: str
    bed_label: str
    start_date: date
    end_date: date | None
    nights: int
    gross_fen: int
    share_percent: int
    subsidy_fen: int
    deduction_fen: int  # the worker's share, deducted from pay
    paid_fen: int

    @property
    def unpaid_fen(self) -> int:
        return self.deduction_fen - self.paid_fen


@dataclass
class EmployerTotal:
    employer_id: int | None
    employer_name: str
    workers: int = 0
    nights: int = 0
    gross_fen: int = 0
    subsidy_fen: int = 0
    deduction_fen: int = 0
    paid_fen: int = 0
    unpaid_fen: int = 0
    share_percents: set = field(default_factory=set)


def subsidies_in_force(park_id: int, month_first_day: date) -> dict[int, int]:
    """employer id → share percent in force on the month's first day, for one park."""
    rows = db.session.execute(
        select(RentSubsidy.employer_id, RentSubsidy.share_percent)
        .where(RentSubsidy.park_id == park_id, RentSubsidy.valid_from <= month_first_day)
        .order_by(RentSubsidy.valid_from))
    return {employer_id: percent for employer_id, percent in rows}  # the latest wins


def paid_by_stay(stay_ids: list[int], month: str) -> dict[int, int]:
    if not stay_ids:
        return {}
    return dict(db.session.execute(
        select(RentPayment.stay_id, func.sum(RentPayment.amount_fen))
        .where(RentPayment.month == month, RentPayment.stay_id.in_(stay_ids))
        .group_by(RentPayment.stay_id)).all())


def monthly_statement(park_id: int, month: date | str, *,
                      employer_id: int | None = None,
                      stay_id: int | None = None) -> list[StatementRow]:
    """One row per stay of the park that has nights in the month, by employer then bed."""
    first = parse_month(month) if isinstance(month, str) else month.replace(day=1)
    after = next_month(first)
    employer = Organisation
    query = (
        select(Stay.id, Stay.start_date, Stay.end_date, User.id, User.name, User.username,
               User.phone, employer.id, employer.code, employer.name, Building.code, Room.number,
               Bed.label, Room.rent_fen)
        .join(Bed, Bed.id == Stay.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id).join(User, User.id == Stay.worker_id)
        .outerjoin(employer, and_(employer.id == User.org_id, employer.kind == OrgKind.EMPLOYER))
        .where(Building.park_id == park_id, Stay.status.in_(BILLED_STAY),
               Stay.start_date.is_not(None), Stay.start_date < after,
               or_(Stay.end_date.is_(None), Stay.end_date > first))
        .order_by(employer.name, Building.code, Room.number, Bed.label, Stay.id))
    if employer_id is not None:
        query = query.where(User.org_id == employer_id)
    if stay_id is not None:
        query = query.where(Stay.id == stay_id)
    records = db.session.execute(query).all()
    paid = paid_by_stay([r[0] for r in records], month_key(first))
    percents = subsidies_in_force(park_id, first)
    rows = []
    for (stay_id, start, end, worker_id, name, username, phone, emp_id, emp_code, emp_name,
         building, room, bed, rent_fen) in records:
        nights = nights_in_month(start, end, first)
        if nights == 0:
            continue
        gross = accrue(start, end, first, rent_fen)
        percent = percents.get(emp_id, 0) if emp_id is not None else 0
        subsidy, deduction = split_subsidy(gross, percent)
        rows.append(StatementRow(
            stay_id=stay_id, worker_id=worker_id, worker_name=name or username,
            phone_masked=mask_phone(phone) if phone else "", employer_id=emp_id,
            employer_code=emp_code or "", employer_name=emp_name or "",
            bed_label=f"{building}-{room}-{bed}", start_date=start, end_date=end, nights=nights,
            gross_fen=gross, share_percent=percent, subsidy_fen=subsidy, deduction_fen=deduction,
            paid_fen=int(paid.get(stay_id, 0))))
    return rows


def totals_by_employer(rows: list[StatementRow]) -> tuple[list[EmployerTotal], EmployerTotal]:
    """Per-employer sums in the rows' order, and the grand total."""
    per: dict[int | None, EmployerTotal] = {}
    grand = EmployerTotal(employer_id=None, employer_name="")
    for row in rows:
        total = per.setdefault(row.employer_id, EmployerTotal(row.employer_id, row.employer_name))
        for target in (total, grand):
            target.workers += 1
            target.nights += row.nights
            target.gross_fen += row.gross_fen
            target.subsidy_fen += row.subsidy_fen
            target.deduction_fen += row.deduction_fen
            target.paid_fen += row.paid_fen
            target.unpaid_fen += row.unpaid_fen
            target.share_percents.add(row.share_percent)
    return list(per.values()), grand


def statement_row(stay: Stay, month_first_day: date) -> StatementRow | None:
    """The statement row of one stay for one month (None if it has no nights in that month)."""
    rows = monthly_statement(stay.bed.room.building.park_id, month_first_day, stay_id=stay.id)
    return rows[0] if rows else None


def rent_employers(park_id: int) -> list[Organisation]:
    """Employers a park's manager deals with: those in the park and those whose workers live there."""
    housed = (select(User.org_id).join(Stay, Stay.worker_id == User.id).join(Bed, Bed.id == Stay.bed_id)
              .join(Room, Room.id == Bed.room_id).join(Building, Building.id == Room.building_id)
              .where(Building.park_id == park_id, Stay.status.in_(BILLED_STAY)))
    subsidised = select(RentSubsidy.employer_id).where(RentSubsidy.park_id == park_id)
    return list(db.session.scalars(
        select(Organisation).where(Organisation.kind == OrgKind.EMPLOYER,
                                   or_(Organisation.park_id == park_id, Organisation.id.in_(housed),
                                       Organisation.id.in_(subsidised)))
        .order_by(Organisation.name)))


def subsidies(park_id: int) -> list[RentSubsidy]:
    """Every subsidy row of a park, newest first per employer."""
    return list(db.session.scalars(
        select(RentSubsidy).join(Organisation, Organisation.id == RentSubsidy.employer_id)
        .where(RentSubsidy.park_id == park_id)
        .order_by(Organisation.name, RentSubsidy.valid_from.desc())))
