"""The supervisor's team page: who takes new cases, how many each holds, the assignment rule."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.accounts.models import User
from services.cases import queries
from services.cases.forms import AssignmentRuleForm, AvailabilityForm
from services.cases.models import agency_of
from services.cases.operations import lifecycle
from services.cases.views import cases_bp
from services.core.access import Role, roles_required, visible_or_404
from services.core.errors import DomainError
from services.extensions import db


@cases_bp.route("/cases/team")
@roles_required(Role.SUPERVISOR)
def team():
    agency = agency_of(current_user)
    members = queries.team(agency)
    forms = {m.user.id: AvailabilityForm(prefix=f"member{m.user.id}",
                                         data={"available": "1" if m.available else "0",
                                               "note": m.note}) for m in members}
    rule = AssignmentRuleForm(data={"rule": queries.assignment_rule(agency)})
    return render_template("cases/team.html", members=members, forms=forms, rule_form=rule,
                           agency=agency)


@cases_bp.route("/cases/team/rule", methods=["POST"])
@roles_required(Role.SUPERVISOR)
def assignment_rule():
    form = AssignmentRuleForm()
    if form.validate_on_submit():
        lifecycle.set_assignment_rule(actor=current_user._get_current_object(), rule=form.rule.data)
        db.session.commit()
        flash(_("Assignment rule saved."), "success")
    return redirect(url_for("cases.team"))


@cases_bp.route("/cases/team/<int:user_id>/availability", methods=["POST"])
@roles_required(Role.SUPERVISOR)
def member_availability(user_id: int):
    me = current_user._get_current_object()
    member = visible_or_404(db.session.get(User, user_id),
                            lambda u: u.role is Role.CASEWORKER and agency_of(u) == agency_of(me))
    form = AvailabilityForm(prefix=f"member{user_id}")
    if form.validate_on_submit():
        try:
            lifecycle.set_availability(actor=me, user=member, note=form.note.data or "",
                                       available=form.available.data == "1")
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(_("Saved."), "success")
    return redirect(url_for("cases.team"))
