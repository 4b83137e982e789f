"""The agencies' lists: my cases, the agency's queue, all open, finished, handoffs to answer;
the coordinator's list of escalated and disputed cases; a caseworker's availability."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from services.core.i18n import gettext as _
from flask_login import current_user

from services.cases import queries
from services.cases.forms import AvailabilityForm, ReassignForm
from services.cases.labels import CATEGORY_LABELS, DEADLINE_LABELS, STATUS_LABELS
from services.cases.models import agency_of
from services.cases.operations import lifecycle
from services.cases.views import cases_bp
from services.cases.views.case import CASE_ROLES
from services.core.access import Role, roles_required
from services.core.errors import DomainError
from services.core.page_cache import per_user
from services.core.panels import register_panel
from services.extensions import db

TABS = ("mine", "queue", "open", "done", "tasks")


def _agency_panel(user) -> dict:
    return {"counts": queries.view_counts(user)}


register_panel("cases_agency", roles=(Role.CASEWORKER, Role.SUPERVISOR),
               template="cases/_panel_agency.html", context=_agency_panel, order=20)
register_panel("cases_coordinator", roles=(Role.COORDINATOR,), order=20,
               template="cases/_panel_coordinator.html",
               context=lambda user: {"waiting": queries.arbitration_count()})


@cases_bp.route("/cases")
@per_user
@roles_required(*CASE_ROLES)
def queue():
    user = current_user._get_current_object()
    filters = queries.CaseFilters.from_args(request.args)
    page_no = request.args.get("page", 1)
    labels = {"statuses": STATUS_LABELS, "categories": CATEGORY_LABELS,
              "deadlines": DEADLINE_LABELS}
    if user.role is Role.COORDINATOR:
        return render_template("cases/coordination.html", filters=filters, **labels,
                               page=queries.coordinator_cases(filters=filters, page=page_no))
    tab = request.args.get("view") if request.args.get("view") in TABS else (
        "mine" if user.role is Role.CASEWORKER else "open")
    header = queries.queue_header(user)  # first: it fetches the versions of every cached part
    list_cache = rows_cache = None
    if tab == "tasks":
        page = queries.agency_tasks(agency_of(user), page=page_no)
    else:
        page = queries.agency_cases(user, view=tab, filters=filters, page=page_no)
        list_cache = queries.list_cache(user, view=tab, filters=filters, page_no=page.page,
                                        size=page.per_page)
    reassign = None
    if user.role is Role.SUPERVISOR and tab != "tasks":
        reassign = ReassignForm(prefix="reassign")
        reassign.to_user.choices = _reassign_choices(user)
        # the list holds the reassignment form (a CSRF token): only its rows are kept
        rows_cache, list_cache = (f"{list_cache[0]}:rows", list_cache[1]), None
    availability = availability_cache = None
    if user.role is Role.CASEWORKER:
        ticked = "1" if header.available else "0"
        availability = AvailabilityForm(prefix="availability", data={"available": ticked})
        availability_cache = (f"cases:availability-field:{ticked}", ())  # the same for everyone
    # what the cached blocks show: the title, the menu (by role) and the tab counts; the filters,
    # the rows and the pager of the list (all named by the list's key); the availability choice
    top_cache = (f"cases:top:{agency_of(user)}:{user.id}:{user.role.value}:{tab}",
                 queries.header_namespaces(user))
    return render_template("cases/queue.html", tab=tab, page=page, filters=filters,
                           counts=queries.view_counts(user), reassign=reassign,
                           availability=availability, agency=agency_of(user), top_cache=top_cache,
                           list_cache=list_cache, rows_cache=rows_cache,
                           availability_cache=availability_cache, **labels)


def _reassign_choices(user):
    members = queries.team(agency_of(user))
    return [("queue", _("Back to the agency queue"))] + [
        (str(m.user.id), _("%(name)s (%(n)s open)", name=m.user.display_name, n=m.open_cases))
        for m in members]


@cases_bp.route("/cases/reassign", methods=["POST"])
@roles_required(Role.SUPERVISOR)
def reassign():
    user = current_user._get_current_object()
    form = ReassignForm(prefix="reassign")
    form.to_user.choices = _reassign_choices(user)
    back = request.form.get("back") or "open"
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for("cases.queue", view=back))
    target = None if form.to_user.data == "queue" else db.session.get(
        type(user), int(form.to_user.data))
    cases = queries.cases_by_ids(agency_of(user), form.case_ids.data)
    try:
        lifecycle.reassign(actor=user, cases=cases, to_user=target)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_("%(n)d cases reassigned.", n=len(cases)), "success")
    return redirect(url_for("cases.queue", view=back))


@cases_bp.route("/cases/availability", methods=["POST"])
@roles_required(Role.CASEWORKER)
def availability():
    user = current_user._get_current_object()
    form = AvailabilityForm(prefix="availability")
    if form.validate_on_submit():
        lifecycle.set_availability(actor=user, user=user, available=form.available.data == "1",
                                   note=form.note.data or "")
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(url_for("cases.queue"))
