"""Rent: an enterprise's subsidy share, and payments of the worker's share.

Decisions: a subsidy starts on a month's first day and applies to whole months; setting one for
an employer, park and month that already has one replaces its percentage (audited with the old
value). A payment is for one stay and one month that has rent, may not be dated in the future,
and may not exceed what is still unpaid of that month's worker share at the time it is
recorded: an overpayment is a typing error far more often than a real prepayment. The stay row
is locked (PostgreSQL) while the unpaid amount is checked, so two managers recording the same
payment at the same moment cannot both pass the check.
"""
from __future__ import annotations

from datetime import date

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import select

from services.accounts.models import Organisation, OrgKind
from services.core.audit import record
from services.core.errors import Conflict, ValidationFailed
from services.dorms.models import Stay
from services.dorms.rent import month_key, statement_row
from services.dorms.rent_models import RentPayment, RentSubsidy
from services.extensions import db

MAX_FEN = 10_000_000


def _fail(message, field: str):
    text = str(message)
    return ValidationFailed(text, fields={field: text})


def set_subsidy(*, actor_id: int, park_id: int, employer_id: int, share_percent: int,
                valid_from: date) -> RentSubsidy:
    """The employer pays `share_percent` % of its workers' rent in the park from `valid_from` on."""
    employer = db.session.get(Organisation, employer_id)
    if employer is None or employer.kind is not OrgKind.EMPLOYER:
        raise _fail(_l("Choose an enterprise."), "employer")
    if not 0 <= share_percent <= 100:
        raise _fail(_l("The share is a percentage from 0 to 100."), "share_percent")
    if valid_from.day != 1:
        raise _fail(_l("A subsidy starts on the first day of a month."), "valid_from")
    subsidy = db.session.scalar(select(RentSubsidy).where(
        RentSubsidy.employer_id == employer_id, RentSubsidy.park_id == park_id,
        RentSubsidy.valid_from == valid_from))
    before = {"share_percent": subsidy.share_percent} if subsidy else {}
    if subsidy is None:
        subsidy = RentSubsidy(employer_id=employer_id, park_id=park_id, valid_from=valid_from,
                              share_percent=share_percent, set_by=actor_id)
        db.session.add(subsidy)
    subsidy.share_percent, subsidy.set_by = share_percent, actor_id
    db.session.flush()
    record(action="dorms.rent_subsidy_set", object_type="rent_subsidy", object_id=subsidy.id,
           actor_id=actor_id, before=before,
           after={"share_percent": share_percent, "employer_id": employer_id, "park_id": park_id,
                  "valid_from": valid_from.isoformat()})
    db.session.flush()
    return subsidy


def record_payment(*, actor_id: int, stay: Stay, month_first_day: date, amount_fen: int,
                   paid_on: date) -> RentPayment:
    """A payment of the worker's share of one stay's rent for one month."""
    if not 0 < amount_fen <= MAX_FEN:
        raise _fail(_l("Enter an amount above zero."), "amount_yuan")
    if paid_on > date.today():
        raise _fail(_l("The payment date is in the future."), "paid_on")
    db.session.execute(select(Stay.id).where(Stay.id == stay.id).with_for_update())
    row = statement_row(stay, month_first_day)
    if row is None:
        raise _fail(_l("This stay has no rent in that month."), "month")
    if amount_fen > row.unpaid_fen:
        message = str(_l("Only %(yuan)s yuan of that month is unpaid.",
                         yuan=f"{max(0, row.unpaid_fen) / 100:.2f}"))
        raise Conflict(message, fields={"amount_yuan": message})
    payment = RentPayment(stay_id=stay.id, month=month_key(month_first_day), amount_fen=amount_fen,
                          paid_on=paid_on, recorded_by=actor_id)
    db.session.add(payment)
    db.session.flush()
    record(action="dorms.rent_paid", object_type="stay", object_id=stay.id, actor_id=actor_id,
           after={"payment_id": payment.id, "month": payment.month, "amount_fen": amount_fen,
                  "paid_on": paid_on.isoformat()})
    db.session.flush()
    return payment
