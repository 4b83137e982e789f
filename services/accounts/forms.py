"""Account forms: shape checks only (the operations check the rules)."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, PasswordField, RadioField,
                     SelectField, StringField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, Optional

from services.accounts.models import ORG_KIND_LABELS, EmploymentForm, OrgKind
from services.core.access import Role


def as_choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(), Length(max=40)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=128)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me signed in on this device (30 days)"))
    next = HiddenField()


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[InputRequired(), Length(max=80)],
                       render_kw={"autocomplete": "name"})
    phone = StringField(
        _l("Mobile number"), validators=[InputRequired(), Length(max=20)],
        description=_l("Used to sign you in and to tell you about your applications."),
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    username = StringField(
        _l("Username"), validators=[InputRequired(), Length(min=3, max=40)],
        description=_l("Lower-case letters and digits, e.g. zhangwei88."),
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"), validators=[InputRequired(), Length(max=128)],
        description=_l("At least 8 characters, not a common password."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    employment_form = RadioField(
        _l("How do you work?"),
        choices=as_choices([
            (EmploymentForm.EMPLOYEE.value, _l("Employee of a company in a park")),
            (EmploymentForm.PLATFORM.value, _l("Delivery rider, courier or driver (platform work)")),
        ]),
        default=EmploymentForm.EMPLOYEE.value,
        validators=[InputRequired()],
    )
    employer_id = SelectField(
        _l("Employer or platform company"), coerce=_optional_int, validate_choice=True,
        description=_l("Optional. Dormitory beds are for workers of the park's companies."),
    )
    agree = BooleanField(
        _l("I have read how Anju uses my personal information and agree."),
        validators=[InputRequired(message=_l("You need to agree to register."))],
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[Optional(), Length(max=20)],
                        render_kw={"inputmode": "tel"})
    national_id = StringField(
        _l("National ID number"), validators=[Optional(), Length(max=18)],
        description=_l("Optional. Needed only for dormitory check-in registration; "
                       "stored encrypted and shown masked."),
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=128)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


ROLE_LABELS = {
    Role.WORKER: _l("Worker"),
    Role.PARK_MANAGER: _l("Park manager"),
    Role.CASEWORKER: _l("Caseworker"),
    Role.SUPERVISOR: _l("Agency supervisor"),
    Role.COORDINATOR: _l("Coordinator"),
    Role.PROVIDER: _l("Service provider staff"),
    Role.ADMIN: _l("Administrator"),
}


class UserCreateForm(FlaskForm):
    role = SelectField(_l("Role"), choices=as_choices((r.value, ROLE_LABELS[r]) for r in Role),
                       validators=[InputRequired()])
    username = StringField(_l("Username"), validators=[InputRequired(), Length(min=3, max=40)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=80)])
    phone = StringField(_l("Mobile number"), validators=[Optional(), Length(max=20)])
    org_code = SelectField(_l("Organisation"), validate_choice=True,
                           description=_l("Required for park managers, caseworkers, "
                                          "supervisors and providers."))
    password = PasswordField(_l("Initial password"), validators=[InputRequired(), Length(max=128)],
                             render_kw={"autocomplete": "new-password"})


class PasswordResetForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[InputRequired(), Length(max=128)],
                                 render_kw={"autocomplete": "new-password"})


class OrgForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=as_choices((k.value, ORG_KIND_LABELS[k]) for k in OrgKind),
                       validators=[InputRequired()])
    code = StringField(_l("Code"), validators=[InputRequired(), Length(min=2, max=40)],
                       description=_l("Agencies use union, hrss and civil."))
    name = StringField(_l("Organisation name"), validators=[InputRequired(), Length(max=120)])
    park_code = SelectField(_l("Park"), validate_choice=True,
                            description=_l("For employers and providers located in a park."))
    is_platform = BooleanField(_l("Platform company (riders, couriers, drivers)"))


class ActionForm(FlaskForm):
    """A button-only form: just the CSRF token."""


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[InputRequired()])
    next = HiddenField()


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    kind = SelectField(
        _l("Kind of day"),
        choices=as_choices([("holiday", _l("Public holiday (day off)")),
                            ("workday", _l("Make-up workday (weekend day worked)"))]),
        validators=[InputRequired()],
    )
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=80)],
                       description=_l("e.g. 春节 Spring Festival"))
