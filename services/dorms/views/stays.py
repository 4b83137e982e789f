"""The park manager's check-in and check-out pages."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.core.access import Role, roles_required
from services.core.errors import DomainError, NotFound
from services.core.uploads import StoredFile, send_stored
from services.core.web import show_errors
from services.dorms import queries
from services.dorms.access import managed_park_id, managed_stay_or_404
from services.dorms.forms import CheckInForm, CheckOutForm
from services.dorms.models import StayStatus
from services.dorms.operations import stays as ops
from services.dorms.views import dorms_bp
from services.extensions import db


@dorms_bp.route("/manage/stays")
@roles_required(Role.PARK_MANAGER)
def stays():
    status = StayStatus.ACTIVE if request.args.get("status") == "active" else StayStatus.RESERVED
    page = queries.stays_page(park_id=managed_park_id(), status=status,
                              page=request.args.get("page", 1))
    return render_template("dorms/stays.html", page=page, status=status.value)


@dorms_bp.route("/manage/stays/<int:stay_id>/<any('check-in', 'check-out'):step>", methods=["GET", "POST"])
@roles_required(Role.PARK_MANAGER)
def stay_step(stay_id: int, step: str):
    stay = managed_stay_or_404(stay_id)
    form = CheckInForm() if step == "check-in" else CheckOutForm()
    if not form.is_submitted():
        form.on.data = date.today()
    if form.validate_on_submit():
        try:
            if step == "check-in":
                ops.check_in(actor_id=current_user.id, stay=stay, on=form.on.data,
                             inspection=form.inspection(), key_card=form.key_card.data,
                             deposit_fen=form.deposit_yuan.data * 100, note=form.note.data,
                             photos=form.photos.data or [])
            else:
                ops.check_out(actor_id=current_user.id, stay=stay, on=form.on.data,
                              inspection=form.inspection(), damages_fen=form.damages_yuan.data * 100,
                              note=form.note.data, photos=form.photos.data or [])
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Checked in.") if step == "check-in" else _("Checked out."), "success")
            return redirect(url_for("dorms.stays", status="active" if step == "check-in" else "reserved"))
    return render_template("dorms/stay_step.html", stay=stay, form=form, step=step)


@dorms_bp.route("/manage/stays/<int:stay_id>/photos/<int:file_id>")
@roles_required(Role.PARK_MANAGER)
def stay_photo(stay_id: int, file_id: int):
    """An inspection photo, as a download, only to the manager of the stay's park."""
    stay = managed_stay_or_404(stay_id)
    stored = db.session.get(StoredFile, file_id)
    if stored is None or file_id not in ops.inspection_photo_ids(stay):
        raise NotFound(_("Not found."))
    return send_stored(stored)
