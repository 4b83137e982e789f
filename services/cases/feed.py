"""The worker's status feed in plain words: each event as a sentence, and "who has it, what comes
next, by when" for the case as it stands. Used by the aid pages and the API alike.

Times are shown in the park's local time (Babel's default timezone, Asia/Shanghai).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.core.i18n import format_datetime
from services.core.i18n import gettext as _

from services.cases.labels import OUTCOME_LABELS, agency_label, label
from services.cases.models import (Case, CaseEvent, CaseStatus, Handoff, HandoffKind,
                                   HandoffStatus)
from services.cases.operations.lifecycle import FOLLOW_UP_DAYS
from services.cases.operations.intake import as_utc

TIME_FORMAT = "yyyy-MM-dd HH:mm"


def when(value: datetime | str | None) -> str:
    """A stored instant as local date and time."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(as_utc(value), TIME_FORMAT)


def _agencies(codes) -> str:
    return _("、").join(agency_label(code) for code in codes or ())


def event_text(event: CaseEvent) -> str:
    """One feed line: what happened, in words a worker understands."""
    p, key = event.params or {}, event.key
    if key == "submitted":
        text = _("Your request %(no)s was received and sent to %(lead)s.", no=p.get("case_no", ""),
                 lead=agency_label(p.get("lead")))
        if p.get("co"):
            text += " " + _("%(agencies)s will help with it.", agencies=_agencies(p["co"]))
        return text + " " + _("It will be confirmed by %(ack)s and handled by %(due)s.",
                              ack=when(p.get("ack_due")), due=when(p.get("resolve_due")))
    if key == "accepted":
        return _("%(agency)s accepted your case.", agency=agency_label(p.get("agency")))
    if key == "in_progress":
        return _("A caseworker is working on your case.")
    if key == "on_hold":
        return _("Your case is waiting: %(reason)s. The deadline is paused while it waits.",
                 reason=p.get("reason", ""))
    if key == "resumed":
        return _("Work on your case continues; it is now due by %(due)s.",
                 due=when(p.get("resolve_due")))
    if key == "resolved":
        return _("Your case was resolved: %(outcome)s.", outcome=label(OUTCOME_LABELS,
                                                                        p.get("outcome")))
    if key == "closed":
        return _("Your case is closed.")
    if key == "reopened":
        return _("Your case was reopened and is being handled again.")
    if key == "withdrawn":
        return _("You withdrew your request.")
    if key == "not_accepted":
        return _("Your request was not accepted: %(reason)s", reason=p.get("reason", ""))
    if key == "transferred":
        return _("Your case is now handled by %(agency)s.", agency=agency_label(p.get("to")))
    if key == "returned":
        return _("Your case was sent back to %(agency)s, which will decide on it.",
                 agency=agency_label(p.get("to")))
    if key == "co_handling_joined":
        return _("%(agency)s joined to help with your case.", agency=agency_label(p.get("agency")))
    if key == "co_handling_finished":
        if p.get("status") == HandoffStatus.FAILED.value:
            return _("%(agency)s could not complete its part.", agency=agency_label(p.get("agency")))
        return _("%(agency)s finished its part.", agency=agency_label(p.get("agency")))
    if key == "sent_to_arbitration":
        return _("The agencies did not agree who should handle your case; the park coordination "
                 "office will decide, and its decision is final.")
    if key == "review_requested":
        return _("You asked for a review; the park coordination office will decide who handles "
                 "your request.")
    if key == "lead_decided":
        text = _("The coordination office decided that %(agency)s handles your case.",
                 agency=agency_label(p.get("lead")))
        return f"{text} {p['decision']}" if p.get("decision") else text
    if key == "linked_to_collective":
        return _("Other workers reported the same employer; a joint case %(no)s was opened for "
                 "labour inspection.", no=p.get("case_no", ""))
    if key == "update":
        return _("%(agency)s: %(text)s", agency=agency_label(p.get("agency")), text=p.get("text", ""))
    return key


def feed(case: Case) -> list[dict]:
    """The case's events, newest first, as {"at", "text"}."""
    return [{"at": as_utc(e.at), "text": event_text(e)} for e in reversed(case.events)]


@dataclass
class Standing:
    """Where the case stands, for the top of the worker's page."""

    who: str
    next_step: str
    by: datetime | None
    helpers: list[tuple[str, str]] = field(default_factory=list)  # (agency, state)
    can_confirm: bool = False
    can_reopen: bool = False
    can_withdraw: bool = False
    can_ask_review: bool = False


def _helper_state(handoff: Handoff) -> str:
    return {
        HandoffStatus.REQUESTED: _("asked to help"),
        HandoffStatus.ACCEPTED: _("helping"),
        HandoffStatus.COMPLETED: _("finished its part"),
        HandoffStatus.FAILED: _("could not complete its part"),
    }.get(handoff.status, "")


def standing(case: Case, *, now: datetime) -> Standing:
    """Who has the case, what comes next and by when."""
    who = agency_label(case.lead_agency)
    if case.owner is not None:
        who = _("%(agency)s (caseworker %(name)s)", agency=who, name=case.owner.display_name)
    helpers = [(agency_label(h.to_agency), _helper_state(h)) for h in case.handoffs
               if h.kind is HandoffKind.REFERRAL and _helper_state(h)]
    status, by = case.status, None
    reopen_until = as_utc(case.resolved_at) + timedelta(days=FOLLOW_UP_DAYS) \
        if case.resolved_at else None
    can_reopen = status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) and reopen_until is not None \
        and now <= reopen_until
    if case.arbitration:
        next_step = _("The park coordination office decides which agency handles it.")
    elif status is CaseStatus.SUBMITTED:
        next_step, by = _("%(agency)s confirms it has taken your case.", agency=who), case.ack_due_at
    elif status in (CaseStatus.ACCEPTED, CaseStatus.IN_PROGRESS, CaseStatus.REOPENED):
        next_step, by = _("A result on your case."), case.resolve_due_at
    elif status is CaseStatus.ON_HOLD:
        next_step = _("Waiting for: %(reason)s. The deadline is paused.",
                      reason=case.status_reason or "")
    elif status is CaseStatus.RESOLVED:
        next_step, by = _("Please confirm and rate the result, or reopen the case."), reopen_until
    elif status is CaseStatus.NOT_ACCEPTED:
        next_step = _("You may ask the park coordination office to review this.")
    else:
        next_step = _("Nothing more: this case is finished.")
    return Standing(who=who, next_step=next_step, by=as_utc(by) if by else None, helpers=helpers,
                    can_confirm=status is CaseStatus.RESOLVED, can_reopen=can_reopen,
                    can_withdraw=status in (CaseStatus.SUBMITTED, CaseStatus.ACCEPTED,
                                            CaseStatus.IN_PROGRESS, CaseStatus.ON_HOLD,
                                            CaseStatus.REOPENED),
                    can_ask_review=status is CaseStatus.NOT_ACCEPTED and not case.arbitration)
