"""The worker's pages: ask for help in three short steps, then follow the case.

1. `/aid/new` — what is it about (category);
2. `/aid/new/consent` — the pre-screen (who will handle it, which rule, on what basis) and the
   consent screen (which agency sees what); nothing is saved in these two steps, they travel in
   the query string;
3. `/aid/new/details` — what happened, amount, employer, dates, files; submitting files it.

Steps 1 and 2 come before the details on purpose: the worker knows who will read what they
write before they write it.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.aid.forms import (CategoryForm, ConfirmForm, ConsentForm, DetailsForm, ReasonForm,
                                WithdrawForm)
from services.cases import queries
from services.cases.access import case_file_or_404, own_case_or_404
from services.cases.feed import feed, standing
from services.cases.forms import yuan_to_fen
from services.cases.labels import CATEGORY_HINTS
from services.cases.operations import handoffs, intake, lifecycle
from services.cases.routing import AGENCIES, CATEGORIES, prescreen
from services.core.access import Role, roles_required
from services.core.audit import utcnow
from services.core.errors import DomainError
from services.core.panels import register_panel
from services.core.uploads import send_stored
from services.core.web import show_errors
from services.extensions import db

aid_bp = Blueprint("aid", __name__)
WORKER = Role.WORKER

register_panel("aid_worker", roles=(WORKER,), template="aid/_panel_worker.html", order=25,
               context=lambda user: {"requests": queries.worker_cases(user.id, limit=3)})


def _me():
    return current_user._get_current_object()


def _step_args() -> tuple[str, list[str]]:
    category = request.args.get("category", "")
    consent = [a for a in request.args.getlist("consent") if a in AGENCIES]
    return category, sorted(set(consent))


@aid_bp.route("/aid")
@roles_required(WORKER)
def index():
    return render_template("aid/index.html", requests=queries.worker_cases(current_user.id))


@aid_bp.route("/aid/new")
@roles_required(WORKER)
def new():
    form = CategoryForm(request.args)
    if request.args and form.validate():
        return redirect(url_for("aid.consent", category=form.category.data))
    return render_template("aid/new_category.html", form=form, hints=CATEGORY_HINTS), \
        422 if request.args else 200


@aid_bp.route("/aid/new/consent")
@roles_required(WORKER)
def consent():
    category, chosen = _step_args()
    if category not in CATEGORIES:
        return redirect(url_for("aid.new"))
    screen = prescreen(category, AGENCIES)  # the whole rule; the ticks are `chosen`
    form = ConsentForm(request.args)
    asked = "consent" in request.args or request.args.get("sent") == "1"
    if asked and screen.lead_agency in chosen:
        return redirect(url_for("aid.details", category=category, consent=chosen))
    error = _("The agency that decides this request must be allowed to see it; please tick it.") \
        if asked else None
    return render_template("aid/new_consent.html", form=form, screen=screen, chosen=chosen,
                           category=category, error=error), 422 if error else 200


@aid_bp.route("/aid/new/details", methods=["GET", "POST"])
@roles_required(WORKER)
def details():
    category, chosen = _step_args()
    if category not in CATEGORIES or not chosen:
        return redirect(url_for("aid.new"))
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            case = _submit(form, worker=_me(), actor=_me(), category=category, consent=chosen)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Your request %(no)s was received. You can follow it here.",
                    no=case.case_no), "success")
            return redirect(url_for("aid.case", case_id=case.id))
    return render_template("aid/new_details.html", form=form, category=category, chosen=chosen,
                           screen=prescreen(category, chosen)), 422 if form.errors else 200


def _submit(form: DetailsForm, *, worker, actor, category: str, consent: list[str]):
    """File the request and attach its files (one transaction; the caller commits)."""
    case = intake.submit_request(
        actor=actor, worker=worker, category=category, description=form.description.data,
        consent=consent, amount_fen=yuan_to_fen(form.amount_yuan.data),
        employer_name=form.employer_name.data or "", incident_start=form.incident_start.data,
        incident_end=form.incident_end.data, contact_preference=form.contact_preference.data)
    intake.attach_files(actor=actor, case=case, files=form.files.data or [])
    return case


def render_request(case, *, status: int = 200, **failed):
    forms = {"confirm": ConfirmForm(prefix="confirm"), "reopen": ReasonForm(prefix="reopen"),
             "review": ReasonForm(prefix="review"), "withdraw": WithdrawForm(prefix="withdraw")}
    queries.load_case(case)
    return render_template("aid/case.html", case=case, feed=feed(case), forms=forms | failed,
                           standing=standing(case, now=utcnow())), status


@aid_bp.route("/aid/cases/<int:case_id>")
@roles_required(WORKER)
def case(case_id: int):
    return render_request(own_case_or_404(case_id))


@aid_bp.route("/aid/cases/<int:case_id>/files/<int:file_id>")
@roles_required(WORKER)
def case_file(case_id: int, file_id: int):
    return send_stored(case_file_or_404(case_id, file_id).file)


def _worker_act(case_id: int, name: str, form, run, done: str):
    shown = own_case_or_404(case_id)
    if not form.validate_on_submit():
        return render_request(shown, status=422, **{name: form})
    try:
        run(shown, form)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("aid.case", case_id=case_id))


@aid_bp.route("/aid/cases/<int:case_id>/confirm", methods=["POST"])
@roles_required(WORKER)
def confirm(case_id: int):
    return _worker_act(case_id, "confirm", ConfirmForm(prefix="confirm"),
                       lambda c, f: lifecycle.confirm(worker=_me(), case=c,
                                                      satisfaction=int(f.satisfaction.data),
                                                      comment=f.comment.data or ""),
                       _("Thank you. Your case is closed."))


@aid_bp.route("/aid/cases/<int:case_id>/reopen", methods=["POST"])
@roles_required(WORKER)
def reopen(case_id: int):
    return _worker_act(case_id, "reopen", ReasonForm(prefix="reopen"),
                       lambda c, f: lifecycle.reopen(worker=_me(), case=c, reason=f.reason.data),
                       _("Your case is reopened and goes back to the agency."))


@aid_bp.route("/aid/cases/<int:case_id>/withdraw", methods=["POST"])
@roles_required(WORKER)
def withdraw(case_id: int):
    return _worker_act(case_id, "withdraw", WithdrawForm(prefix="withdraw"),
                       lambda c, f: lifecycle.withdraw(worker=_me(), case=c,
                                                       reason=f.reason.data or ""),
                       _("Your request is withdrawn."))


@aid_bp.route("/aid/cases/<int:case_id>/review", methods=["POST"])
@roles_required(WORKER)
def review(case_id: int):
    return _worker_act(case_id, "review", ReasonForm(prefix="review"),
                       lambda c, f: handoffs.ask_review(worker=_me(), case=c, reason=f.reason.data),
                       _("The coordination office will review your request."))


from services.aid import intake_views  # noqa: E402,F401  (staff intake registers its routes)

__all__ = ["aid_bp"]
