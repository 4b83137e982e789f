"""The administrator's routing rules: who leads and co-handles each category, within how many
working days, and on what policy basis (what the pre-screen cites to the worker)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.cases import queries
from services.cases.forms import RuleForm
from services.cases.labels import CATEGORY_LABELS
from services.cases.routing import CATEGORIES, update_rule
from services.cases.views import cases_bp
from services.core.access import Role, roles_required
from services.core.errors import DomainError, NotFound
from services.core.web import show_errors
from services.extensions import db


@cases_bp.route("/cases/rules")
@roles_required(Role.ADMIN)
def rules():
    return render_template("cases/rules.html", rules=queries.routing_rules(),
                           categories=CATEGORY_LABELS)


@cases_bp.route("/cases/rules/<category>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_rule(category: str):
    if category not in CATEGORIES:
        raise NotFound(_("Not found."))
    rule = queries.routing_rule(category)
    form = RuleForm(data=None if rule is None else {
        "lead_agency": rule.lead_agency, "co_agencies": rule.co_agencies,
        "resolve_days": rule.resolve_days, "ack_days": rule.ack_days,
        "policy_basis": rule.policy_basis})
    if form.validate_on_submit():
        try:
            update_rule(actor_id=current_user.id, category=category,
                        lead_agency=form.lead_agency.data, co_agencies=form.co_agencies.data or [],
                        resolve_days=form.resolve_days.data, ack_days=form.ack_days.data,
                        policy_basis=form.policy_basis.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Rule saved; new requests are routed by it."), "success")
            return redirect(url_for("cases.rules"))
    status = 422 if form.errors else 200
    return render_template("cases/rule_form.html", form=form, category=category,
                           categories=CATEGORY_LABELS), status
