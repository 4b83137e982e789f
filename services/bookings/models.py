"""Welfare-service bookings: services, weekly patterns, slots, bookings, suspensions.

Invariants held by the database (the code checks first only to give a friendly message):

- `slots.booked_count` is the number of seats taken (bookings in `booked`, `attended` or
  `no_show`); CHECK `0 <= booked_count <= capacity`. A booking takes its seat with one atomic
  conditional UPDATE (`... WHERE booked_count < capacity`), so no number of simultaneous
  requests can overbook a slot.
- one live booking per worker and slot: a partial unique index over (slot_id, worker_id) for
  every status except the closed ones (`cancelled`, `expired`, `not_drawn`);
- an idempotency key is unique per worker, so a form sent twice makes one booking.
"""
from __future__ import annotations

import enum
from datetime import date, datetime, time, timezone

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer,
                        String, Text, Time, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.accounts.models import Organisation, User
from services.core.audit import utcnow
from services.core.types import str_enum
from services.extensions import db


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class Category(str, enum.Enum):
    LEGAL = "legal"
    TRAINING = "training"
    HEALTH = "health"
    COUNSELLING = "counselling"
    CHILDCARE = "childcare"
    REST_STATION = "rest_station"
    OTHER = "other"


CATEGORY_LABELS = {
    Category.LEGAL: _l("Legal consultation"),
    Category.TRAINING: _l("Skills training"),
    Category.HEALTH: _l("Health check-up"),
    Category.COUNSELLING: _l("Counselling"),
    Category.CHILDCARE: _l("Child care"),
    Category.REST_STATION: _l("Rest station"),
    Category.OTHER: _l("Other"),
}


class Eligibility(str, enum.Enum):
    ALL = "all"  # every worker
    PLATFORM = "platform"  # gig workers: riders, couriers, drivers
    EMPLOYEES = "employees"  # employees of park companies
    PARK = "park"  # employed in `eligible_park_id`, or living in its dormitories


ELIGIBILITY_LABELS = {
    Eligibility.ALL: _l("All workers"),
    Eligibility.PLATFORM: _l("Gig workers (riders, couriers, drivers)"),
    Eligibility.EMPLOYEES: _l("Employees of park companies"),
    Eligibility.PARK: _l("Workers of one park"),
}


class Mode(str, enum.Enum):
    FIRST_COME = "first_come"
    LOTTERY = "lottery"


MODE_LABELS = {
    Mode.FIRST_COME: _l("First come, first served"),
    Mode.LOTTERY: _l("Lottery at a deadline"),
}


class BookingStatus(str, enum.Enum):
    BOOKED = "booked"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    WAITLISTED = "waitlisted"
    EXPIRED = "expired"
    REQUESTED = "requested"  # lottery: waiting for the draw
    NOT_DRAWN = "not_drawn"


STATUS_LABELS = {
    BookingStatus.BOOKED: _l("Booked"),
    BookingStatus.ATTENDED: _l("Attended"),
    BookingStatus.NO_SHOW: _l("No-show"),
    BookingStatus.CANCELLED: _l("Cancelled"),
    BookingStatus.WAITLISTED: _l("On the waitlist"),
    BookingStatus.EXPIRED: _l("Waitlist expired"),
    BookingStatus.REQUESTED: _l("In the lottery"),
    BookingStatus.NOT_DRAWN: _l("Not drawn"),
}

# Statuses that hold a seat (counted by slots.booked_count).
SEATED = (BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW)
# Statuses after which the worker may book the same slot again.
CLOSED = (BookingStatus.CANCELLED, BookingStatus.EXPIRED, BookingStatus.NOT_DRAWN)
# Statuses that still wait for the slot (count towards the per-service limit while it is ahead).
PENDING = (BookingStatus.BOOKED, BookingStatus.WAITLISTED, BookingStatus.REQUESTED)

_closed_sql = "status NOT IN ('cancelled', 'expired', 'not_drawn')"

# Read-cache namespaces (services.core.cache) of this domain's data; an operation that changes
# what one covers touches it in the same transaction.
CATALOGUE_NS = "bookings:catalogue"  # active services, their slots and seat counts
SERVICES_NS = "bookings:services"  # what services are called (shown with a worker's bookings)


def worker_bookings_ns(worker_id: int) -> str:
    """One worker's bookings (the home panel, "you have booked this" on the service list)."""
    return f"user:{worker_id}:bookings"


class Service(db.Model):
    __tablename__ = "booking_services"
    __table_args__ = (
        CheckConstraint("max_active_bookings >= 1", name="max_active_positive"),
        CheckConstraint("no_show_limit >= 1", name="no_show_limit_positive"),
        CheckConstraint("no_show_window_days >= 1", name="no_show_window_positive"),
        CheckConstraint("suspension_days >= 0", name="suspension_days_not_negative"),
        CheckConstraint("open_days_before >= 0", name="open_days_not_negative"),
        CheckConstraint("close_minutes_before >= 0", name="close_minutes_not_negative"),
        CheckConstraint("cancel_hours_before >= 0", name="cancel_hours_not_negative"),
        CheckConstraint("lottery_hours_before >= 0", name="lottery_hours_not_negative"),
        CheckConstraint("eligibility <> 'park' OR eligible_park_id IS NOT NULL",
                        name="park_eligibility_has_park"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[Category] = mapped_column(str_enum(Category), index=True)
    location: Mapped[str] = mapped_column(String(200), default="")  # address, or "" = online
    map_url: Mapped[str | None] = mapped_column(String(300))
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    eligibility: Mapped[Eligibility] = mapped_column(str_enum(Eligibility), default=Eligibility.ALL)
    eligible_park_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    mode: Mapped[Mode] = mapped_column(str_enum(Mode), default=Mode.FIRST_COME)
    max_active_bookings: Mapped[int] = mapped_column(Integer, default=2)
    # Booking window and cancellation cutoff, applied to each new slot (a slot keeps its own).
    open_days_before: Mapped[int] = mapped_column(Integer, default=14)
    close_minutes_before: Mapped[int] = mapped_column(Integer, default=60)
    cancel_hours_before: Mapped[int] = mapped_column(Integer, default=12)
    lottery_hours_before: Mapped[int] = mapped_column(Integer, default=48)
    # No-show rule: `no_show_limit` no-shows within `no_show_window_days` suspend booking of this
    # service for `suspension_days`.
    no_show_limit: Mapped[int] = mapped_column(Integer, default=3)
    no_show_window_days: Mapped[int] = mapped_column(Integer, default=90)
    suspension_days: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id], lazy="joined")
    eligible_park: Mapped[Organisation | None] = relationship(foreign_keys=[eligible_park_id])


class SlotPattern(db.Model):
    """A weekly repeating pattern (e.g. Tue and Thu 09:00–11:00, local time) that made slots."""

    __tablename__ = "booking_slot_patterns"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("last_date >= first_date", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("booking_services.id", ondelete="CASCADE"),
                                            index=True)
    weekdays: Mapped[str] = mapped_column(String(20))  # ISO weekdays, "1,3,5" (1 = Monday)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    capacity: Mapped[int] = mapped_column(Integer)
    first_date: Mapped[date] = mapped_column(Date)
    last_date: Mapped[date] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SlotFigures:
    """What pages show of a slot, for the model and for the plain rows lists cache."""

    __slots__ = ()

    @property
    def free_seats(self) -> int:
        return max(0, self.capacity - self.booked_count)

    @property
    def is_lottery(self) -> bool:
        return self.draw_at is not None

    def booking_state(self, now: datetime) -> str:
        """'not_open', 'open' or 'closed' at `now` (for pages; the operation checks again)."""
        if now < as_utc(self.opens_at):
            return "not_open"
        return "open" if now < as_utc(self.closes_at) else "closed"


class Slot(SlotFigures, db.Model):
    __tablename__ = "booking_slots"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("booked_count >= 0", name="booked_not_negative"),
        CheckConstraint("booked_count <= capacity", name="booked_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        # Booking closes before the slot starts: lists find the next bookable slots by start.
        CheckConstraint("closes_at <= starts_at", name="closes_before_start"),
        Index("ix_booking_slots_service_start", "service_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("booking_services.id", ondelete="CASCADE"))
    pattern_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking_slot_patterns.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    booked_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancel_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Lottery services: requests are collected until draw_at, then drawn with the published seed.
    draw_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lottery_seed: Mapped[str | None] = mapped_column(String(64))
    drawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    service: Mapped[Service] = relationship(lazy="joined")



class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        Index("uq_bookings_live_slot_worker", "slot_id", "worker_id", unique=True,
              sqlite_where=text(_closed_sql), postgresql_where=text(_closed_sql)),
        UniqueConstraint("worker_id", "idempotency_key", name="uq_bookings_worker_idempotency_key"),
        UniqueConstraint("check_in_code", name="uq_bookings_check_in_code"),
        Index("ix_bookings_slot_status", "slot_id", "status"),
        Index("ix_bookings_worker_status", "worker_id", "status"),
        Index("ix_bookings_service_status", "service_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("booking_slots.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("booking_services.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    check_in_code: Mapped[str] = mapped_column(String(12))
    late_cancel: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    slot: Mapped[Slot] = relationship(lazy="joined")
    worker: Mapped[User] = relationship(foreign_keys=[worker_id])


class Suspension(db.Model):
    """A worker may not book a service until `until` (the no-show rule)."""

    __tablename__ = "booking_suspensions"
    __table_args__ = (Index("ix_booking_suspensions_worker_service", "worker_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("booking_services.id", ondelete="CASCADE"))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    no_shows: Mapped[int] = mapped_column(Integer)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    service: Mapped[Service] = relationship()
    worker: Mapped[User] = relationship()
