"""Rent forms: shape checks only (the rules are in `services.dorms.operations.rent`)."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, NumberRange, Regexp

from services.core.fields import IntegerField

MONTH_PATTERN = r"^[0-9]{4}-[0-9]{2}$"


class SubsidyForm(FlaskForm):
    employer = SelectField(_l("Enterprise"), coerce=int, validators=[InputRequired()])
    share_percent = IntegerField(_l("Share the enterprise pays (%)"),
                                 validators=[InputRequired(), NumberRange(min=0, max=100)],
                                 render_kw={"inputmode": "numeric"})
    valid_from = StringField(_l("From month (YYYY-MM)"),
                             validators=[InputRequired(),
                                         Regexp(MONTH_PATTERN, message=_l("Use the form YYYY-MM."))],
                             render_kw={"placeholder": "2026-03"})


class PaymentForm(FlaskForm):
    stay_id = HiddenField(validators=[InputRequired()])
    month = HiddenField(validators=[InputRequired(), Regexp(MONTH_PATTERN)])
    amount_yuan = DecimalField(_l("Amount paid (yuan)"), places=2,
                               validators=[InputRequired(), NumberRange(min=0.01, max=100000)],
                               render_kw={"inputmode": "decimal"})
    paid_on = DateField(_l("Paid on"), validators=[InputRequired()])
