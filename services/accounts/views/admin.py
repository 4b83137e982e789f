"""Administration: accounts of every role, organisations."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.accounts import operations, queries
from services.accounts.forms import ActionForm, OrgForm, PasswordResetForm, UserCreateForm, as_choices
from services.accounts.models import Organisation, OrgKind, User
from services.core.access import Role, roles_required
from services.core.errors import DomainError
from services.core.web import show_errors
from services.extensions import db

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


@admin_bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    page = queries.users_page(search=request.args.get("q", ""), role=request.args.get("role", ""),
                              page=request.args.get("page", 1))
    return render_template("accounts/admin_users.html", page=page, roles=list(Role))


@admin_bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user():
    form = UserCreateForm()
    form.org_code.choices = as_choices(queries.org_choices(blank=_("— none —")))
    if form.validate_on_submit():
        try:
            user = operations.create_user(
                actor_id=current_user.id, role=form.role.data, username=form.username.data,
                password=form.password.data, name=form.name.data, phone=form.phone.data or None,
                org_code=form.org_code.data or None,
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Account %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("accounts/admin_user_new.html", form=form)


@admin_bp.route("/users/<int:user_id>")
@roles_required(Role.ADMIN)
def user(user_id: int):
    shown = db.get_or_404(User, user_id)
    return render_template("accounts/admin_user.html", shown=shown, form=ActionForm(),
                           reset_form=PasswordResetForm(), revealed={})


@admin_bp.route("/users/<int:user_id>/reveal/<field>", methods=["POST"])
@roles_required(Role.ADMIN)
def reveal(user_id: int, field: str):
    shown = db.get_or_404(User, user_id)
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("admin.user", user_id=user_id))
    value = operations.reveal_personal_data(actor_id=current_user.id, user=shown, field=field)
    db.session.commit()
    return render_template("accounts/admin_user.html", shown=shown, form=form,
                           reset_form=PasswordResetForm(), revealed={field: value})


@admin_bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def set_active(user_id: int):
    shown = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        operations.set_active(actor_id=current_user.id, user=shown,
                              active=request.form.get("active") == "1")
        db.session.commit()
        flash(_("Account updated."), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@admin_bp.route("/users/<int:user_id>/password", methods=["POST"])
@roles_required(Role.ADMIN)
def reset_password(user_id: int):
    shown = db.get_or_404(User, user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            operations.reset_password(actor_id=current_user.id, user=shown,
                                      new_password=form.new_password.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("New password set; the account's sessions have ended."), "success")
            return redirect(url_for("admin.user", user_id=user_id))
    return render_template("accounts/admin_user.html", shown=shown, form=ActionForm(),
                           reset_form=form, revealed={}), 422


@admin_bp.route("/orgs")
@roles_required(Role.ADMIN)
def orgs():
    page = queries.orgs_page(kind=request.args.get("kind", ""), page=request.args.get("page", 1))
    return render_template("accounts/admin_orgs.html", page=page, kinds=list(OrgKind))


@admin_bp.route("/orgs/new", methods=["GET", "POST"], defaults={"org_id": None})
@admin_bp.route("/orgs/<int:org_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_org(org_id: int | None):
    org = db.get_or_404(Organisation, org_id) if org_id else None
    form = OrgForm(obj=org, park_code=org.park.code if org and org.park else "")
    form.park_code.choices = as_choices(queries.org_choices(OrgKind.PARK, blank=_("— none —")))
    if org is not None:
        form.kind.data, form.code.data = org.kind.value, org.code  # fixed once created
    if form.validate_on_submit():
        try:
            operations.upsert_org(actor_id=current_user.id, kind=form.kind.data,
                                  code=form.code.data, name=form.name.data,
                                  park_code=form.park_code.data or None,
                                  is_platform=form.is_platform.data, must_be_new=org is None)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Organisation saved."), "success")
            return redirect(url_for("admin.orgs"))
    return render_template("accounts/admin_org_form.html", form=form, org=org)
