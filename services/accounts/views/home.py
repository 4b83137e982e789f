"""Home page (per role) and the notification inbox."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from flask_login import current_user

from services.accounts import queries
from services.accounts.forms import ActionForm
from services.core import notify
from services.core.access import ALL_ROLES, STAFF_ROLES, Role, public, roles_required
from services.core.page_cache import per_user
from services.core.panels import panels_for, register_panel
from services.extensions import db

home_bp = Blueprint("home", __name__)

register_panel("account", roles=ALL_ROLES, template="accounts/_panel_account.html", order=900)
register_panel(
    "notifications", roles=ALL_ROLES, template="accounts/_panel_notifications.html", order=10,
    context=lambda user: {"recent": notify.inbox(user.id).recent},
)
register_panel(
    "admin_overview", roles=(Role.ADMIN,), template="accounts/_panel_admin.html", order=20,
    context=lambda user: {"roles": queries.role_counts(), "orgs": queries.org_counts()},
)


@home_bp.route("/")
@public
@per_user
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    user = current_user._get_current_object()
    return render_template("accounts/home.html", panels=panels_for(user),
                           is_staff=user.role in STAFF_ROLES)


@home_bp.route("/notifications")
@roles_required(*ALL_ROLES)
def notifications():
    page = queries.notifications_page(user_id=current_user.id, page=request.args.get("page", 1))
    return render_template("accounts/notifications.html", page=page, form=ActionForm())


@home_bp.route("/notifications/read", methods=["POST"])
@roles_required(*ALL_ROLES)
def mark_all_read():
    if ActionForm().validate_on_submit():
        notify.mark_read(user_id=current_user.id)
        db.session.commit()
    return redirect(url_for("home.notifications"))


@home_bp.route("/healthz")
@public
def healthz():
    """Liveness and readiness: the database answers (and Redis, when configured)."""
    from services.core.health import check

    status, body = check()
    return body, status


