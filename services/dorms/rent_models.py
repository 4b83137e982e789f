"""Rent models: an enterprise's subsidy of its workers' rent, and rent payments per stay-month.

Rent itself is not stored: it is accrued from the stay dates and the room's `rent_fen` whenever
a statement is made (see `services.dorms.rent`). What is stored is what people decide (the
subsidy share) and what happened (a payment), so a corrected check-out date or a new subsidy
shows up in the next statement without rewriting history.

`RentPayment.month` is the month paid for, as ``YYYY-MM`` text: it sorts and compares as a
month, and the CHECK keeps other shapes out on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.accounts.models import Organisation
from services.core.audit import utcnow
from services.dorms.models import Stay
from services.extensions import db


class RentSubsidy(db.Model):
    """From `valid_from` (a month's first day) on, the employer pays `share_percent` of the rent
    of its workers living in the park, until a later subsidy row for the same employer and park."""

    __tablename__ = "dorm_rent_subsidies"
    __table_args__ = (
        UniqueConstraint("employer_id", "park_id", "valid_from"),
        CheckConstraint("share_percent BETWEEN 0 AND 100", name="share_percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    share_percent: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    employer: Mapped[Organisation] = relationship(foreign_keys=[employer_id])


class RentPayment(db.Model):
    """A payment of the worker's share of one stay's rent for one month (payroll deduction or cash)."""

    __tablename__ = "dorm_rent_payments"
    __table_args__ = (
        Index("ix_dorm_rent_payments_stay_month", "stay_id", "month"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("month LIKE '____-__'", name="month_shape"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stay_id: Mapped[int] = mapped_column(ForeignKey("dorm_stays.id"))
    month: Mapped[str] = mapped_column(String(7))
    amount_fen: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    stay: Mapped[Stay] = relationship()
