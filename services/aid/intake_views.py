"""Intake on a worker's behalf (phone intake, or at a rest station): the same request, filed by a
caseworker, supervisor or rest-station staff member, with the worker's consent read out to them.

The worker must already have an account (found by mobile number or username); if they do not,
staff help them register first — an account is how the worker follows the case and answers it.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.aid.forms import StaffIntakeForm
from services.aid.views import _submit, aid_bp
from services.cases import queries
from services.cases.models import can_view
from services.core.access import Role, roles_required
from services.core.errors import DomainError
from services.core.web import show_errors
from services.extensions import db

INTAKE_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.PROVIDER)


@aid_bp.route("/aid/intake", methods=["GET", "POST"])
@roles_required(*INTAKE_ROLES)
def staff_intake():
    form = StaffIntakeForm()
    me = current_user._get_current_object()
    if form.validate_on_submit():
        worker = queries.find_worker(form.worker.data)
        if worker is None:
            form.worker.errors = [_("No worker account has this number or username. Help the "
                                    "worker register first, then file the request.")]
        else:
            try:
                case = _submit(form, worker=worker, actor=me, category=form.category.data,
                               consent=form.consent.data)
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                show_errors(form, error)
            else:
                flash(_("Request %(no)s filed for %(name)s; they are told on their phone.",
                        no=case.case_no, name=worker.display_name), "success")
                if can_view(me, case):
                    return redirect(url_for("cases.case", case_id=case.id))
                return redirect(url_for("aid.staff_intake"))
    return render_template("aid/staff_intake.html", form=form,
                           rules=queries.routing_rules()), 422 if form.errors else 200
