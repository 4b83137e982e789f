"""Case forms for agency staff: shape checks only (the operations check the rules)."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DecimalField, HiddenField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from services.accounts.forms import as_choices
from services.cases.labels import AGENCY_LABELS, OUTCOME_LABELS, REASON_CODES
from services.cases.routing import AGENCIES
from services.core.fields import IntegerField

TEXT_MAX = 2000


def agency_choices(exclude: str | None = None):
    return as_choices((code, AGENCY_LABELS[code]) for code in AGENCIES if code != exclude)


def _text(label, *, required: bool = True, description=None, max_length: int = TEXT_MAX):
    validators = [InputRequired(), Length(max=max_length)] if required \
        else [Optional(), Length(max=max_length)]
    return TextAreaField(label, validators=validators, description=description,
                         render_kw={"rows": 3})


def yuan_to_fen(value) -> int | None:
    """A DecimalField's yuan as integer fen (None stays None)."""
    return None if value is None else int((value * 100).to_integral_value())


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class HoldForm(FlaskForm):
    reason = _text(_l("What is the case waiting for?"),
                   description=_l("The worker reads this. The deadline is paused while waiting."))


class NotAcceptForm(FlaskForm):
    reason = _text(_l("Why the request cannot be accepted"),
                   description=_l("The worker reads this and may ask the coordination office "
                                  "for a review."))


class _ReasonCodeMixin:
    reason_code = SelectField(_l("Reason"), choices=as_choices(REASON_CODES.items()),
                              validators=[InputRequired()])
    basis = _text(_l("Legal or policy basis"),
                  description=_l("Cite the regulation or rule that puts it outside your remit."))


class ReturnForm(_ReasonCodeMixin, FlaskForm):
    to_agency = SelectField(_l("Agency that should lead"), validators=[InputRequired()])


class DeclineForm(_ReasonCodeMixin, FlaskForm):
    pass


class HandoffForm(FlaskForm):
    kind = RadioField(_l("What do you ask?"), choices=as_choices([
        ("referral", _l("Co-handle: they do their part, you keep the case")),
        ("transfer", _l("Transfer: they take the case over once they accept"))]),
        default="referral", validators=[InputRequired()])
    to_agency = SelectField(_l("Agency"), validators=[InputRequired()])
    reason = _text(_l("What you ask them to do, and why"))


class FinishForm(FlaskForm):
    succeeded = RadioField(_l("Result of your part"), choices=as_choices([
        ("1", _l("Done")), ("0", _l("Could not be done"))]), validators=[InputRequired()])
    note = _text(_l("What was done"))


class ResolveForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=as_choices(OUTCOME_LABELS.items()),
                          validators=[InputRequired()])
    note = _text(_l("What was done, in words the worker understands"))
    recovered_yuan = DecimalField(_l("Money recovered for the worker (yuan, optional)"), places=2,
                                  validators=[Optional(), NumberRange(min=0, max=10_000_000)],
                                  render_kw={"inputmode": "decimal"})


class NoteForm(FlaskForm):
    body = _text(_l("Note"))
    worker_visible = BooleanField(_l("The worker sees this update"),
                                  description=_l("Leave unticked for an internal note that only "
                                                 "agencies handling the case read."))


class ArbitrateForm(FlaskForm):
    lead_agency = RadioField(_l("Agency that leads the case"), validators=[InputRequired()])
    decision = _text(_l("Decision and its reasons"),
                     description=_l("Binding: the chosen agency can no longer return the case."))


class ReassignForm(FlaskForm):
    case_ids = SelectMultipleField(_l("Cases"), coerce=int, validate_choice=False,
                                   validators=[InputRequired(message=_l("Tick at least one case."))])
    to_user = SelectField(_l("Give them to"), validators=[InputRequired()])


class AvailabilityForm(FlaskForm):
    available = RadioField(_l("New cases"), choices=as_choices([
        ("1", _l("Available for new cases")), ("0", _l("Away (leave, training…)"))]),
        validators=[InputRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class AssignmentRuleForm(FlaskForm):
    rule = RadioField(_l("New cases go to"), choices=as_choices([
        ("least_open", _l("The available caseworker with the fewest open cases")),
        ("round_robin", _l("Available caseworkers in turn (round robin)"))]),
        validators=[InputRequired()])


class RuleForm(FlaskForm):
    lead_agency = SelectField(_l("Lead agency"), choices=agency_choices(),
                              validators=[InputRequired()])
    co_agencies = SelectMultipleField(_l("Co-handling agencies"), choices=agency_choices(),
                                      validators=[Optional()])
    resolve_days = IntegerField(_l("Resolve within (working days)"),
                                validators=[InputRequired(), NumberRange(min=1, max=365)])
    ack_days = IntegerField(_l("Acknowledge within (working days)"),
                            validators=[InputRequired(), NumberRange(min=1, max=30)])
    policy_basis = _text(_l("Policy basis"), max_length=4000)


class RevealForm(FlaskForm):
    field = HiddenField(default="phone")
