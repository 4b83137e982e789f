"""Transfer forms: shape checks only (the rules are in operations/transfers.py)."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from services.accounts.forms import as_choices


class TransferRequestForm(FlaskForm):
    kind = RadioField(_l("What do you want?"), default="move", validators=[InputRequired()],
                      choices=as_choices([("move", _l("Move to another bed (the manager chooses)")),
                                          ("swap", _l("Swap beds with another worker"))]))
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=300)],
                           description=_l("Needed for a move, e.g. a new shift or a health reason."))
    wanted_building = SelectField(_l("Building you would like (move)"), validators=[Optional()])
    partner_bed = StringField(_l("Bed of the worker you swap with (swap)"),
                              validators=[Optional(), Length(max=40)],
                              description=_l("As written on the door, e.g. A-101-B. They must confirm."))


class TransferDecisionForm(FlaskForm):
    action = HiddenField(validators=[InputRequired(), AnyOf(("approve", "reject"))])
    target_bed_id = SelectField(_l("Target bed"), coerce=int, validators=[Optional()],
                                validate_choice=False)
    reason = TextAreaField(_l("Reason for turning it down"), validators=[Optional(), Length(max=300)])
