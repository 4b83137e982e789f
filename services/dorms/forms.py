"""Dormitory forms: shape checks only."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (BooleanField, DateField, DecimalField, HiddenField, RadioField, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from services.accounts.forms import as_choices
from services.core.fields import IntegerField


class ApplicationForm(FlaskForm):
    gender = RadioField(_l("Rooms are single-sex: you are"),
                        choices=as_choices([("F", _l("Female")), ("M", _l("Male"))]),
                        validators=[InputRequired()])
    move_in_date = DateField(_l("When do you want to move in?"), validators=[InputRequired()])
    shift = RadioField(_l("Your shift"),
                       choices=as_choices([("day", _l("Day shift")), ("night", _l("Night shift"))]),
                       default="day", validators=[InputRequired()],
                       description=_l("Room-mates share a shift so nobody is woken at night."))
    smoker = BooleanField(_l("I smoke"))
    needs_accessible = BooleanField(_l("I need an accessible room"))
    max_rent_yuan = IntegerField(_l("Highest rent you can pay (yuan per month)"),
                                 validators=[InputRequired(), NumberRange(min=0, max=100000)],
                                 render_kw={"inputmode": "numeric"})
    building_1 = SelectField(_l("First choice of building"), validators=[Optional()])
    building_2 = SelectField(_l("Second choice"), validators=[Optional()])
    building_3 = SelectField(_l("Third choice"), validators=[Optional()])
    group_code = StringField(
        _l("Group code (optional)"), validators=[Optional(), Length(max=40)],
        description=_l("Friends who want to share a room enter the same code."))
    couple_with = StringField(
        _l("Spouse's username (optional)"), validators=[Optional(), Length(max=40)],
        description=_l("For a couple room: both spouses apply and enter each other's username."))


class ImportForm(FlaskForm):
    file = FileField(_l("Inventory file (CSV or XLSX)"), validators=[FileRequired()])


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[InputRequired()])


class RoomStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=as_choices([
        ("open", _l("Open")), ("maintenance", _l("Maintenance")), ("closed", _l("Closed"))]),
        validators=[InputRequired()])


class PolicyForm(FlaskForm):
    min_area_per_person = DecimalField(_l("Minimum area per person (m²)"), places=2,
                                       validators=[InputRequired(), NumberRange(min=1, max=50)])
    max_beds_per_room = IntegerField(_l("Maximum beds per room"),
                                     validators=[InputRequired(), NumberRange(min=1, max=20)])
    offer_hours = IntegerField(_l("Hours a worker has to answer an offer"),
                               validators=[InputRequired(), NumberRange(min=1, max=720)])
    mix_shifts = BooleanField(_l("Day and night shifts may share a room"))
    admits_gig_workers = BooleanField(_l("Gig workers (riders, couriers, drivers) may apply"))
    model_worker = DecimalField(_l("Model worker"), validators=[InputRequired(), NumberRange(0, 1000)])
    craftsman = DecimalField(_l("Master craftsman"), validators=[InputRequired(), NumberRange(0, 1000)])
    hardship = DecimalField(_l("Registered hardship"), validators=[InputRequired(), NumberRange(0, 1000)])
    skill_grade = DecimalField(_l("Per skill grade"), validators=[InputRequired(), NumberRange(0, 1000)])
    years_in_park = DecimalField(_l("Per year in the park"), validators=[InputRequired(), NumberRange(0, 1000)])
    waiting_months = DecimalField(_l("Per month waiting"), validators=[InputRequired(), NumberRange(0, 1000)])


class SeedForm(FlaskForm):
    seed = StringField(_l("Lottery seed for the next draw"), validators=[InputRequired(), Length(min=4, max=120)],
                       description=_l("Publish it before the draw (e.g. read out at the workers' "
                                      "meeting): anyone can then recompute the order."))


class RunForm(FlaskForm):
    commit = HiddenField(default="0")


class AssignForm(FlaskForm):
    application_id = IntegerField(_l("Application number"), validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(min=2, max=300)])


def _inspection_fields() -> dict:
    from services.dorms.operations.stays import CHECKLIST_ITEMS

    conditions = as_choices([("ok", _l("Good")), ("worn", _l("Worn")), ("damaged", _l("Damaged")),
                             ("missing", _l("Missing"))])
    return {f"item_{key}": SelectField(label, choices=conditions, default="ok",
                                       validators=[InputRequired()])
            for key, label in CHECKLIST_ITEMS.items()}


class _StayForm(FlaskForm):
    on = DateField(_l("Date"), validators=[InputRequired()])
    photos = MultipleFileField(_l("Photos of the room (optional, up to 6)"),
                               description=_l("JPEG, PNG or WebP; kept with the inspection."))
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])

    def inspection(self) -> dict[str, str]:
        return {name.removeprefix("item_"): field.data for name, field in self._fields.items()
                if name.startswith("item_")}


CheckInForm = type("CheckInForm", (_StayForm,), {
    **_inspection_fields(),
    "key_card": StringField(_l("Key or card number handed over"),
                            validators=[InputRequired(), Length(max=40)]),
    "deposit_yuan": IntegerField(_l("Deposit received (yuan)"), default=0,
                                 validators=[InputRequired(), NumberRange(min=0, max=100000)]),
})
CheckOutForm = type("CheckOutForm", (_StayForm,), {
    **_inspection_fields(),
    "damages_yuan": IntegerField(_l("Damages charged (yuan)"), default=0,
                                 validators=[InputRequired(), NumberRange(min=0, max=100000)]),
})


class WorkerFactsForm(FlaskForm):
    honour = SelectField(_l("Honour"), choices=as_choices([
        ("none", _l("None")), ("model_worker", _l("Model worker")), ("craftsman", _l("Master craftsman"))]),
        validators=[InputRequired()])
    hardship_registered = BooleanField(_l("Registered worker in hardship (建档)"))
    skill_grade = IntegerField(_l("Certified skill grade (0–5)"), default=0,
                               validators=[InputRequired(), NumberRange(min=0, max=5)])
    in_park_since = DateField(_l("Working in the park since"), validators=[Optional()])
