"""Words shown for codes: agencies, categories, states, outcomes, reason codes (translated)."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l

AGENCY_LABELS = {
    "union": _l("Trade union"),
    "hrss": _l("Human resources and social security bureau"),
    "civil": _l("Civil affairs bureau"),
}

CATEGORY_LABELS = {
    "wage_arrears": _l("Unpaid wages"),
    "work_injury": _l("Work injury or occupational injury"),
    "legal_aid": _l("Labour dispute or legal aid"),
    "hardship": _l("Hardship relief"),
    "living_allowance": _l("Minimum living allowance or temporary relief"),
    "social_insurance": _l("Social or medical insurance"),
    "union_membership": _l("Joining the union"),
    "housing": _l("Housing"),
    "child_care": _l("Child care"),
    "other": _l("Something else"),
}

CATEGORY_HINTS = {
    "wage_arrears": _l("Your employer or platform has not paid what it owes you."),
    "work_injury": _l("You were hurt at work or on a delivery, or need an injury recognised."),
    "legal_aid": _l("A dispute about your contract, dismissal or rights; free legal help."),
    "hardship": _l("Your family is in difficulty after illness, accident or loss of income."),
    "living_allowance": _l("You need the minimum living allowance or emergency relief."),
    "social_insurance": _l("Contributions not paid, benefits refused, medical insurance."),
    "union_membership": _l("You want to join the trade union (riders and drivers too)."),
    "housing": _l("Help with a place to live."),
    "child_care": _l("Care or school for your children."),
    "other": _l("Anything else: the union will find who can help."),
}

STATUS_LABELS = {
    "submitted": _l("Received"),
    "accepted": _l("Accepted"),
    "in_progress": _l("Being handled"),
    "on_hold": _l("Waiting"),
    "resolved": _l("Resolved"),
    "closed": _l("Case closed"),
    "not_accepted": _l("Not accepted"),
    "withdrawn": _l("Withdrawn"),
    "reopened": _l("Reopened"),
}

OUTCOME_LABELS = {
    "help_given": _l("Help given"),
    "money_recovered": _l("Money recovered"),
    "referred_elsewhere": _l("Referred elsewhere"),
    "not_eligible": _l("Not eligible"),
    "other": _l("Other"),
}

CONTACT_LABELS = {
    "phone": _l("Phone call"),
    "sms": _l("Text message"),
    "in_app": _l("Messages in this app only"),
    "visit": _l("In person at a service station"),
}

DEADLINE_LABELS = {
    "on_track": _l("On track"),
    "at_risk": _l("At risk"),
    "breached": _l("Overdue"),
}

HANDOFF_KIND_LABELS = {
    "transfer": _l("Transfer"),
    "referral": _l("Co-handling"),
    "return": _l("Return"),
}

HANDOFF_STATUS_LABELS = {
    "requested": _l("Waiting for an answer"),
    "accepted": _l("Accepted"),
    "completed": _l("Completed"),
    "failed": _l("Could not be done"),
    "declined": _l("Declined"),
    "expired": _l("Not answered in time"),
    "revoked": _l("Withdrawn by the sender"),
}

# Why an agency declines a handoff or returns a case; the basis is written out each time.
REASON_CODES = {
    "not_our_remit": _l("Not within our remit"),
    "outside_jurisdiction": _l("Outside our area"),
    "missing_information": _l("Information missing"),
    "duplicate": _l("Duplicate of another request"),
    "already_handled": _l("Already being handled elsewhere"),
    "other": _l("Other reason"),
}


def label(table: dict, code) -> str:
    """The translated word for a code (an enum or its value); the code itself when unknown."""
    value = getattr(code, "value", code)
    return str(table[value]) if value in table else str(value or "")


def agency_label(code: str | None) -> str:
    return label(AGENCY_LABELS, code)


ESCALATION_LABELS = {
    0: _l("None"),
    1: _l("Caseworker reminded"),
    2: _l("Supervisor alerted"),
    3: _l("Coordination office"),
}


class TemplateLabels:
    """`case_labels` in templates: the words for codes, one call each."""

    statuses = STATUS_LABELS
    deadlines = DEADLINE_LABELS
    categories = CATEGORY_LABELS
    agencies = AGENCY_LABELS

    @staticmethod
    def category(code) -> str:
        return label(CATEGORY_LABELS, code)

    @staticmethod
    def agency(code) -> str:
        return agency_label(code)

    @staticmethod
    def status(code) -> str:
        return label(STATUS_LABELS, code)

    @staticmethod
    def outcome(code) -> str:
        return label(OUTCOME_LABELS, code)

    @staticmethod
    def contact(code) -> str:
        return label(CONTACT_LABELS, code)

    @staticmethod
    def handoff_kind(code) -> str:
        return label(HANDOFF_KIND_LABELS, code)

    @staticmethod
    def handoff_status(code) -> str:
        return label(HANDOFF_STATUS_LABELS, code)

    @staticmethod
    def reason(code) -> str:
        return label(REASON_CODES, code)

    @staticmethod
    def escalation(level) -> str:
        return label(ESCALATION_LABELS, int(level or 0))
