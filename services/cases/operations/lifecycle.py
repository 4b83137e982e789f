"""A case's life: sign for it, assign it, work it, hold it, resolve it, follow it up.

`reopened` is a working state like `in_progress`; the worker may reopen within 15 days of the
resolution, and a resolved case the worker does not answer closes by itself after those 15 days.
Only `on_hold` stops the clock: the business time spent on hold is added to the resolve deadline.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import func, select, update

from services.accounts.models import User
from services.cases.freshness import touch_case
from services.cases.models import (LIVE_HANDOFF, OPEN_STATUSES, WORKING_STATUSES, AssignmentRule,
                                   Case, CaseAgencySetting, CaseNote, CaseStatus,
                                   CaseworkerAvailability, HandoffKind, Outcome, agency_of,
                                   can_view)
from services.cases.operations.intake import (add_event, as_utc, end_lead, staff_of, start_lead,
                                              tell_worker)
from services.core.access import Role
from services.core.audit import record, utcnow
from services.core.calendar import load_calendar
from services.core.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from services.extensions import db

FOLLOW_UP_DAYS = 15


def _lead_staff(actor: User, case: Case) -> None:
    if agency_of(actor) != case.lead_agency:
        raise Forbidden(str(_l("Only staff of the lead agency may do this.")))


def _move(case: Case, *, actor_id: int | None, to: CaseStatus, action: str, event: str,
          now: datetime | None = None, **params) -> None:
    before = case.status.value
    was_open, now = case.status in OPEN_STATUSES, now or utcnow()
    if was_open and to not in OPEN_STATUSES:
        end_lead(case, now)
    elif to in OPEN_STATUSES and not was_open:
        start_lead(case, case.lead_agency, now)
    case.status = to
    record(action=f"cases.{action}", object_type="case", object_id=case.id, actor_id=actor_id,
           before={"status": before}, after={"status": to.value, **params})
    add_event(case, event, **params)


def _guarded(case: Case, *conditions, message, **values) -> None:
    """Set `values` on the case only while `conditions` still hold in the database, else 409."""
    db.session.flush()
    changed = db.session.execute(
        update(Case).where(Case.id == case.id, *conditions).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(case)
    if not changed:
        raise Conflict(str(message), code="already_taken")
    touch_case(case)  # a bulk UPDATE: the flush listener does not see it


def accept_case(*, actor: User, case: Case, now: datetime | None = None) -> Case:
    """The lead agency signs for the case (受理) and it goes to a caseworker."""
    _lead_staff(actor, case)
    if case.status is not CaseStatus.SUBMITTED:
        raise InvalidState(str(_l("This case was already signed for or closed.")))
    if case.arbitration:
        raise InvalidState(str(_l("This case is waiting for the coordinator's decision.")))
    now = now or utcnow()
    # Conditional UPDATE: two caseworkers signing for it at once end in one success, one conflict.
    _guarded(case, Case.status == CaseStatus.SUBMITTED, Case.arbitration.is_(False),
             accepted_at=now, message=_l("Someone else signed for this case just now."))
    _move(case, actor_id=actor.id, to=CaseStatus.ACCEPTED, action="accepted", event="accepted",
          now=now, agency=case.lead_agency)
    if case.owner_id is None:
        assign_owner(actor_id=actor.id, case=case)
    tell_worker(case, str(_l("Your case %(no)s was accepted", no=case.case_no)))
    db.session.flush()
    return case


def _available(agency: str) -> list[User]:
    away = set(db.session.scalars(select(CaseworkerAvailability.user_id).where(
        CaseworkerAvailability.available.is_(False))))
    return [u for u in staff_of(agency, Role.CASEWORKER) if u.id not in away]


def set_availability(*, actor: User, user: User, available: bool, note: str = "") -> None:
    """A caseworker (or their supervisor) marks whether they take new cases."""
    if actor.id != user.id and not (actor.role is Role.SUPERVISOR
                                    and agency_of(actor) == agency_of(user)):
        raise Forbidden(str(_l("Only the caseworker or their supervisor may change this.")))
    row = db.session.get(CaseworkerAvailability, user.id) or CaseworkerAvailability(user_id=user.id)
    row.available, row.note = available, note
    db.session.add(row)
    record(action="cases.availability_set", object_type="user", object_id=user.id,
           actor_id=actor.id, after={"available": available})
    db.session.flush()


def assign_owner(*, actor_id: int | None, case: Case) -> User | None:
    """Give a queued case to an available caseworker by the agency's rule (None: stays queued)."""
    candidates = _available(case.lead_agency)
    if not candidates:
        return None
    setting = db.session.get(CaseAgencySetting, case.lead_agency)
    if setting is None:
        setting = CaseAgencySetting(agency=case.lead_agency, assignment_rule=AssignmentRule.LEAST_OPEN)
        db.session.add(setting)
    if setting.assignment_rule is AssignmentRule.ROUND_ROBIN:
        later = [u for u in candidates if setting.last_assigned_id and u.id > setting.last_assigned_id]
        chosen = (later or candidates)[0]
    else:
        load = dict(db.session.execute(select(Case.owner_id, func.count(Case.id)).where(
            Case.owner_id.in_([u.id for u in candidates]), Case.status.in_(OPEN_STATUSES))
            .group_by(Case.owner_id)).all())
        chosen = min(candidates, key=lambda u: (load.get(u.id, 0), u.id))
    setting.last_assigned_id = chosen.id
    case.owner_id = chosen.id
    record(action="cases.assigned", object_type="case", object_id=case.id, actor_id=actor_id,
           after={"owner_id": chosen.id, "rule": setting.assignment_rule.value})
    db.session.flush()
    return chosen


def set_assignment_rule(*, actor: User, rule: AssignmentRule | str) -> CaseAgencySetting:
    """A supervisor chooses how the agency's new cases go to caseworkers."""
    agency = agency_of(actor)
    if actor.role is not Role.SUPERVISOR or agency is None:
        raise Forbidden(str(_l("Only a supervisor may change this.")))
    try:
        rule = AssignmentRule(rule)
    except ValueError:
        raise ValidationFailed(str(_l("Choose a rule.")), fields={"rule": "invalid"}) from None
    setting = db.session.get(CaseAgencySetting, agency)
    if setting is None:
        setting = CaseAgencySetting(agency=agency, assignment_rule=AssignmentRule.LEAST_OPEN)
        db.session.add(setting)
    before = setting.assignment_rule.value if setting.assignment_rule else None
    setting.assignment_rule = rule
    record(action="cases.assignment_rule_set", object_type="agency", object_id=agency,
           actor_id=actor.id, before={"rule": before}, after={"rule": rule.value})
    db.session.flush()
    return setting


def claim(*, actor: User, case: Case) -> Case:
    """A caseworker of the lead agency takes a case from the agency's queue."""
    _lead_staff(actor, case)
    if actor.role is not Role.CASEWORKER or case.owner_id is not None:
        raise InvalidState(str(_l("Only a queued case can be claimed by a caseworker.")))
    if case.arbitration:
        raise InvalidState(str(_l("This case is waiting for the coordinator's decision.")))
    _require_open(case)
    _guarded(case, Case.owner_id.is_(None), owner_id=actor.id,
             message=_l("Someone else took this case just now."))
    record(action="cases.claimed", object_type="case", object_id=case.id, actor_id=actor.id,
           after={"owner_id": actor.id})
    db.session.flush()
    return case


def reassign(*, actor: User, cases: list[Case], to_user: User | None) -> list[Case]:
    """A supervisor moves cases to another caseworker of the agency, or back to the queue."""
    agency = agency_of(actor)
    if actor.role is not Role.SUPERVISOR:
        raise Forbidden(str(_l("Only a supervisor may reassign cases.")))
    if to_user is not None and (to_user.role is not Role.CASEWORKER or agency_of(to_user) != agency):
        raise ValidationFailed(str(_l("Choose a caseworker of your agency.")))
    for case in cases:
        if case.lead_agency != agency:
            raise Forbidden(str(_l("Case %(no)s is not your agency's.", no=case.case_no)))
        before = case.owner_id
        case.owner_id = to_user.id if to_user else None
        record(action="cases.reassigned", object_type="case", object_id=case.id,
               actor_id=actor.id, before={"owner_id": before}, after={"owner_id": case.owner_id})
    db.session.flush()
    return cases


def _require_open(case: Case) -> None:
    if case.status not in OPEN_STATUSES:
        raise InvalidState(str(_l("This case is no longer open.")))


def start_work(*, actor: User, case: Case) -> Case:
    """The caseworker starts working the accepted case."""
    _lead_staff(actor, case)
    if case.status is not CaseStatus.ACCEPTED:
        raise InvalidState(str(_l("Only an accepted case can be started.")))
    _move(case, actor_id=actor.id, to=CaseStatus.IN_PROGRESS, action="started", event="in_progress")
    db.session.flush()
    return case


def hold(*, actor: User, case: Case, reason: str, now: datetime | None = None) -> Case:
    """Wait for the worker or a third party; the clock stops."""
    _lead_staff(actor, case)
    if case.status not in WORKING_STATUSES:
        raise InvalidState(str(_l("Only a case being worked can be put on hold.")))
    if not (reason or "").strip():
        raise ValidationFailed(str(_l("Say what the case is waiting for.")), fields={"reason": "required"})
    case.on_hold_since, case.status_reason = now or utcnow(), reason.strip()
    _move(case, actor_id=actor.id, to=CaseStatus.ON_HOLD, action="held", event="on_hold",
          reason=reason.strip())
    db.session.flush()
    return case


def resume(*, actor: User, case: Case, now: datetime | None = None) -> Case:
    """Work again; the business time spent on hold is added to the resolve deadline."""
    now = now or utcnow()
    _lead_staff(actor, case)
    if case.status is not CaseStatus.ON_HOLD:
        raise InvalidState(str(_l("This case is not on hold.")))
    calendar = load_calendar()
    paused = calendar.business_time_between(as_utc(case.on_hold_since), now)
    case.paused_seconds += int(paused.total_seconds())
    case.resolve_due_at = calendar.add_business_days(as_utc(case.resolve_due_at),
                                                     paused.total_seconds() / 86400)
    case.on_hold_since, case.status_reason = None, None
    _move(case, actor_id=actor.id, to=CaseStatus.IN_PROGRESS, action="resumed", event="resumed",
          resolve_due=case.resolve_due_at.isoformat())
    db.session.flush()
    return case


def resolve(*, actor: User, case: Case, outcome: Outcome | str, note: str,
            recovered_fen: int | None = None, now: datetime | None = None) -> Case:
    """Close the work with an outcome; every co-handling task must be completed or failed."""
    _lead_staff(actor, case)
    if case.status not in WORKING_STATUSES:
        raise InvalidState(str(_l("Only a case being worked can be resolved.")))
    try:
        outcome = Outcome(outcome)
    except ValueError:
        raise ValidationFailed(str(_l("Choose an outcome.")), fields={"outcome": "invalid"}) from None
    if recovered_fen is not None and recovered_fen < 0:
        raise ValidationFailed(str(_l("The amount cannot be negative.")))
    pending = [h for h in case.handoffs if h.kind is HandoffKind.REFERRAL and h.status in LIVE_HANDOFF]
    if pending:
        raise InvalidState(str(_l("Co-handling by %(agencies)s is not finished yet.",
                                  agencies=", ".join(h.to_agency for h in pending))),
                           code="co_handling_open")
    case.outcome, case.outcome_note, case.recovered_fen = outcome, (note or "").strip(), recovered_fen
    case.resolved_at = now or utcnow()
    _move(case, actor_id=actor.id, to=CaseStatus.RESOLVED, action="resolved", event="resolved",
          now=case.resolved_at, outcome=outcome.value)
    tell_worker(case, str(_l("Your case %(no)s is resolved", no=case.case_no)),
                str(_l("Please confirm and rate it, or reopen it within 15 days.")))
    db.session.flush()
    return case


def _own(worker: User, case: Case) -> None:
    if case.worker_id != worker.id:
        raise NotFound(str(_l("Not found.")))


def confirm(*, worker: User, case: Case, satisfaction: int, comment: str = "",
            now: datetime | None = None) -> Case:
    """The worker confirms the resolution and rates it; the case closes."""
    _own(worker, case)
    if case.status is not CaseStatus.RESOLVED:
        raise InvalidState(str(_l("Only a resolved case can be confirmed.")))
    if not 1 <= int(satisfaction) <= 5:
        raise ValidationFailed(str(_l("Rate from 1 to 5.")), fields={"satisfaction": "range"})
    case.satisfaction, case.comment = int(satisfaction), (comment or "").strip()
    case.confirmed_at = case.closed_at = now or utcnow()
    _move(case, actor_id=worker.id, to=CaseStatus.CLOSED, action="confirmed", event="closed",
          satisfaction=case.satisfaction)
    db.session.flush()
    return case


def reopen(*, worker: User, case: Case, reason: str, now: datetime | None = None) -> Case:
    """The worker reopens a resolved (or closed) case within 15 days of its resolution."""
    now = now or utcnow()
    _own(worker, case)
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED) or case.resolved_at is None:
        raise InvalidState(str(_l("Only a resolved case can be reopened.")))
    if now > as_utc(case.resolved_at) + timedelta(days=FOLLOW_UP_DAYS):
        raise InvalidState(str(_l("A case can be reopened only within 15 days of its resolution; "
                                  "please file a new request.")), code="reopen_window_passed")
    if not (reason or "").strip():
        raise ValidationFailed(str(_l("Say why.")), fields={"reason": "required"})
    case.reopen_count += 1
    case.closed_at = case.confirmed_at = None
    case.status_reason = reason.strip()
    _move(case, actor_id=worker.id, to=CaseStatus.REOPENED, action="reopened", event="reopened",
          now=now, count=case.reopen_count)
    db.session.flush()
    return case


def close_unanswered(*, now: datetime | None = None) -> list[Case]:
    """Resolved cases the worker did not answer within the follow-up period close by themselves."""
    now = now or utcnow()
    due = list(db.session.scalars(select(Case).where(
        Case.status == CaseStatus.RESOLVED,
        Case.resolved_at <= now - timedelta(days=FOLLOW_UP_DAYS)).order_by(Case.id)))
    for case in due:
        case.closed_at = now
        _move(case, actor_id=None, to=CaseStatus.CLOSED, action="auto_closed", event="closed",
              now=now)
    db.session.flush()
    return due


def withdraw(*, worker: User, case: Case, reason: str = "") -> Case:
    """The worker withdraws a request that is still open."""
    _own(worker, case)
    _require_open(case)
    case.on_hold_since, case.status_reason = None, (reason or "").strip() or None
    _move(case, actor_id=worker.id, to=CaseStatus.WITHDRAWN, action="withdrawn", event="withdrawn")
    db.session.flush()
    return case


def not_accept(*, actor: User, case: Case, reason: str) -> Case:
    """The lead refuses the request (not its to decide on the merits); the worker may ask for review."""
    _lead_staff(actor, case)
    if case.status is not CaseStatus.SUBMITTED:
        raise InvalidState(str(_l("Only a case not yet signed for can be refused.")))
    if case.lead_binding or case.arbitration:
        raise InvalidState(str(_l("The coordinator's decision on the lead is binding.")))
    if not (reason or "").strip():
        raise ValidationFailed(str(_l("Give the reason, the worker will read it.")),
                               fields={"reason": "required"})
    case.status_reason = reason.strip()
    _move(case, actor_id=actor.id, to=CaseStatus.NOT_ACCEPTED, action="not_accepted",
          event="not_accepted", reason=reason.strip())
    tell_worker(case, str(_l("Your case %(no)s was not accepted", no=case.case_no)), reason.strip())
    db.session.flush()
    return case


def add_note(*, actor: User, case: Case, body: str, worker_visible: bool) -> CaseNote:
    """An internal note, or an update the worker sees in their feed."""
    agency = agency_of(actor)
    if agency is None or not can_view(actor, case):
        raise Forbidden(str(_l("Only agencies handling the case may write notes.")))
    if not (body or "").strip():
        raise ValidationFailed(str(_l("Write something.")), fields={"body": "required"})
    note = CaseNote(case_id=case.id, author_id=actor.id, agency=agency, body=body.strip(),
                    worker_visible=worker_visible)
    db.session.add(note)
    if worker_visible:
        add_event(case, "update", agency=agency, text=body.strip())
    db.session.flush()
    record(action="cases.note_added", object_type="case_note", object_id=note.id,
           actor_id=actor.id, after={"case_id": case.id, "worker_visible": worker_visible})
    return note
