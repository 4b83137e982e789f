"""Aid forms: shape checks only (services/cases/operations/intake.py checks the rules)."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, DateField, DecimalField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from services.accounts.forms import as_choices
from services.cases.labels import AGENCY_LABELS, CATEGORY_LABELS, CONTACT_LABELS
from services.cases.operations.intake import DESCRIPTION_MAX
from services.cases.routing import AGENCIES


class _GetForm(FlaskForm):
    """A step that changes nothing: sent by GET, so it needs no CSRF token."""

    class Meta:
        csrf = False


class CategoryForm(_GetForm):
    category = RadioField(_l("What do you need help with?"),
                          choices=as_choices(CATEGORY_LABELS.items()),
                          validators=[InputRequired(message=_l("Choose what you need help with."))])


class ConsentForm(_GetForm):
    category = StringField(validators=[InputRequired()])
    consent = SelectMultipleField(_l("Who may see your request"),
                                  choices=as_choices(AGENCY_LABELS.items()), validators=[Optional()])


class DetailsForm(FlaskForm):
    description = TextAreaField(
        _l("What happened?"), validators=[InputRequired(), Length(min=5, max=DESCRIPTION_MAX)],
        description=_l("In your own words: what, since when, who is involved."),
        render_kw={"rows": 6})
    amount_yuan = DecimalField(
        _l("Amount involved (yuan, optional)"), places=2,
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
        description=_l("For unpaid wages or compensation: how much you are owed."),
        render_kw={"inputmode": "decimal"})
    employer_name = StringField(
        _l("Employer or platform company (optional)"), validators=[Optional(), Length(max=200)],
        description=_l("For riders and drivers: the platform or the delivery station's company."))
    incident_start = DateField(_l("Since when (optional)"), validators=[Optional()])
    incident_end = DateField(_l("Until when (optional)"), validators=[Optional()])
    contact_preference = RadioField(_l("How should we contact you?"),
                                    choices=as_choices(CONTACT_LABELS.items()), default="phone",
                                    validators=[InputRequired()])
    files = MultipleFileField(
        _l("Photos or documents (optional)"),
        description=_l("Up to 6 photos or PDFs: pay slips, contracts, chat screenshots. "
                       "Only the agencies you chose can open them."),
        render_kw={"accept": "image/jpeg,image/png,image/webp,application/pdf"})


class StaffIntakeForm(DetailsForm):
    worker = StringField(_l("Worker's mobile number or username"),
                         validators=[InputRequired(), Length(max=40)],
                         render_kw={"inputmode": "tel", "autocomplete": "off"})
    category = SelectField(_l("Category"), choices=as_choices(CATEGORY_LABELS.items()),
                           validators=[InputRequired()])
    consent = SelectMultipleField(_l("The worker agrees to share the request with"),
                                  choices=as_choices((a, AGENCY_LABELS[a]) for a in AGENCIES),
                                  validators=[InputRequired(message=_l("Tick the agencies the "
                                                                       "worker agreed to."))])
    consent_read = BooleanField(
        _l("I read the consent text to the worker and they agreed."),
        validators=[InputRequired(message=_l("The worker's consent is needed."))])


class ConfirmForm(FlaskForm):
    satisfaction = RadioField(_l("How satisfied are you?"), choices=as_choices([
        ("5", _l("5 – very satisfied")), ("4", _l("4 – satisfied")), ("3", _l("3 – so-so")),
        ("2", _l("2 – dissatisfied")), ("1", _l("1 – very dissatisfied"))]),
        validators=[InputRequired(message=_l("Choose a rating."))])
    comment = TextAreaField(_l("Anything to add? (optional)"),
                            validators=[Optional(), Length(max=1000)], render_kw={"rows": 3})


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Why?"), validators=[InputRequired(), Length(max=1000)],
                           render_kw={"rows": 3})


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why (optional)"), validators=[Optional(), Length(max=1000)],
                           render_kw={"rows": 2})
