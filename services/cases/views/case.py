"""One case, as agency staff and the coordinator see it, and every action taken on it.

Each action is a POST with its own prefixed form; a form that fails its shape check re-renders
the page with the errors beside the fields (422), a broken rule is flashed and nothing is saved.
"""
from __future__ import annotations

from typing import Callable

from flask import flash, redirect, render_template, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.accounts.operations import reveal_personal_data
from services.cases import queries
from services.cases.access import case_file_or_404, case_or_404, log_case_view
from services.cases.actions import case_actions, handoff_actions
from services.cases.feed import feed
from services.cases.forms import (ActionForm, ArbitrateForm, DeclineForm, FinishForm,
                                  HandoffForm, HoldForm, NoteForm, NotAcceptForm, ResolveForm,
                                  ReturnForm, agency_choices, yuan_to_fen)
from services.cases.labels import AGENCY_LABELS
from services.cases.models import Case, can_view, took_part, visible_fields
from services.cases.operations import handoffs, lifecycle
from services.cases.views import cases_bp
from services.core.access import Role, roles_required
from services.core.audit import utcnow
from services.core.errors import DomainError
from services.core.uploads import send_stored
from services.core.web import show_errors
from services.extensions import db

CASE_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR)
AGENCY_STAFF = (Role.CASEWORKER, Role.SUPERVISOR)


def _me():
    return current_user._get_current_object()


def _consented_choices(case: Case):
    return [c for c in agency_choices(case.lead_agency) if c.value in (case.consented_agencies or [])]


def _forms(case: Case) -> dict:
    """Every form the page may show, each with its own prefix (no clashing ids or names)."""
    forms = {"action": ActionForm(), "hold": HoldForm(prefix="hold"),
             "not_accept": NotAcceptForm(prefix="not_accept"), "note": NoteForm(prefix="note"),
             "resolve": ResolveForm(prefix="resolve"), "return": ReturnForm(prefix="return"),
             "handoff": HandoffForm(prefix="handoff"), "arbitrate": ArbitrateForm(prefix="arbitrate")}
    return forms | {f"decline{h.id}": DeclineForm(prefix=f"decline{h.id}") for h in case.handoffs} \
        | {f"finish{h.id}": FinishForm(prefix=f"finish{h.id}") for h in case.handoffs}


def _with_choices(case: Case, forms: dict) -> dict:
    forms["return"].to_agency.choices = _consented_choices(case)
    forms["handoff"].to_agency.choices = _consented_choices(case)
    forms["arbitrate"].lead_agency.choices = [
        (code, AGENCY_LABELS[code]) for code in AGENCY_LABELS if code in case.consented_agencies]
    return forms


def render_case(case: Case, *, status: int = 200, revealed: str | None = None, **failed):
    """The case page (the read goes to the access log, committed here)."""
    user = _me()
    queries.load_case(case)
    internal, updates = queries.notes_for(user, case)
    page = render_template(
        "cases/case.html", case=case, fields=visible_fields(user, case),
        actions=case_actions(user, case), feed=feed(case), internal=internal, updates=updates,
        authors=queries.author_names(internal + updates), revealed=revealed, now=utcnow(),
        members=queries.collective_members(user, case),
        handoff_actions={h.id: handoff_actions(user, h) for h in case.handoffs},
        forms=_with_choices(case, _forms(case) | failed))
    log_case_view(case, user)
    db.session.commit()
    return page, status


@cases_bp.route("/cases/<int:case_id>")
@roles_required(*CASE_ROLES)
def case(case_id: int):
    user = _me()
    shown = db.session.get(Case, case_id)
    if shown is not None and not can_view(user, shown) and took_part(user, shown):
        internal, _updates = queries.notes_for(user, shown)
        return render_template("cases/summary.html", case=shown, notes=internal,
                               authors=queries.author_names(internal))
    return render_case(case_or_404(case_id))


@cases_bp.route("/cases/<int:case_id>/files/<int:file_id>")
@roles_required(*CASE_ROLES)
def case_file(case_id: int, file_id: int):
    attached = case_file_or_404(case_id, file_id)
    db.session.commit()  # the access-log entry
    return send_stored(attached.file)


@cases_bp.route("/cases/<int:case_id>/phone", methods=["POST"])
@roles_required(*AGENCY_STAFF)
def reveal_phone(case_id: int):
    shown = case_or_404(case_id)
    if not ActionForm().validate_on_submit() or "reveal_phone" not in case_actions(_me(), shown):
        return redirect(url_for("cases.case", case_id=case_id))
    try:
        number = reveal_personal_data(actor_id=current_user.id, user=shown.worker, field="phone")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("cases.case", case_id=case_id))
    return render_case(shown, revealed=number)


def act(case_id: int, name: str, run: Callable, done: Callable[[], str], form=None, *,
        target=None):
    """Validate the action's form, run the operation on the case (or `target`, e.g. one of its
    handoffs), commit once, flash, redirect to the case — or the queue once it is out of sight."""
    shown = case_or_404(case_id)
    form = form if form is not None else ActionForm()
    target = target if target is not None else shown
    if not form.validate_on_submit():
        if isinstance(form, ActionForm):
            flash(_("The form expired. Please try again."), "error")
            return redirect(url_for("cases.case", case_id=case_id))
        return render_case(shown, status=422, **{name: form})
    try:
        run(target, form)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        if error.fields and not isinstance(form, ActionForm):
            show_errors(form, error)
            return render_case(db.session.get(Case, case_id), status=422, **{name: form})
        flash(error.message, "error")
        return redirect(url_for("cases.case", case_id=case_id))
    flash(done(), "success")
    if can_view(_me(), db.session.get(Case, case_id)):
        return redirect(url_for("cases.case", case_id=case_id))
    return redirect(url_for("cases.queue"))


def _route(rule: str, name: str, roles=AGENCY_STAFF):
    def register(view):
        return cases_bp.route(rule, methods=["POST"], endpoint=name)(roles_required(*roles)(view))
    return register


@_route("/cases/<int:case_id>/accept", "accept")
def accept(case_id: int):
    return act(case_id, "action", lambda c, f: lifecycle.accept_case(actor=_me(), case=c),
               lambda: _("Case accepted; the worker has been told."))


@_route("/cases/<int:case_id>/claim", "claim")
def claim(case_id: int):
    return act(case_id, "action", lambda c, f: lifecycle.claim(actor=_me(), case=c),
               lambda: _("The case is yours."))


@_route("/cases/<int:case_id>/start", "start")
def start(case_id: int):
    return act(case_id, "action", lambda c, f: lifecycle.start_work(actor=_me(), case=c),
               lambda: _("Work started."))


@_route("/cases/<int:case_id>/resume", "resume")
def resume(case_id: int):
    return act(case_id, "action", lambda c, f: lifecycle.resume(actor=_me(), case=c),
               lambda: _("Work resumed; the deadline moved by the time on hold."))


@_route("/cases/<int:case_id>/hold", "hold")
def hold(case_id: int):
    return act(case_id, "hold", lambda c, f: lifecycle.hold(actor=_me(), case=c,
                                                            reason=f.reason.data),
               lambda: _("The case is on hold; the clock stops."), HoldForm(prefix="hold"))


@_route("/cases/<int:case_id>/not-accept", "not_accept")
def not_accept(case_id: int):
    return act(case_id, "not_accept",
               lambda c, f: lifecycle.not_accept(actor=_me(), case=c, reason=f.reason.data),
               lambda: _("The request was not accepted; the worker has been told."),
               NotAcceptForm(prefix="not_accept"))


@_route("/cases/<int:case_id>/resolve", "resolve")
def resolve(case_id: int):
    def run(c, f):
        lifecycle.resolve(actor=_me(), case=c, outcome=f.outcome.data, note=f.note.data,
                          recovered_fen=yuan_to_fen(f.recovered_yuan.data))
    return act(case_id, "resolve", run, lambda: _("Case resolved; the worker is asked to confirm."),
               ResolveForm(prefix="resolve"))


@_route("/cases/<int:case_id>/return", "return_case")
def return_case(case_id: int):
    form = ReturnForm(prefix="return")
    form.to_agency.choices = agency_choices()

    def run(c, f):
        handoffs.return_case(actor=_me(), case=c, to_agency=f.to_agency.data,
                             reason_code=f.reason_code.data, basis=f.basis.data)
    return act(case_id, "return", run, lambda: _("The case was returned."), form)


@_route("/cases/<int:case_id>/handoffs", "request_handoff")
def request_handoff(case_id: int):
    form = HandoffForm(prefix="handoff")
    form.to_agency.choices = agency_choices()

    def run(c, f):
        handoffs.request_handoff(actor=_me(), case=c, kind=f.kind.data, to_agency=f.to_agency.data,
                                 reason=f.reason.data)
    return act(case_id, "handoff", run, lambda: _("Sent; the agency has one working day to answer."),
               form)


@_route("/cases/<int:case_id>/notes", "add_note")
def add_note(case_id: int):
    def run(c, f):
        lifecycle.add_note(actor=_me(), case=c, body=f.body.data,
                           worker_visible=f.worker_visible.data)
    return act(case_id, "note", run, lambda: _("Note saved."), NoteForm(prefix="note"))


@_route("/cases/<int:case_id>/arbitrate", "arbitrate", roles=(Role.COORDINATOR,))
def arbitrate(case_id: int):
    form = ArbitrateForm(prefix="arbitrate")
    form.lead_agency.choices = list(AGENCY_LABELS.items())

    def run(c, f):
        handoffs.arbitrate(actor=_me(), case=c, lead_agency=f.lead_agency.data,
                           decision=f.decision.data)
    return act(case_id, "arbitrate", run, lambda: _("Decision recorded; it is binding."), form)
