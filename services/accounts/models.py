"""Accounts: organisations and users."""
from __future__ import annotations

import enum
from datetime import date, datetime

from services.core.i18n import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.core.access import STAFF_ROLES, SCOPED_ROLE_ORG_KIND, Role
from services.core.audit import utcnow
from services.core.pii import EncryptedString, mask_national_id, mask_phone
from services.core.types import str_enum
from services.extensions import db


class OrgKind(str, enum.Enum):
    PARK = "park"
    EMPLOYER = "employer"
    AGENCY = "agency"
    PROVIDER = "provider"


ORG_KIND_LABELS = {
    OrgKind.PARK: _l("Park"),
    OrgKind.EMPLOYER: _l("Employer"),
    OrgKind.AGENCY: _l("Agency"),
    OrgKind.PROVIDER: _l("Service provider"),
}


class EmploymentForm(str, enum.Enum):
    EMPLOYEE = "employee"  # employed by an enterprise in a park
    PLATFORM = "platform"  # gig worker: rider, courier, ride-hailing or truck driver


AGENCY_CODES = ("union", "hrss", "civil")


class Organisation(db.Model):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint("kind <> 'park' OR park_id IS NULL", name="park_has_no_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    park_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    is_platform: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    park: Mapped[Organisation | None] = relationship(remote_side=[id])


_scoped = ", ".join(f"'{role.value}'" for role in SCOPED_ROLE_ORG_KIND)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role NOT IN ({_scoped}) OR org_id IS NOT NULL", name="scoped_role_has_org"),
        CheckConstraint("role <> 'worker' OR phone_hash IS NOT NULL", name="worker_has_phone"),
        CheckConstraint("session_version >= 1", name="session_version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str | None] = mapped_column("phone_enc", EncryptedString(255))
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    national_id: Mapped[str | None] = mapped_column("national_id_enc", EncryptedString(255))
    national_id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    employment_form: Mapped[EmploymentForm | None] = mapped_column(str_enum(EmploymentForm))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    org: Mapped[Organisation | None] = relationship(lazy="joined")

    def get_id(self) -> str:
        """Session identity: the id and the session version, so logout invalidates old cookies."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def display_name(self) -> str:
        return self.name or self.username

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone) if self.phone else ""

    @property
    def national_id_masked(self) -> str:
        return mask_national_id(self.national_id) if self.national_id else ""


class Honour(str, enum.Enum):
    NONE = "none"
    MODEL_WORKER = "model_worker"  # 劳模
    CRAFTSMAN = "craftsman"  # 工匠


class WorkerFacts(db.Model):
    """Facts about a worker that policies (dormitory points…) use, kept by staff, not the worker."""

    __tablename__ = "worker_facts"
    __table_args__ = (CheckConstraint("skill_grade BETWEEN 0 AND 5", name="skill_grade_range"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    honour: Mapped[Honour] = mapped_column(str_enum(Honour), default=Honour.NONE)
    hardship_registered: Mapped[bool] = mapped_column(Boolean, default=False)
    skill_grade: Mapped[int] = mapped_column(Integer, default=0)
    in_park_since: Mapped[date | None] = mapped_column(Date)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)
