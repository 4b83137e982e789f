"""Dormitory models: park policy, buildings, rooms, beds, applications, allocation runs, stays.

An offer is the first phase of a stay: allocation or a manager's hand assignment creates a stay
in status `offered` that holds the bed until `offer_expires_at`; the worker's acceptance turns it
into `reserved`, check-in into `active`, check-out into `ended`. Because every hold on a bed is a
stay row, one partial unique index guarantees one holder per bed (and one per worker), whatever
the number of managers and allocation runs acting at the same moment.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Index,
                        Integer, Numeric, String, Text, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.accounts.models import Organisation, User
from services.core.audit import utcnow
from services.core.jobs import JobRun
from services.core.types import str_enum
from services.extensions import db


class RoomGender(str, enum.Enum):
    MALE = "M"
    FEMALE = "F"
    ANY = "any"  # couple rooms only


class RoomKind(str, enum.Enum):
    STANDARD = "standard"
    COUPLE = "couple"
    ACCESSIBLE = "accessible"


class RoomStatus(str, enum.Enum):
    OPEN = "open"
    MAINTENANCE = "maintenance"
    CLOSED = "closed"


class Shift(str, enum.Enum):
    DAY = "day"
    NIGHT = "night"


class ApplicationStatus(str, enum.Enum):
    SUBMITTED = "submitted"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    HOUSED = "housed"
    REJECTED = "rejected"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


OPEN_APPLICATION = (ApplicationStatus.SUBMITTED, ApplicationStatus.WAITLISTED,
                    ApplicationStatus.OFFERED, ApplicationStatus.ACCEPTED)
QUEUED_APPLICATION = (ApplicationStatus.SUBMITTED, ApplicationStatus.WAITLISTED)


class StayStatus(str, enum.Enum):
    OFFERED = "offered"  # the bed is held for the worker until offer_expires_at
    RESERVED = "reserved"  # offer accepted, not moved in yet
    ACTIVE = "active"
    ENDED = "ended"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


HOLDING_STAY = (StayStatus.OFFERED, StayStatus.RESERVED, StayStatus.ACTIVE)
_HOLDING_SQL = "status IN ('offered', 'reserved', 'active')"
_OPEN_APP_SQL = "status IN ('submitted', 'waitlisted', 'offered', 'accepted')"


class DormPolicy(db.Model):
    """A park's dormitory rules: standards, offer time, shifts, who may apply, points weights."""

    __tablename__ = "dorm_policies"
    __table_args__ = (
        CheckConstraint("min_area_per_person > 0", name="min_area_positive"),
        CheckConstraint("max_beds_per_room BETWEEN 1 AND 20", name="max_beds_range"),
        CheckConstraint("offer_hours BETWEEN 1 AND 720", name="offer_hours_range"),
    )

    park_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    min_area_per_person: Mapped[float] = mapped_column(Numeric(5, 2), default=4)
    max_beds_per_room: Mapped[int] = mapped_column(Integer, default=8)
    offer_hours: Mapped[int] = mapped_column(Integer, default=48)
    mix_shifts: Mapped[bool] = mapped_column(Boolean, default=False)
    admits_gig_workers: Mapped[bool] = mapped_column(Boolean, default=True)
    weights: Mapped[dict] = mapped_column(JSON, default=dict)
    lottery_seed: Mapped[str | None] = mapped_column(String(120))
    seed_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    park: Mapped[Organisation] = relationship()


class Building(db.Model):
    __tablename__ = "dorm_buildings"
    __table_args__ = (UniqueConstraint("park_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80), default="")

    park: Mapped[Organisation] = relationship()
    rooms: Mapped[list[Room]] = relationship(back_populates="building", order_by="Room.number")


class Room(db.Model):
    __tablename__ = "dorm_rooms"
    __table_args__ = (
        UniqueConstraint("building_id", "number"),
        CheckConstraint("capacity BETWEEN 1 AND 20", name="capacity_range"),
        CheckConstraint("rent_fen >= 0", name="rent_not_negative"),
        CheckConstraint("area_m2 > 0", name="area_positive"),
        CheckConstraint("(gender = 'any') = (kind = 'couple')", name="any_gender_iff_couple"),
        CheckConstraint("kind <> 'couple' OR capacity = 2", name="couple_room_two_beds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("dorm_buildings.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    floor: Mapped[int] = mapped_column(Integer, default=1)
    gender: Mapped[RoomGender] = mapped_column(str_enum(RoomGender, length=8))
    capacity: Mapped[int] = mapped_column(Integer)
    kind: Mapped[RoomKind] = mapped_column(str_enum(RoomKind, length=16), default=RoomKind.STANDARD)
    smoking: Mapped[bool] = mapped_column(Boolean, default=False)
    area_m2: Mapped[float] = mapped_column(Numeric(6, 2))
    rent_fen: Mapped[int] = mapped_column(Integer)
    reserved_for_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[RoomStatus] = mapped_column(str_enum(RoomStatus, length=16),
                                               default=RoomStatus.OPEN, index=True)

    building: Mapped[Building] = relationship(back_populates="rooms")
    reserved_for: Mapped[Organisation | None] = relationship()
    beds: Mapped[list[Bed]] = relationship(back_populates="room", order_by="Bed.label")

    @property
    def label(self) -> str:
        return f"{self.building.code}-{self.number}"


class Bed(db.Model):
    __tablename__ = "dorm_beds"
    __table_args__ = (UniqueConstraint("room_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("dorm_rooms.id"), index=True)
    label: Mapped[str] = mapped_column(String(8))

    room: Mapped[Room] = relationship(back_populates="beds")


class DormApplication(db.Model):
    __tablename__ = "dorm_applications"
    __table_args__ = (
        Index("uq_dorm_applications_open_per_worker_park", "worker_id", "park_id", unique=True,
              sqlite_where=text(_OPEN_APP_SQL), postgresql_where=text(_OPEN_APP_SQL)),
        Index("ix_dorm_applications_park_status", "park_id", "status"),
        CheckConstraint("max_rent_fen >= 0", name="max_rent_not_negative"),
        CheckConstraint("expired_offers >= 0", name="expired_offers_not_negative"),
        CheckConstraint("gender IN ('M', 'F')", name="gender_known"),
        CheckConstraint("lottery >= 0 AND lottery < 1", name="lottery_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[ApplicationStatus] = mapped_column(str_enum(ApplicationStatus),
                                                      default=ApplicationStatus.SUBMITTED)
    gender: Mapped[str] = mapped_column(String(1))
    move_in_date: Mapped[date] = mapped_column(Date)
    shift: Mapped[Shift] = mapped_column(str_enum(Shift, length=8))
    smoker: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    max_rent_fen: Mapped[int] = mapped_column(Integer)
    preferred_buildings: Mapped[list] = mapped_column(JSON, default=list)
    group_code: Mapped[str | None] = mapped_column(String(40))
    couple_with_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    points: Mapped[float] = mapped_column(Float, default=0)
    lottery: Mapped[float] = mapped_column(Float, default=0)
    points_breakdown: Mapped[list] = mapped_column(JSON, default=list)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_detail: Mapped[dict | None] = mapped_column(JSON)
    expired_offers: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    worker: Mapped[User] = relationship(foreign_keys=[worker_id])
    couple_with: Mapped[User | None] = relationship(foreign_keys=[couple_with_id])
    park: Mapped[Organisation] = relationship()


class AllocationRun(db.Model):
    """One run of the engine for a park: its input hash, seed, engine version, output, author."""

    __tablename__ = "dorm_allocation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued/done/failed
    committed: Mapped[bool] = mapped_column(Boolean, default=False)
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    input_hash: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(String(120))
    engine_version: Mapped[str | None] = mapped_column(String(20))
    instance: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    summary: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id"))

    park: Mapped[Organisation] = relationship()
    job: Mapped[JobRun | None] = relationship()

    @property
    def failed(self) -> bool:
        """Not done and its job has failed (an error, or its process ended: jobs.fail_abandoned)."""
        return self.status != "done" and self.job is not None and self.job.status == "failed"


class Stay(db.Model):
    """A worker's hold on a bed: offered → reserved → active → ended (or declined/expired)."""

    __tablename__ = "dorm_stays"
    __table_args__ = (
        Index("uq_dorm_stays_holding_bed", "bed_id", unique=True,
              sqlite_where=text(_HOLDING_SQL), postgresql_where=text(_HOLDING_SQL)),
        Index("uq_dorm_stays_holding_worker", "worker_id", unique=True,
              sqlite_where=text(_HOLDING_SQL), postgresql_where=text(_HOLDING_SQL)),
        Index("ix_dorm_stays_status_expiry", "status", "offer_expires_at"),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
                        name="dates_ordered"),
        CheckConstraint("deposit_fen >= 0 AND damages_fen >= 0", name="money_not_negative"),
        CheckConstraint("deposit_refund_fen IS NULL OR deposit_refund_fen BETWEEN 0 AND deposit_fen",
                        name="refund_within_deposit"),
        CheckConstraint("status <> 'active' OR start_date IS NOT NULL", name="active_has_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    bed_id: Mapped[int] = mapped_column(ForeignKey("dorm_beds.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("dorm_applications.id"),
                                                       index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("dorm_allocation_runs.id"))
    status: Mapped[StayStatus] = mapped_column(str_enum(StayStatus), default=StayStatus.OFFERED)
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    offer_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assign_reason: Mapped[str | None] = mapped_column(String(300))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    key_card: Mapped[str | None] = mapped_column(String(40))
    deposit_fen: Mapped[int] = mapped_column(Integer, default=0)
    checkin_inspection: Mapped[dict | None] = mapped_column(JSON)
    checkout_inspection: Mapped[dict | None] = mapped_column(JSON)
    damages_fen: Mapped[int] = mapped_column(Integer, default=0)
    deposit_refund_fen: Mapped[int | None] = mapped_column(Integer)
    checked_in_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_out_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    worker: Mapped[User] = relationship(foreign_keys=[worker_id])
    bed: Mapped[Bed] = relationship()
    application: Mapped[DormApplication | None] = relationship()
