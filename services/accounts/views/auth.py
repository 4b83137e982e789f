"""Sign in, sign out, register, choose the language."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from services.core.i18n import gettext as _
from flask_login import current_user, login_user, logout_user

from services.accounts import operations, queries
from services.accounts.forms import LanguageForm, LoginForm, RegisterForm, as_choices
from services.accounts.limits import login_per_account, login_per_address, registrations_per_address
from services.core.access import ALL_ROLES, public, roles_required
from services.core.errors import DomainError
from services.core.locale import LANG_COOKIE
from services.core.web import safe_next, show_errors
from services.extensions import db

auth_bp = Blueprint("auth", __name__)


def start_session(user, *, remember: bool = False) -> None:
    """A fresh session for the user: nothing of the anonymous session survives (no fixation)."""
    session.clear()
    session.permanent = remember
    login_user(user)


@auth_bp.route("/login", methods=["GET", "POST"])
@public
@login_per_address
@login_per_account
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data, url_for("home.index")))
    status = 200
    if form.validate_on_submit():
        try:
            user = operations.authenticate(username=form.username.data, password=form.password.data)
        except DomainError as error:
            db.session.commit()
            form.password.errors.append(error.message)
            status = 401
        else:
            db.session.commit()
            start_session(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data, url_for("home.index")))
    idle = session.pop("idle_expired", False)
    return render_template("accounts/login.html", form=form, idle=idle), status


@auth_bp.route("/logout", methods=["POST"])
@roles_required(*ALL_ROLES)
def logout():
    operations.end_sessions(user=current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@auth_bp.route("/register", methods=["GET", "POST"])
@public
@registrations_per_address
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegisterForm()
    form.employer_id.choices = as_choices(queries.employer_choices())
    if form.validate_on_submit():
        try:
            user = operations.register_worker(
                username=form.username.data, password=form.password.data, phone=form.phone.data,
                name=form.name.data, employer_id=form.employer_id.data,
                employment_form=form.employment_form.data,
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            start_session(user)
            flash(_("Welcome to Anju, %(name)s.", name=user.display_name), "success")
            return redirect(url_for("home.index"))
    return render_template("accounts/register.html", form=form)


@auth_bp.route("/language", methods=["POST"])
@public
def language():
    form = LanguageForm()
    target = safe_next(form.next.data or request.referrer and _path_of(request.referrer), "/")
    response = redirect(target)
    if form.validate_on_submit() and form.lang.data in current_app.config["LANGUAGES"]:
        response.set_cookie(LANG_COOKIE, form.lang.data, max_age=365 * 24 * 3600,
                            samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
