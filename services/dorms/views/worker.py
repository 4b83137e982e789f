"""The worker's dormitory pages: parks, apply, my application (queue, points, offer)."""
from __future__ import annotations

from datetime import date, timedelta

from flask import flash, redirect, render_template, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.accounts.forms import ActionForm, as_choices
from services.core.access import Role, roles_required
from services.core.errors import DomainError
from services.core.panels import register_panel
from services.core.web import show_errors
from services.dorms import queries
from services.dorms.access import application_or_404, own_offer_or_404
from services.dorms.explain import reason_text, status_label
from services.dorms.forms import ApplicationForm
from services.dorms.operations import applications as ops
from services.dorms.operations import offers
from services.dorms.operations.inventory import park_by_id
from services.dorms.points import FACTOR_LABELS
from services.dorms.views import dorms_bp
from services.extensions import db


def _panel_context(user) -> dict:
    return {"stay": queries.current_stay(user.id),
            "applications": queries.my_applications(user.id, limit=3),
            "status_label": status_label}


register_panel("dorms_worker", roles=(Role.WORKER,), template="dorms/_panel_worker.html",
               context=_panel_context, order=30)


@dorms_bp.route("/")
@roles_required(Role.WORKER)
def index():
    user = current_user._get_current_object()
    parks = [(park, ops.eligibility_problem(user, park.id)) for park in queries.parks()]
    return render_template("dorms/index.html", parks=parks, stay=queries.current_stay(user.id),
                           applications=queries.my_applications(user.id), status_label=status_label)


@dorms_bp.route("/apply/<int:park_id>", methods=["GET", "POST"])
@roles_required(Role.WORKER)
def apply(park_id: int):
    park = park_by_id(park_id)
    form = ApplicationForm()
    choices = as_choices([("", _("— no preference —"))] +
                         [(b.code, b.name or b.code) for b in queries.buildings(park_id)])
    for field in (form.building_1, form.building_2, form.building_3):
        field.choices = choices
    if not form.is_submitted():
        form.move_in_date.data = date.today() + timedelta(days=7)
    if form.validate_on_submit():
        try:
            application = ops.submit_application(
                worker=current_user._get_current_object(), park_id=park_id,
                gender=form.gender.data, move_in_date=form.move_in_date.data,
                shift=form.shift.data, smoker=form.smoker.data,
                needs_accessible=form.needs_accessible.data,
                max_rent_fen=form.max_rent_yuan.data * 100,
                preferred_buildings=[form.building_1.data, form.building_2.data, form.building_3.data],
                group_code=form.group_code.data or None, couple_with_username=form.couple_with.data or None)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Your application is in the queue."), "success")
            return redirect(url_for("dorms.application", application_id=application.id))
    return render_template("dorms/apply.html", form=form, park=park,
                           problem=ops.eligibility_problem(current_user._get_current_object(), park_id))


@dorms_bp.route("/applications/<int:application_id>")
@roles_required(Role.WORKER, Role.PARK_MANAGER)
def application(application_id: int):
    app = application_or_404(application_id)
    stay = queries.stay_for_application(app.id)
    room_label = stay.bed.room.label if stay else None
    return render_template("dorms/application.html", app=app, stay=stay, form=ActionForm(),
                           position=ops.queue_position(app), status_label=status_label,
                           reason=reason_text(app, room_label), factor_labels=FACTOR_LABELS,
                           is_owner=app.worker_id == current_user.id)


@dorms_bp.route("/applications/<int:application_id>/withdraw", methods=["POST"])
@roles_required(Role.WORKER)
def withdraw(application_id: int):
    app = application_or_404(application_id)
    if ActionForm().validate_on_submit():
        ops.withdraw_application(worker=current_user._get_current_object(), application=app)
        db.session.commit()
        flash(_("Your application is withdrawn."), "info")
    return redirect(url_for("dorms.index"))


@dorms_bp.route("/offers/<int:stay_id>/<any(accept, decline):answer>", methods=["POST"])
@roles_required(Role.WORKER)
def answer_offer(stay_id: int, answer: str):
    stay = own_offer_or_404(stay_id)
    if ActionForm().validate_on_submit():
        worker = current_user._get_current_object()
        if answer == "accept":
            offers.accept_offer(worker=worker, stay=stay)
            message = _("Bed %(bed)s is yours. Bring your ID card when you move in.",
                        bed=f"{stay.bed.room.label}-{stay.bed.label}")
        else:
            offers.decline_offer(worker=worker, stay=stay)
            message = _("You declined the offer.")
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("dorms.application", application_id=stay.application_id)
                    if stay.application_id else url_for("dorms.index"))
