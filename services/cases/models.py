"""Case models: routing rules, cases, handoffs between agencies, notes and the worker's feed.

Decisions (design/cases.md is silent on these):

- One `cases` table holds both the worker's request and the agencies' case: a request becomes a
  case the moment it is submitted (it is dispatched to its lead at once), so a second table would
  only duplicate columns. `services/aid` writes through `cases.operations.intake`.
- Agencies are referred to by their organisation code (`union`, `hrss`, `civil`), as in the
  routing table an administrator edits; staff belong to the agency of their organisation.
- `case_no` (`YC-2026-000123`) comes from a `case_counters` row per year, incremented by a
  conditional UPDATE in the submitting transaction, so two submissions never share a number.
- `reopened` is a working state of its own (like `in_progress`, shown to the worker as "reopened")
  and `reopen_count` counts reopenings; work continues from it exactly as from `in_progress`.
- A collective case (集体案件) is a `Case` row with `is_collective` and no worker; member cases
  point to it through `collective_case_id`.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer,
                        String, Text, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.accounts.models import User
from services.core.audit import utcnow
from services.core.uploads import StoredFile
from services.core.types import str_enum
from services.extensions import db

CASE_NO_PREFIX = "YC"


class CaseStatus(str, enum.Enum):
    SUBMITTED = "submitted"  # dispatched to the lead agency, not signed for yet
    ACCEPTED = "accepted"  # 受理
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"  # waiting for the worker or a third party: the clock stops
    RESOLVED = "resolved"  # 办结, with an outcome
    CLOSED = "closed"
    NOT_ACCEPTED = "not_accepted"
    WITHDRAWN = "withdrawn"
    REOPENED = "reopened"  # worked again after the worker reopened it


WORKING_STATUSES = (CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS, CaseStatus.REOPENED)
OPEN_STATUSES = (CaseStatus.SUBMITTED, *WORKING_STATUSES, CaseStatus.ON_HOLD)
OPEN_CASE_SQL = "status IN ('submitted', 'accepted', 'in_progress', 'on_hold', 'reopened')"


class Outcome(str, enum.Enum):
    HELP_GIVEN = "help_given"
    MONEY_RECOVERED = "money_recovered"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    NOT_ELIGIBLE = "not_eligible"
    OTHER = "other"


class ContactPreference(str, enum.Enum):
    PHONE = "phone"
    SMS = "sms"
    IN_APP = "in_app"
    VISIT = "visit"  # at a rest station or service centre


class DeadlineState(str, enum.Enum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"  # 80 % of the business time used
    BREACHED = "breached"


class Escalation(enum.IntEnum):
    """The ladder a late case climbs; stored as an integer on the case."""

    NONE = 0
    CASEWORKER = 1
    SUPERVISOR = 2
    COORDINATOR = 3


class AssignmentRule(str, enum.Enum):
    ROUND_ROBIN = "round_robin"
    LEAST_OPEN = "least_open"


class HandoffKind(str, enum.Enum):
    TRANSFER = "transfer"  # 转办: the lead moves on acceptance
    REFERRAL = "referral"  # 协办: the receiver co-handles its own task
    RETURN = "return"  # 退回: the lead declined the case it was dispatched (a record)


class HandoffStatus(str, enum.Enum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    FAILED = "failed"
    DECLINED = "declined"
    EXPIRED = "expired"
    REVOKED = "revoked"


LIVE_HANDOFF = (HandoffStatus.REQUESTED, HandoffStatus.ACCEPTED)
_LIVE_HANDOFF_SQL = "status IN ('requested', 'accepted')"


class RoutingRule(db.Model):
    """Who leads and who co-handles a category, and within how many working days (admin data)."""

    __tablename__ = "case_routing_rules"
    __table_args__ = (
        CheckConstraint("resolve_days BETWEEN 1 AND 365", name="resolve_days_range"),
        CheckConstraint("ack_days BETWEEN 1 AND 30", name="ack_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(40), unique=True)
    lead_agency: Mapped[str] = mapped_column(String(40))
    co_agencies: Mapped[list] = mapped_column(JSON, default=list)
    resolve_days: Mapped[int] = mapped_column(Integer)
    ack_days: Mapped[int] = mapped_column(Integer, default=1)
    policy_basis: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class CaseCounter(db.Model):
    """The last case number given out in a year."""

    __tablename__ = "case_counters"
    __table_args__ = (CheckConstraint("last_no >= 0", name="last_no_not_negative"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_no: Mapped[int] = mapped_column(Integer, default=0)


class CaseAgencySetting(db.Model):
    """An agency's own choices about its queue."""

    __tablename__ = "case_agency_settings"

    agency: Mapped[str] = mapped_column(String(40), primary_key=True)
    assignment_rule: Mapped[AssignmentRule] = mapped_column(
        str_enum(AssignmentRule), default=AssignmentRule.LEAST_OPEN)
    last_assigned_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class CaseworkerAvailability(db.Model):
    """Whether a caseworker takes new cases (off on leave, training…); no row means available."""

    __tablename__ = "case_caseworker_availability"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class Case(db.Model):
    """A worker's aid request in the agencies' hands."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_lead_status", "lead_agency", "status"),
        Index("ix_cases_owner_status", "owner_id", "status"),
        Index("ix_cases_employer_key", "category", "employer_key", "created_at"),
        # The queues: open cases of an agency or of a caseworker, soonest deadline first, read
        # in index order (and counted from the index alone) however many closed cases there are.
        Index("ix_cases_open_lead_due", "lead_agency", "resolve_due_at", "id",
              postgresql_include=["owner_id"], sqlite_where=text(OPEN_CASE_SQL),
              postgresql_where=text(OPEN_CASE_SQL)),
        Index("ix_cases_open_owner_due", "owner_id", "resolve_due_at", "id",
              sqlite_where=text(OPEN_CASE_SQL), postgresql_where=text(OPEN_CASE_SQL)),
        # An agency's finished cases, most recently changed first.
        Index("ix_cases_done_lead_updated", "lead_agency", "updated_at",
              sqlite_where=text(f"NOT ({OPEN_CASE_SQL})"),
              postgresql_where=text(f"NOT ({OPEN_CASE_SQL})")),
        Index("uq_cases_open_collective_per_employer", "employer_key", unique=True,
              sqlite_where=text(f"is_collective AND {OPEN_CASE_SQL}"),
              postgresql_where=text(f"is_collective AND {OPEN_CASE_SQL}")),
        CheckConstraint("amount_fen IS NULL OR amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5",
                        name="satisfaction_range"),
        CheckConstraint("return_count >= 0 AND reopen_count >= 0 AND paused_seconds >= 0",
                        name="counters_not_negative"),
        CheckConstraint("escalation_level BETWEEN 0 AND 3", name="escalation_level_range"),
        CheckConstraint("is_collective OR worker_id IS NOT NULL", name="worker_unless_collective"),
        CheckConstraint("NOT is_collective OR collective_case_id IS NULL",
                        name="collective_not_nested"),
        CheckConstraint("incident_end IS NULL OR incident_start IS NULL "
                        "OR incident_end >= incident_start", name="incident_dates_ordered"),
        CheckConstraint("(status = 'on_hold') = (on_hold_since IS NOT NULL)",
                        name="on_hold_iff_paused"),
        CheckConstraint("status NOT IN ('resolved', 'closed') OR outcome IS NOT NULL",
                        name="resolved_has_outcome"),
        CheckConstraint("status <> 'not_accepted' OR status_reason IS NOT NULL",
                        name="not_accepted_has_reason"),
        CheckConstraint("ack_due_at >= dispatched_at AND resolve_due_at >= dispatched_at",
                        name="deadlines_after_dispatch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(20), unique=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    amount_fen: Mapped[int | None] = mapped_column(Integer)
    employer_name: Mapped[str] = mapped_column(String(200), default="")
    employer_key: Mapped[str] = mapped_column(String(200), default="")  # normalised name
    incident_start: Mapped[date | None] = mapped_column(Date)
    incident_end: Mapped[date | None] = mapped_column(Date)
    contact_preference: Mapped[ContactPreference] = mapped_column(
        str_enum(ContactPreference), default=ContactPreference.PHONE)
    consented_agencies: Mapped[list] = mapped_column(JSON, default=list)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lead_agency: Mapped[str] = mapped_column(String(40))
    lead_binding: Mapped[bool] = mapped_column(Boolean, default=False)  # set by arbitration
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # NULL = agency queue
    status: Mapped[CaseStatus] = mapped_column(str_enum(CaseStatus), default=CaseStatus.SUBMITTED)
    status_reason: Mapped[str | None] = mapped_column(Text)
    dispatched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ack_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolve_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    on_hold_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    deadline_state: Mapped[DeadlineState] = mapped_column(str_enum(DeadlineState),
                                                          default=DeadlineState.ON_TRACK)
    ack_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    recovered_fen: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    arbitration: Mapped[bool] = mapped_column(Boolean, default=False)  # waiting for coordinator
    arbitrated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_collective: Mapped[bool] = mapped_column(Boolean, default=False)
    collective_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)  # the dashboards' period filter
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    worker: Mapped[User | None] = relationship(foreign_keys=[worker_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    collective: Mapped[Case | None] = relationship(remote_side=[id])
    handoffs: Mapped[list[Handoff]] = relationship(back_populates="case", order_by="Handoff.id")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")
    files: Mapped[list[CaseFile]] = relationship(order_by="CaseFile.id")


class Handoff(db.Model):
    """One movement of a case between agencies: a transfer, a referral or a return."""

    __tablename__ = "case_handoffs"
    __table_args__ = (
        Index("uq_case_handoffs_live_per_agency", "case_id", "to_agency", unique=True,
              sqlite_where=text(_LIVE_HANDOFF_SQL), postgresql_where=text(_LIVE_HANDOFF_SQL)),
        Index("ix_case_handoffs_to_status", "to_agency", "status"),
        Index("ix_case_handoffs_status_due", "status", "due_at"),
        CheckConstraint("from_agency <> to_agency", name="between_two_agencies"),
        CheckConstraint("status <> 'declined' OR (reason_code IS NOT NULL AND basis IS NOT NULL)",
                        name="declined_has_reason_and_basis"),
        CheckConstraint("kind <> 'return' OR (reason_code IS NOT NULL AND basis IS NOT NULL)",
                        name="return_has_reason_and_basis"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[HandoffKind] = mapped_column(str_enum(HandoffKind))
    from_agency: Mapped[str] = mapped_column(String(40))
    to_agency: Mapped[str] = mapped_column(String(40))
    status: Mapped[HandoffStatus] = mapped_column(str_enum(HandoffStatus),
                                                  default=HandoffStatus.REQUESTED)
    reason: Mapped[str] = mapped_column(Text, default="")
    reason_code: Mapped[str | None] = mapped_column(String(40))
    basis: Mapped[str | None] = mapped_column(Text)
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    case: Mapped[Case] = relationship(back_populates="handoffs")


class CaseNote(db.Model):
    """A note on a case: internal (agencies only) or an update the worker sees."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agency: Mapped[str | None] = mapped_column(String(40))
    worker_visible: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseFile(db.Model):
    """A file the worker (or intake staff) attached to a case: photos, contracts, screenshots."""

    __tablename__ = "case_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"), unique=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    file: Mapped[StoredFile] = relationship(lazy="joined")


class CaseLeadPeriod(db.Model):
    """A stretch of time one agency led an open case: the dashboard sums them per agency, so
    time lost to bouncing shows. A case has at most one period without an end."""

    __tablename__ = "case_lead_periods"
    __table_args__ = (
        Index("uq_case_lead_periods_one_open", "case_id", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_case_lead_periods_agency", "agency", "started_at"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    agency: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CaseEvent(db.Model):
    """One line of the worker's status feed: a message key and its parameters (rendered later)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    key: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")


# --- who may see a case (pure functions over loaded rows; views call them via visible_or_404) ---

SUMMARY_FIELDS = frozenset({"case_no", "category", "status", "lead_agency", "created_at",
                            "ack_due_at", "resolve_due_at", "outcome", "resolved_at"})
DETAIL_FIELDS = frozenset({"description", "amount_fen", "employer_name", "incident_start",
                           "incident_end", "contact_preference", "worker_id", "outcome_note",
                           "recovered_fen", "satisfaction", "comment", "consented_agencies"})
INTERNAL_FIELDS = frozenset({"owner_id", "filed_by", "deadline_state", "escalation_level",
                             "return_count", "reopen_count", "arbitration", "paused_seconds",
                             "collective_case_id", "status_reason", "internal_notes"})


def agency_of(user: User) -> str | None:
    """The agency code a caseworker or supervisor acts for (None for anyone else)."""
    if user.role.value in ("caseworker", "supervisor") and user.org is not None \
            and user.org.kind.value == "agency":
        return user.org.code
    return None


def live_agencies(case: Case) -> set[str]:
    return {h.to_agency for h in case.handoffs
            if h.status in LIVE_HANDOFF and h.kind is not HandoffKind.RETURN}


def can_view(user: User, case: Case) -> bool:
    """The worker their own; an agency where it leads or has a live handoff, within consent;
    the coordinator once the case is escalated to them or sent for arbitration."""
    role = user.role.value
    if role == "worker":
        return case.worker_id == user.id
    if role == "coordinator":
        return case.arbitration or case.escalation_level >= Escalation.COORDINATOR \
            or case.arbitrated_at is not None
    agency = agency_of(user)
    if agency is None:
        return False
    if case.is_collective:
        return agency == case.lead_agency
    if agency not in (case.consented_agencies or []):
        return False
    return agency == case.lead_agency or agency in live_agencies(case)


def took_part(user: User, case: Case) -> bool:
    """An agency that sent, returned or worked a handoff of this case (it keeps a read-only
    summary of its own notes once it has lost access)."""
    agency = agency_of(user)
    if agency is None or agency not in (case.consented_agencies or []):
        return False
    return any(h.from_agency == agency or (h.to_agency == agency and h.answered_by is not None
                                           and h.status is not HandoffStatus.DECLINED)
               for h in case.handoffs)


def visible_fields(user: User, case: Case) -> frozenset[str]:
    """Which fields of the case this user may read (empty when they may not see it at all)."""
    if not can_view(user, case):
        return frozenset()
    role = user.role.value
    if role == "worker":
        return SUMMARY_FIELDS | DETAIL_FIELDS
    if role == "coordinator" or agency_of(user) == case.lead_agency:
        return SUMMARY_FIELDS | DETAIL_FIELDS | INTERNAL_FIELDS
    # a co-handling agency: what it needs for its task, not the lead's internal workings
    return SUMMARY_FIELDS | DETAIL_FIELDS
