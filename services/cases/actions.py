"""Which buttons a case page shows to a user: a pure function over the loaded case.

It mirrors the operations' rules only to decide what to offer; the operations still check
everything when a form is sent, so a stale page can never do what the rules forbid.
"""
from __future__ import annotations

from services.accounts.models import User
from services.cases.models import (LIVE_HANDOFF, OPEN_STATUSES, WORKING_STATUSES, Case,
                                   CaseStatus, Handoff, HandoffKind, HandoffStatus, agency_of)
from services.core.access import Role


def case_actions(user: User, case: Case) -> set[str]:
    """Names of the case-level actions the user may take now."""
    actions: set[str] = set()
    agency, status = agency_of(user), case.status
    if user.role is Role.COORDINATOR and case.arbitration:
        actions.add("arbitrate")
    if agency is None:
        return actions
    if status in OPEN_STATUSES:
        actions.add("note")
    if agency != case.lead_agency:
        return actions
    waiting = case.arbitration
    if status is CaseStatus.SUBMITTED and not waiting:
        actions.add("accept")
        if not case.lead_binding:
            actions |= {"not_accept", "return"}
    if status is CaseStatus.ACCEPTED:
        actions.add("start")
    if status in WORKING_STATUSES:
        actions |= {"hold", "resolve"}
    if status is CaseStatus.ON_HOLD:
        actions.add("resume")
    if status in OPEN_STATUSES and not waiting and not case.is_collective:
        actions.add("handoff")
    if user.role is Role.CASEWORKER and case.owner_id is None and status in OPEN_STATUSES \
            and not waiting:
        actions.add("claim")
    if case.worker_id is not None:
        actions.add("reveal_phone")
    return actions


def handoff_actions(user: User, handoff: Handoff) -> set[str]:
    """What the user's agency may do with one handoff: answer, finish or revoke it."""
    agency, actions = agency_of(user), set()
    if agency is None or handoff.case.status not in OPEN_STATUSES:
        return actions
    if handoff.to_agency == agency and handoff.status is HandoffStatus.REQUESTED:
        actions |= {"accept", "decline"}
    if handoff.to_agency == agency and handoff.kind is HandoffKind.REFERRAL \
            and handoff.status is HandoffStatus.ACCEPTED:
        actions.add("finish")
    if handoff.from_agency == agency and handoff.status in LIVE_HANDOFF \
            and handoff.kind is not HandoffKind.RETURN:
        actions.add("revoke")
    return actions
