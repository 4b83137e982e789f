"""The signed-in user's profile and password."""
from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from services.core.i18n import gettext as _
from flask_login import current_user, login_user

from services.accounts import export  # noqa: F401  (registers the account's export sections)
from services.accounts import operations
from services.accounts.forms import PasswordChangeForm, ProfileForm
from services.core.access import ALL_ROLES, roles_required
from services.core.errors import DomainError
from services.core.exports import collect_all
from services.core.web import show_errors
from services.extensions import db

profile_bp = Blueprint("profile", __name__, url_prefix="/profile")


@profile_bp.route("", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def edit():
    user = current_user._get_current_object()
    form = ProfileForm(name=user.name)
    if form.validate_on_submit():
        try:
            operations.update_profile(user=user, name=form.name.data, phone=form.phone.data,
                                      national_id=form.national_id.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("profile.edit"))
    return render_template("accounts/profile.html", form=form, user=user)


@profile_bp.route("/password", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def password():
    user = current_user._get_current_object()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            operations.change_password(user=user, current_password=form.current_password.data,
                                       new_password=form.new_password.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            login_user(user)  # this device stays signed in with the new session version
            flash(_("Your password is changed. Other devices have been signed out."), "success")
            return redirect(url_for("profile.edit"))
    return render_template("accounts/password.html", form=form)


@profile_bp.route("/export")
@roles_required(*ALL_ROLES)
def export_data():
    """Everything held about the signed-in person, as a JSON download."""
    body = json.dumps(collect_all(current_user._get_current_object()), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="anju-my-data-{current_user.id}.json"'})
