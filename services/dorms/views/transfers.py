"""Transfer pages: a worker asks to move or swap and answers swaps; the park manager decides."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from services.core.i18n import gettext as _
from services.core.i18n import lazy_gettext as _l
from flask_login import current_user

from services.accounts.forms import ActionForm, as_choices
from services.core.access import Role, roles_required, visible_or_404
from services.core.errors import DomainError, ValidationFailed
from services.core.web import show_errors
from services.dorms import queries
from services.dorms.access import managed_bed_or_404, managed_park_id
from services.dorms.operations import transfers as ops
from services.dorms.transfer_forms import TransferDecisionForm, TransferRequestForm
from services.dorms.transfer_models import TransferKind, TransferRequest
from services.dorms.views import dorms_bp
from services.extensions import db

STATUS_LABELS = {"requested": _l("Requested"), "confirmed": _l("Confirmed by both"),
                 "approved": _l("Approved"), "rejected": _l("Turned down"),
                 "cancelled": _l("Withdrawn"), "completed": _l("Done")}
KIND_LABELS = {"move": _l("Move"), "swap": _l("Swap")}
LABELS = {"status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS}

def _own_transfer_or_404(request_id: int) -> TransferRequest:
    """A request the signed-in worker made, or a swap addressed to them."""
    found = db.session.get(TransferRequest, request_id)
    return visible_or_404(found, lambda r: r.worker_id == current_user.id or (
        r.partner_stay is not None and r.partner_stay.worker_id == current_user.id))


def _managed_transfer_or_404(request_id: int) -> TransferRequest:
    found = db.session.get(TransferRequest, request_id)
    return visible_or_404(found, lambda r: current_user.role is Role.PARK_MANAGER
                          and r.park_id == current_user.org_id)


@dorms_bp.route("/transfer", methods=["GET", "POST"])
@roles_required(Role.WORKER)
def transfer():
    worker = current_user._get_current_object()
    stay = ops.active_stay(worker.id)
    form = TransferRequestForm()
    form.wanted_building.choices = as_choices(
        [("", _("— no preference —"))] +
        [(b.code, b.name or b.code) for b in (queries.buildings(stay.bed.room.building.park_id) if stay else [])])
    if stay is not None and form.validate_on_submit():
        try:
            if form.kind.data == "swap":
                ops.request_swap(worker=worker, partner_bed=form.partner_bed.data, reason=form.reason.data)
            else:
                ops.request_move(worker=worker, reason=form.reason.data,
                                 wanted_building=form.wanted_building.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Your request is sent.") if form.kind.data == "move" else
                  _("Your swap proposal is sent; the other worker must confirm it."), "success")
            return redirect(url_for("dorms.transfer"))
    return render_template("dorms/transfer.html", stay=stay, form=form, action_form=ActionForm(),
                           mine=ops.my_open_request(worker.id), incoming=ops.swaps_addressed_to(worker.id),
                           past=ops.recent_requests(worker.id), bed_label=ops.bed_label, **LABELS)


@dorms_bp.route("/transfer/<int:request_id>/<any(cancel, confirm, decline):answer>", methods=["POST"])
@roles_required(Role.WORKER)
def transfer_answer(request_id: int, answer: str):
    request = _own_transfer_or_404(request_id)
    if ActionForm().validate_on_submit():
        worker = current_user._get_current_object()
        action = {"cancel": ops.cancel, "confirm": ops.confirm_swap, "decline": ops.decline_swap}[answer]
        try:
            action(worker=worker, request=request)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash({"cancel": _("Your request is withdrawn."), "confirm": _("You confirmed the swap."),
                   "decline": _("You declined the swap.")}[answer], "success")
    return redirect(url_for("dorms.transfer"))


@dorms_bp.route("/manage/transfers")
@roles_required(Role.PARK_MANAGER)
def transfers():
    return render_template("dorms/transfers.html", requests=ops.open_requests(managed_park_id()),
                           bed_label=ops.bed_label, **LABELS)


@dorms_bp.route("/manage/transfers/<int:request_id>", methods=["GET", "POST"])
@roles_required(Role.PARK_MANAGER)
def transfer_decision(request_id: int):
    request = _managed_transfer_or_404(request_id)
    form = TransferDecisionForm()
    beds = ops.fitting_beds(request) if request.is_open and request.kind is TransferKind.MOVE else []
    form.target_bed_id.choices = as_choices([(bed.id, ops.bed_label(bed)) for bed in beds])
    if form.validate_on_submit():
        try:
            _decide(request, form)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Transfer done.") if form.action.data == "approve" else _("Request turned down."),
                  "success")
            return redirect(url_for("dorms.transfers"))
    return render_template("dorms/transfer_decision.html", request_=request, form=form, beds=beds,
                           bed_label=ops.bed_label, **LABELS)


def _decide(request: TransferRequest, form: TransferDecisionForm) -> None:
    if form.action.data == "reject":
        ops.reject(actor_id=current_user.id, request=request, reason=form.reason.data)
    elif request.kind is TransferKind.SWAP:
        ops.approve_swap(actor_id=current_user.id, request=request)
    elif form.target_bed_id.data is None:
        raise ValidationFailed(_("Choose the target bed."), fields={"target_bed_id": _("Choose the target bed.")})
    else:
        ops.approve_move(actor_id=current_user.id, request=request,
                         target_bed=managed_bed_or_404(form.target_bed_id.data))
