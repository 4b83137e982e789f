"""The deadline sweep: at-risk and breached cases, the escalation ladder, late handoffs.

A case is at risk once 80 % of its business time is used, breached once its resolve (or, before
it is signed for, its acknowledge) deadline has passed. Time on hold does not count. The ladder:
at risk → the owner (or, for a queued case, the agency's caseworkers) is told; breached → the
agency's supervisors; breached by two more working days → the coordinator, who may then open the
case. Each step happens once (the level is stored on the case). The sweep commits nothing.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import select

from services.cases.models import (OPEN_STATUSES, Case, CaseStatus, DeadlineState, Escalation)
from services.cases.operations.handoffs import expire_handoffs
from services.cases.operations.intake import as_utc, staff_of
from services.cases.operations.lifecycle import close_unanswered
from services.core import notify
from services.core.access import Role
from services.core.audit import record, utcnow
from services.core.calendar import BusinessCalendar, load_calendar
from services.accounts.models import User
from services.extensions import db

AT_RISK_SHARE = 0.8
COORDINATOR_AFTER_DAYS = 2


def used_share(case: Case, calendar: BusinessCalendar, now: datetime) -> float:
    """The share of the case's business time used so far, hold time excluded."""
    start, due = as_utc(case.dispatched_at), as_utc(case.resolve_due_at)
    end = as_utc(case.on_hold_since) if case.on_hold_since else now
    paused = timedelta(seconds=case.paused_seconds)
    total = calendar.business_time_between(start, due) - paused
    used = calendar.business_time_between(start, end) - paused
    return 1.0 if total <= timedelta(0) else used / total


def _notify(users, case: Case, title: str) -> int:
    for user in users:
        notify.send(user_id=user.id, kind="case_deadline", title=title, link=f"/cases/{case.id}")
    return len(users)


def _escalate(case: Case, level: Escalation) -> bool:
    if case.escalation_level >= level:
        return False
    before = case.escalation_level
    case.escalation_level = int(level)
    if level is Escalation.CASEWORKER:
        users = [case.owner] if case.owner else staff_of(case.lead_agency, Role.CASEWORKER)
        _notify(users, case, str(_l("Case %(no)s is running out of time", no=case.case_no)))
    elif level is Escalation.SUPERVISOR:
        _notify(staff_of(case.lead_agency, Role.SUPERVISOR), case,
                str(_l("Case %(no)s is overdue", no=case.case_no)))
    else:
        coordinators = list(db.session.scalars(select(User).where(
            User.role == Role.COORDINATOR, User.active.is_(True))))
        _notify(coordinators, case, str(_l("Case %(no)s is overdue and escalated to you",
                                           no=case.case_no)))
    record(action="cases.escalated", object_type="case", object_id=case.id, actor_id=None,
           before={"escalation_level": before}, after={"escalation_level": int(level)})
    return True


def sweep(*, now: datetime | None = None) -> dict:
    """Mark deadlines, escalate, expire handoffs, close unanswered resolutions; report counts."""
    now = now or utcnow()
    calendar = load_calendar()
    report = {"checked": 0, "at_risk": 0, "breached": 0, "ack_breached": 0, "escalated": 0,
              "handoffs_expired": 0, "closed": 0}
    cases = db.session.scalars(select(Case).where(
        Case.status.in_(OPEN_STATUSES), Case.status != CaseStatus.ON_HOLD).order_by(Case.id))
    for case in cases:
        report["checked"] += 1
        if case.status is CaseStatus.SUBMITTED and not case.ack_breached \
                and now >= as_utc(case.ack_due_at):
            case.ack_breached = True
            report["ack_breached"] += 1
            report["escalated"] += _escalate(case, Escalation.SUPERVISOR)
        share = used_share(case, calendar, now)
        state = (DeadlineState.BREACHED if now >= as_utc(case.resolve_due_at)
                 else DeadlineState.AT_RISK if share >= AT_RISK_SHARE else DeadlineState.ON_TRACK)
        if state is not case.deadline_state:
            record(action="cases.deadline_state", object_type="case", object_id=case.id,
                   actor_id=None, before={"deadline_state": case.deadline_state.value},
                   after={"deadline_state": state.value})
            case.deadline_state = state
        if state is DeadlineState.AT_RISK:
            report["at_risk"] += 1
            report["escalated"] += _escalate(case, Escalation.CASEWORKER)
        elif state is DeadlineState.BREACHED:
            report["breached"] += 1
            late = calendar.business_time_between(as_utc(case.resolve_due_at), now)
            level = (Escalation.COORDINATOR if late >= timedelta(days=COORDINATOR_AFTER_DAYS)
                     else Escalation.SUPERVISOR)
            report["escalated"] += _escalate(case, level)
    db.session.flush()
    report["handoffs_expired"] = len(expire_handoffs(now=now))
    report["closed"] = len(close_unanswered(now=now))
    return report
