"""Booking forms: shape checks only (the operations check the rules)."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField, TimeField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from services.bookings.models import (CATEGORY_LABELS, ELIGIBILITY_LABELS, MODE_LABELS,
                                      Eligibility, Mode)
from services.core.fields import IntegerField

WEEKDAY_LABELS = [SelectChoice(n, label) for n, label in enumerate(
    (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
     _l("Sunday")), start=1)]


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(key.value, label) for key, label in labels.items()]


class ActionForm(FlaskForm):
    """A button that changes state: only the CSRF token."""


class BookForm(FlaskForm):
    # A fresh key is rendered with each form: a double tap or a resend after a network error
    # carries the same key and gets the same booking back.
    idempotency_key = HiddenField(validators=[InputRequired(), Length(min=8, max=64)])
    waitlist = HiddenField()


def _number(label, low, high, description=None):
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=low, max=high)],
                        description=description, render_kw={"inputmode": "numeric"})


class ServiceForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=120)])
    category = SelectField(_l("Category"), choices=_choices(CATEGORY_LABELS),
                           validators=[InputRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)],
                                description=_l("What the service offers and what to bring."))
    online = BooleanField(_l("Online service (no address)"))
    location = StringField(_l("Place"), validators=[Optional(), Length(max=200)],
                           description=_l("Address and room, e.g. 开发区职工服务中心 2 楼."))
    map_url = StringField(_l("Map link"), validators=[Optional(), Length(max=300)],
                          description=_l("Optional: a https:// link to the place on a map."))
    eligibility = SelectField(_l("Who may book"), choices=_choices(ELIGIBILITY_LABELS),
                              default=Eligibility.ALL.value, validators=[InputRequired()])
    eligible_park = SelectField(_l("Park (when only workers of one park may book)"),
                                validate_choice=True)
    mode = RadioField(_l("How seats are given"), choices=_choices(MODE_LABELS),
                      default=Mode.FIRST_COME.value, validators=[InputRequired()])
    max_active_bookings = _number(_l("Open bookings one worker may hold"), 1, 50)
    open_days_before = _number(_l("Booking opens (days before the slot)"), 0, 365,
                               _l("0 = as soon as the slot is offered."))
    close_minutes_before = _number(_l("Booking closes (minutes before the slot)"), 0, 10080)
    cancel_hours_before = _number(
        _l("Free cancellation until (hours before the slot)"), 0, 720,
        _l("A later cancellation still frees the seat but counts like a no-show."))
    lottery_hours_before = _number(_l("Lottery draw (hours before the slot)"), 1, 720)
    no_show_limit = _number(_l("No-shows that pause booking"), 1, 50)
    no_show_window_days = _number(_l("… within (days)"), 1, 365)
    suspension_days = _number(_l("Pause for (days)"), 0, 365, _l("0 = never pause."))
    active = BooleanField(_l("Taking bookings"), default=True)

    SETTINGS = ("max_active_bookings", "open_days_before", "close_minutes_before",
                "cancel_hours_before", "lottery_hours_before", "no_show_limit",
                "no_show_window_days", "suspension_days")


class SlotForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    start_time = TimeField(_l("Starts (Beijing time)"), validators=[InputRequired()])
    end_time = TimeField(_l("Ends"), validators=[InputRequired()])
    capacity = _number(_l("Seats"), 1, 10000)


class PatternForm(FlaskForm):
    weekdays = SelectMultipleField(_l("Weekdays"), choices=WEEKDAY_LABELS, coerce=int,
                                   validators=[InputRequired(message=_l("Choose at least one weekday."))])
    start_time = TimeField(_l("Starts (Beijing time)"), validators=[InputRequired()])
    end_time = TimeField(_l("Ends"), validators=[InputRequired()])
    capacity = _number(_l("Seats"), 1, 10000)
    first_date = DateField(_l("First day"), validators=[InputRequired()])
    last_date = DateField(_l("Last day"), validators=[InputRequired()],
                          description=_l("At most 26 weeks after the first day."))


class CheckInCodeForm(FlaskForm):
    code = StringField(_l("Check-in code"), validators=[InputRequired(), Length(max=20)],
                       description=_l("The 8 characters under the worker's QR code."),
                       render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                  "spellcheck": "false"})
