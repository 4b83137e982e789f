"""Handoffs between agencies: transfer (转办), referral (协办), return (退回), arbitration.

A transfer moves the lead only when the receiving agency accepts it. Accepting is a conditional
UPDATE (`... WHERE status = 'requested'`), so two caseworkers accepting at the same instant end
in one success and one conflict on SQLite and PostgreSQL alike; the partial unique index
`uq_case_handoffs_live_per_agency` keeps one live handoff per agency per case.

Returns count against the case: declining a transfer, or the lead declining the case it was
dispatched. The first return sends the case back (to the sender, or to the agency the decliner
names); the second goes to the coordinator for arbitration, whose choice of lead is binding (the
lead can no longer return it). A referral the co-handler declines does not bounce the case and
does not count as a return.
"""
from __future__ import annotations

from datetime import datetime

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.accounts.models import User
from services.cases.freshness import touch_handoff
from services.cases.labels import REASON_CODES, agency_label
from services.cases.models import (LIVE_HANDOFF, OPEN_STATUSES, Case, CaseStatus, Escalation,
                                   Handoff, HandoffKind, HandoffStatus, agency_of)
from services.cases.operations.intake import (add_event, as_utc, start_lead, tell_agency,
                                              tell_worker)
from services.cases.routing import AGENCIES
from services.core import notify
from services.core.access import Role
from services.core.audit import record, utcnow
from services.core.calendar import load_calendar
from services.core.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from services.extensions import db

RETURNS_BEFORE_ARBITRATION = 2
HANDOFF_ANSWER_DAYS = 1


def _require_agency(user: User, agency: str) -> None:
    if agency_of(user) != agency:
        raise Forbidden(str(_l("Only staff of %(agency)s may do this.", agency=agency)))


def _require_open(case: Case) -> None:
    if case.status not in OPEN_STATUSES:
        raise InvalidState(str(_l("This case is no longer open.")))


def _reason_and_basis(reason_code: str, basis: str) -> tuple[str, str]:
    if reason_code and reason_code not in REASON_CODES:  # the codes the pages and API offer
        message = str(_l("Choose a value from the list."))
        raise ValidationFailed(message, fields={"reason_code": message})
    reason_code, basis = (reason_code or "").strip(), (basis or "").strip()
    if not reason_code or not basis:
        message = str(_l("Give a reason code and the legal or policy basis."))
        raise ValidationFailed(message, fields={"basis": message})
    return reason_code, basis


def request_handoff(*, actor: User, case: Case, kind: HandoffKind | str, to_agency: str,
                    reason: str, now: datetime | None = None) -> Handoff:
    """The lead asks another agency to take the case over (transfer) or to co-handle it."""
    now = now or utcnow()
    try:
        kind = HandoffKind(kind)
    except ValueError:
        message = str(_l("Choose a value from the list."))
        raise ValidationFailed(message, fields={"kind": message}) from None
    if kind is HandoffKind.RETURN:
        raise ValidationFailed(str(_l("A return is made by declining.")))
    _require_agency(actor, case.lead_agency)
    _require_open(case)
    if to_agency not in AGENCIES or to_agency == case.lead_agency:
        raise ValidationFailed(str(_l("Choose another agency.")), fields={"to_agency": "invalid"})
    if to_agency not in (case.consented_agencies or []):
        raise InvalidState(str(_l("The worker has not agreed to share this case with %(agency)s.",
                                  agency=to_agency)), code="no_consent")
    if kind is HandoffKind.TRANSFER and case.lead_binding:
        raise InvalidState(str(_l("The coordinator's decision on the lead is binding.")))
    if not (reason or "").strip():
        raise ValidationFailed(str(_l("Say why.")), fields={"reason": str(_l("Say why."))})
    handoff = Handoff(case_id=case.id, kind=kind, from_agency=case.lead_agency,
                      to_agency=to_agency, reason=reason.strip(), requested_by=actor.id,
                      created_at=now,
                      due_at=load_calendar().add_business_days(now, HANDOFF_ANSWER_DAYS))
    try:
        with db.session.begin_nested():
            db.session.add(handoff)
            db.session.flush()
    except IntegrityError:
        db.session.expire(case, ["handoffs"])
        raise Conflict(str(_l("%(agency)s already has an open handoff on this case.",
                              agency=to_agency)), code="handoff_open") from None
    db.session.expire(case, ["handoffs"])
    record(action=f"cases.{kind.value}_requested", object_type="handoff", object_id=handoff.id,
           actor_id=actor.id, after={"case_id": case.id, "to": to_agency})
    tell_agency(to_agency, str(_l("Case %(no)s sent to you", no=case.case_no)), case=case)
    db.session.flush()
    return handoff


def _answer(handoff: Handoff, *, to: HandoffStatus, actor: User, now: datetime, **values) -> None:
    """Move a requested handoff on, or fail with a conflict when someone else answered first."""
    changed = db.session.execute(
        update(Handoff).where(Handoff.id == handoff.id,
                              Handoff.status == HandoffStatus.REQUESTED)
        .values(status=to, answered_by=actor.id, answered_at=now, updated_at=now, **values)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        db.session.refresh(handoff)
        raise Conflict(str(_l("This handoff was already answered.")), code="handoff_answered")
    db.session.refresh(handoff)
    touch_handoff(handoff)  # a bulk UPDATE: the flush listener does not see it


def accept_handoff(*, actor: User, handoff: Handoff, now: datetime | None = None) -> Handoff:
    """The receiving agency signs for it; a transfer hands it the lead now, not before."""
    now = now or utcnow()
    _require_agency(actor, handoff.to_agency)
    if handoff.status is not HandoffStatus.REQUESTED:
        raise Conflict(str(_l("This handoff was already answered.")), code="handoff_answered")
    case = handoff.case
    _require_open(case)
    _answer(handoff, to=HandoffStatus.ACCEPTED, actor=actor, now=now)
    if handoff.kind is HandoffKind.TRANSFER:
        # The move itself is the transfer's whole task, so it completes on acceptance.
        handoff.status, handoff.finished_at = HandoffStatus.COMPLETED, now
        before = {"lead_agency": case.lead_agency, "owner_id": case.owner_id}
        start_lead(case, handoff.to_agency, now)
        case.owner_id = actor.id if actor.role is Role.CASEWORKER else None
        record(action="cases.lead_changed", object_type="case", object_id=case.id,
               actor_id=actor.id, before=before,
               after={"lead_agency": case.lead_agency, "owner_id": case.owner_id})
        add_event(case, "transferred", to=handoff.to_agency)
        tell_worker(case, str(_l("Your case %(no)s is now handled by %(agency)s",
                                 no=case.case_no, agency=agency_label(handoff.to_agency))))
    else:
        add_event(case, "co_handling_joined", agency=handoff.to_agency)
    record(action="cases.handoff_accepted", object_type="handoff", object_id=handoff.id,
           actor_id=actor.id, before={"status": "requested"},
           after={"status": handoff.status.value})
    db.session.flush()
    return handoff


def finish_referral(*, actor: User, handoff: Handoff, succeeded: bool, note: str,
                    now: datetime | None = None) -> Handoff:
    """The co-handling agency records the outcome of its own task: completed or failed."""
    now = now or utcnow()
    _require_agency(actor, handoff.to_agency)
    if handoff.kind is not HandoffKind.REFERRAL or handoff.status is not HandoffStatus.ACCEPTED:
        raise InvalidState(str(_l("Only an accepted co-handling task can be finished.")))
    if not (note or "").strip():
        raise ValidationFailed(str(_l("Record what was done.")), fields={"note": "required"})
    handoff.status = HandoffStatus.COMPLETED if succeeded else HandoffStatus.FAILED
    handoff.outcome_note, handoff.finished_at = note.strip(), now
    record(action="cases.referral_finished", object_type="handoff", object_id=handoff.id,
           actor_id=actor.id, before={"status": "accepted"}, after={"status": handoff.status.value})
    add_event(handoff.case, "co_handling_finished", agency=handoff.to_agency,
              status=handoff.status.value)
    db.session.flush()
    return handoff


def _tell_coordinators(case: Case, title: str) -> None:
    for coordinator in db.session.scalars(select(User).where(
            User.role == Role.COORDINATOR, User.active.is_(True))):
        notify.send(user_id=coordinator.id, kind="case_arbitration", title=title,
                    link=f"/cases/{case.id}")


def _count_return(case: Case, *, actor: User, back_to: str, now: datetime) -> None:
    """Count a return; the second one sends the case to the coordinator for a binding decision."""
    case.return_count += 1
    if case.return_count >= RETURNS_BEFORE_ARBITRATION and not case.lead_binding:
        case.arbitration = True
        case.escalation_level = max(case.escalation_level, Escalation.COORDINATOR)
        add_event(case, "sent_to_arbitration")
        _tell_coordinators(case, str(_l("Case %(no)s needs your decision on the lead",
                                        no=case.case_no)))
        record(action="cases.arbitration_requested", object_type="case", object_id=case.id,
               actor_id=actor.id, after={"return_count": case.return_count})
    if case.lead_agency != back_to:
        start_lead(case, back_to, now)
        case.owner_id = None
        add_event(case, "returned", to=back_to)


def decline_handoff(*, actor: User, handoff: Handoff, reason_code: str, basis: str,
                    now: datetime | None = None) -> Handoff:
    """The receiver declines, citing its reason and basis; a declined transfer is a return."""
    now = now or utcnow()
    _require_agency(actor, handoff.to_agency)
    reason_code, basis = _reason_and_basis(reason_code, basis)
    _answer(handoff, to=HandoffStatus.DECLINED, actor=actor, now=now, reason_code=reason_code,
            basis=basis, finished_at=now)
    case = handoff.case
    if handoff.kind is HandoffKind.TRANSFER:
        _count_return(case, actor=actor, back_to=handoff.from_agency, now=now)
    record(action="cases.handoff_declined", object_type="handoff", object_id=handoff.id,
           actor_id=actor.id, before={"status": "requested"},
           after={"status": "declined", "reason_code": reason_code})
    tell_agency(handoff.from_agency, str(_l("%(agency)s declined case %(no)s",
                                            agency=handoff.to_agency, no=case.case_no)), case=case)
    db.session.flush()
    return handoff


def return_case(*, actor: User, case: Case, to_agency: str, reason_code: str, basis: str,
                now: datetime | None = None) -> Handoff:
    """The lead declines a case dispatched to it, naming who should lead and why (退回)."""
    now = now or utcnow()
    _require_agency(actor, case.lead_agency)
    if case.status is not CaseStatus.SUBMITTED:
        raise InvalidState(str(_l("Only a case not yet signed for can be returned.")))
    if case.lead_binding:
        raise InvalidState(str(_l("The coordinator's decision on the lead is binding.")))
    reason_code, basis = _reason_and_basis(reason_code, basis)
    if to_agency not in AGENCIES or to_agency == case.lead_agency:
        raise ValidationFailed(str(_l("Choose another agency.")), fields={"to_agency": "invalid"})
    if to_agency not in (case.consented_agencies or []):
        raise InvalidState(str(_l("The worker has not agreed to share this case with %(agency)s.",
                                  agency=to_agency)), code="no_consent")
    handoff = Handoff(case=case, kind=HandoffKind.RETURN, from_agency=case.lead_agency,
                      to_agency=to_agency, status=HandoffStatus.COMPLETED, reason_code=reason_code,
                      basis=basis, requested_by=actor.id, answered_by=actor.id, answered_at=now,
                      finished_at=now, created_at=now)
    db.session.add(handoff)
    _count_return(case, actor=actor, back_to=to_agency, now=now)
    db.session.flush()
    record(action="cases.returned", object_type="case", object_id=case.id, actor_id=actor.id,
           after={"to": to_agency, "reason_code": reason_code, "handoff_id": handoff.id})
    tell_agency(to_agency, str(_l("Case %(no)s was returned to you", no=case.case_no)), case=case)
    db.session.flush()
    return handoff


def ask_review(*, worker: User, case: Case, reason: str, now: datetime | None = None) -> Case:
    """The worker asks the coordination office to review a refusal; its choice of lead binds.

    The clock is not restarted: it measures how long the worker has waited since dispatch."""
    if case.worker_id != worker.id:
        raise NotFound(str(_l("Not found.")))
    if case.status is not CaseStatus.NOT_ACCEPTED or case.arbitration:
        raise InvalidState(str(_l("Only a request that was not accepted can be reviewed.")))
    if not (reason or "").strip():
        raise ValidationFailed(str(_l("Say why.")), fields={"reason": str(_l("Say why."))})
    case.status, case.status_reason, case.arbitration = CaseStatus.SUBMITTED, reason.strip(), True
    start_lead(case, case.lead_agency, now or utcnow())
    case.escalation_level = max(case.escalation_level, Escalation.COORDINATOR)
    record(action="cases.review_requested", object_type="case", object_id=case.id,
           actor_id=worker.id, before={"status": "not_accepted"},
           after={"status": "submitted", "arbitration": True})
    add_event(case, "review_requested")
    _tell_coordinators(case, str(_l("Case %(no)s: the worker asks for a review", no=case.case_no)))
    db.session.flush()
    return case


def arbitrate(*, actor: User, case: Case, lead_agency: str, decision: str,
              now: datetime | None = None) -> Case:
    """The coordinator decides who leads; the decision is binding."""
    now = now or utcnow()
    if actor.role is not Role.COORDINATOR:
        raise Forbidden(str(_l("Only the coordination office decides disputes.")))
    if not case.arbitration:
        raise InvalidState(str(_l("This case is not waiting for arbitration.")))
    if lead_agency not in (case.consented_agencies or []):
        raise InvalidState(str(_l("The worker has not agreed to share this case with %(agency)s.",
                                  agency=lead_agency)), code="no_consent")
    if not (decision or "").strip():
        raise ValidationFailed(str(_l("Write down the decision.")), fields={"decision": "required"})
    before = {"lead_agency": case.lead_agency, "arbitration": True}
    if case.lead_agency != lead_agency:
        case.owner_id = None
        start_lead(case, lead_agency, now)
    case.lead_binding = True
    case.arbitration, case.arbitrated_at = False, now
    record(action="cases.arbitrated", object_type="case", object_id=case.id, actor_id=actor.id,
           before=before, after={"lead_agency": lead_agency, "arbitration": False,
                                 "decision": decision.strip()})
    add_event(case, "lead_decided", lead=lead_agency, decision=decision.strip())
    tell_agency(lead_agency, str(_l("The coordinator assigned case %(no)s to you",
                                    no=case.case_no)), case=case)
    db.session.flush()
    return case


def revoke_handoff(*, actor: User, handoff: Handoff, now: datetime | None = None) -> Handoff:
    """The sending agency withdraws a handoff that is requested or accepted."""
    now = now or utcnow()
    _require_agency(actor, handoff.from_agency)
    if handoff.status not in LIVE_HANDOFF:
        raise InvalidState(str(_l("Only an open handoff can be revoked.")))
    before = handoff.status.value
    handoff.status, handoff.finished_at = HandoffStatus.REVOKED, now
    record(action="cases.handoff_revoked", object_type="handoff", object_id=handoff.id,
           actor_id=actor.id, before={"status": before}, after={"status": "revoked"})
    db.session.flush()
    return handoff


def expire_handoffs(*, now: datetime | None = None) -> list[Handoff]:
    """Handoffs not answered by their due time expire; the sender hears of it."""
    now = now or utcnow()
    late = list(db.session.scalars(select(Handoff).where(
        Handoff.status == HandoffStatus.REQUESTED, Handoff.due_at <= now).order_by(Handoff.id)))
    for handoff in late:
        handoff.status, handoff.finished_at = HandoffStatus.EXPIRED, now
        record(action="cases.handoff_expired", object_type="handoff", object_id=handoff.id,
               actor_id=None, before={"status": "requested"}, after={"status": "expired"})
        tell_agency(handoff.from_agency, str(_l("%(agency)s did not answer on case %(no)s in time",
                                                agency=handoff.to_agency,
                                                no=handoff.case.case_no)), case=handoff.case)
    db.session.flush()
    return late


__all__ = ["request_handoff", "accept_handoff", "finish_referral", "decline_handoff",
           "return_case", "ask_review", "arbitrate", "revoke_handoff", "expire_handoffs", "as_utc"]
