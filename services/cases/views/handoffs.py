"""Answering handoffs: accept or decline a transfer or co-handling request, finish one's part,
or revoke a request one sent. The page to go back to is the case, when one may still see it."""
from __future__ import annotations

from typing import Callable

from services.core.i18n import gettext as _
from flask_login import current_user

from services.cases.access import handoff_or_404
from services.cases.forms import DeclineForm, FinishForm
from services.cases.operations import handoffs
from services.cases.views import cases_bp
from services.cases.views.case import AGENCY_STAFF, act
from services.core.access import roles_required


def _me():
    return current_user._get_current_object()


def _answer(handoff_id: int, name: str | None, run: Callable, done: Callable[[], str],
            form_cls=None):
    handoff = handoff_or_404(handoff_id)
    form = form_cls(prefix=f"{name}{handoff_id}") if form_cls else None
    return act(handoff.case_id, f"{name}{handoff_id}", run, done, form, target=handoff)


@cases_bp.route("/handoffs/<int:handoff_id>/accept", methods=["POST"])
@roles_required(*AGENCY_STAFF)
def accept_handoff(handoff_id: int):
    return _answer(handoff_id, None, lambda h, f: handoffs.accept_handoff(actor=_me(), handoff=h),
                   lambda: _("Accepted."))


@cases_bp.route("/handoffs/<int:handoff_id>/decline", methods=["POST"])
@roles_required(*AGENCY_STAFF)
def decline_handoff(handoff_id: int):
    def run(h, f):
        handoffs.decline_handoff(actor=_me(), handoff=h, reason_code=f.reason_code.data,
                                 basis=f.basis.data)
    return _answer(handoff_id, "decline", run, lambda: _("Declined, with your reason and basis."),
                   DeclineForm)


@cases_bp.route("/handoffs/<int:handoff_id>/finish", methods=["POST"])
@roles_required(*AGENCY_STAFF)
def finish_handoff(handoff_id: int):
    def run(h, f):
        handoffs.finish_referral(actor=_me(), handoff=h, succeeded=f.succeeded.data == "1",
                                 note=f.note.data)
    return _answer(handoff_id, "finish", run, lambda: _("Your part is recorded."), FinishForm)


@cases_bp.route("/handoffs/<int:handoff_id>/revoke", methods=["POST"])
@roles_required(*AGENCY_STAFF)
def revoke_handoff(handoff_id: int):
    return _answer(handoff_id, None, lambda h, f: handoffs.revoke_handoff(actor=_me(), handoff=h),
                   lambda: _("Request withdrawn."))
