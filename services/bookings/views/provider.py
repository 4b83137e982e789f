"""Provider staff pages: services, slots (one by one or weekly), attendance list, check-in."""
from __future__ import annotations

from datetime import datetime

from flask import Response, flash, redirect, render_template, request, url_for
from services.core.i18n import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from services.accounts.models import Organisation, OrgKind
from services.bookings import operations, queries, reports
from services.bookings.forms import ActionForm, CheckInCodeForm, PatternForm, ServiceForm, SlotForm
from services.bookings.models import CATEGORY_LABELS, STATUS_LABELS
from services.bookings.operations.common import LOCAL_TZ
from services.bookings.views import bookings_bp
from services.core.access import Role, roles_required
from services.core.errors import DomainError
from services.core.web import show_errors
from services.extensions import db


def _me():
    return current_user._get_current_object()


def _park_choices() -> list[SelectChoice]:
    parks = db.session.scalars(db.select(Organisation).where(Organisation.kind == OrgKind.PARK)
                               .order_by(Organisation.name))
    return [SelectChoice("", _("— none —"))] + [SelectChoice(p.code, p.name) for p in parks]


def _service_values(form: ServiceForm) -> dict:
    values = {name: getattr(form, name).data for name in (
        "title", "category", "description", "location", "map_url", "online", "eligibility",
        "mode")}
    values["eligible_park"] = form.eligible_park.data or None
    values.update({name: getattr(form, name).data for name in ServiceForm.SETTINGS})
    return values


@bookings_bp.route("/provider/services")
@roles_required(Role.PROVIDER)
def provider_services():
    return render_template("bookings/provider_services.html",
                           services=queries.provider_services(current_user.org_id),
                           categories=CATEGORY_LABELS)


@bookings_bp.route("/provider/services/new", methods=["GET", "POST"], defaults={"service_id": None})
@bookings_bp.route("/provider/services/<int:service_id>/edit", methods=["GET", "POST"])
@roles_required(Role.PROVIDER)
def edit_service(service_id: int | None):
    shown = queries.own_service_or_404(service_id, current_user) if service_id else None
    form = ServiceForm(obj=shown, eligible_park=shown.eligible_park.code
                       if shown and shown.eligible_park else "")
    form.eligible_park.choices = _park_choices()
    if shown is None and request.method == "GET":
        for name in ServiceForm.SETTINGS:
            getattr(form, name).data = operations.catalogue.default_setting(name)
    if form.validate_on_submit():
        try:
            if shown is None:
                shown = operations.create_service(actor=_me(), **_service_values(form))
            else:
                operations.update_service(actor=_me(), service=shown, active=form.active.data,
                                          **_service_values(form))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Service saved."), "success")
            return redirect(url_for("bookings.provider_service", service_id=shown.id))
    return render_template("bookings/service_form.html", form=form, service=shown)


@bookings_bp.route("/provider/services/<int:service_id>")
@roles_required(Role.PROVIDER)
def provider_service(service_id: int):
    shown = queries.own_service_or_404(service_id, current_user)
    return render_template("bookings/provider_service.html", service=shown,
                           slots=queries.slots_of(shown),
                           past=queries.slots_of(shown, upcoming=False, limit=30),
                           suspensions=queries.service_suspensions(shown), form=ActionForm(),
                           categories=CATEGORY_LABELS)


@bookings_bp.route("/provider/suspensions/<int:suspension_id>/lift", methods=["POST"])
@roles_required(Role.PROVIDER)
def lift_suspension(suspension_id: int):
    suspension = queries.own_suspension_or_404(suspension_id, current_user)
    if ActionForm().validate_on_submit():
        operations.lift_suspension(actor=_me(), suspension=suspension)
        db.session.commit()
        flash(_("%(name)s may book again.", name=suspension.worker.display_name), "success")
    return redirect(url_for("bookings.provider_service", service_id=suspension.service_id))


@bookings_bp.route("/provider/slots/<int:slot_id>/attendance.csv")
@roles_required(Role.PROVIDER)
def attendance_csv(slot_id: int):
    slot = queries.own_slot_or_404(slot_id, current_user)
    return Response(reports.attendance_csv(slot, queries.attendance_list(slot)),
                    mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=slot-{slot.id}.csv"})


@bookings_bp.route("/provider/services/<int:service_id>/slots/new", methods=["GET", "POST"])
@roles_required(Role.PROVIDER)
def new_slot(service_id: int):
    shown = queries.own_service_or_404(service_id, current_user)
    form = SlotForm()
    if form.validate_on_submit():
        try:
            operations.add_slot(
                actor=_me(), service=shown, capacity=form.capacity.data,
                starts_at=datetime.combine(form.day.data, form.start_time.data, LOCAL_TZ),
                ends_at=datetime.combine(form.day.data, form.end_time.data, LOCAL_TZ))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("Slot added."), "success")
            return redirect(url_for("bookings.provider_service", service_id=service_id))
    return render_template("bookings/slot_form.html", form=form, service=shown)


@bookings_bp.route("/provider/services/<int:service_id>/pattern", methods=["GET", "POST"])
@roles_required(Role.PROVIDER)
def new_pattern(service_id: int):
    shown = queries.own_service_or_404(service_id, current_user)
    form = PatternForm()
    if form.validate_on_submit():
        try:
            _pattern, slots = operations.add_weekly_pattern(
                actor=_me(), service=shown, weekdays=form.weekdays.data,
                start_time=form.start_time.data, end_time=form.end_time.data,
                capacity=form.capacity.data, first_date=form.first_date.data,
                last_date=form.last_date.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("%(n)s slots added.", n=len(slots)), "success")
            return redirect(url_for("bookings.provider_service", service_id=service_id))
    return render_template("bookings/pattern_form.html", form=form, service=shown)


@bookings_bp.route("/provider/slots/<int:slot_id>")
@roles_required(Role.PROVIDER)
def attendance(slot_id: int):
    slot = queries.own_slot_or_404(slot_id, current_user)
    return render_template("bookings/attendance.html", slot=slot, form=CheckInCodeForm(),
                           action_form=ActionForm(), bookings=queries.attendance_list(slot),
                           statuses=STATUS_LABELS)


@bookings_bp.route("/provider/slots/<int:slot_id>/check-in", methods=["POST"])
@roles_required(Role.PROVIDER)
def check_in_code(slot_id: int):
    slot = queries.own_slot_or_404(slot_id, current_user)
    form = CheckInCodeForm()
    if form.validate_on_submit():
        try:
            booking = operations.check_in_by_code(actor=_me(), slot=slot, code=form.code.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            flash(_("%(name)s is checked in.", name=booking.worker.display_name), "success")
            return redirect(url_for("bookings.attendance", slot_id=slot_id))
    return render_template("bookings/attendance.html", slot=slot, form=form,
                           action_form=ActionForm(), bookings=queries.attendance_list(slot),
                           statuses=STATUS_LABELS), 422


@bookings_bp.route("/provider/bookings/<int:booking_id>/check-in", methods=["POST"])
@roles_required(Role.PROVIDER)
def check_in_booking(booking_id: int):
    booking = queries.handled_booking_or_404(booking_id, current_user)
    if ActionForm().validate_on_submit():
        _check_in(booking)
    return redirect(url_for("bookings.attendance", slot_id=booking.slot_id))


def _check_in(booking) -> bool:
    try:
        operations.check_in(actor=_me(), booking=booking)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return False
    flash(_("%(name)s is checked in.", name=booking.worker.display_name), "success")
    return True


@bookings_bp.route("/provider/check-in", methods=["GET", "POST"])
@roles_required(Role.PROVIDER)
def scan():
    """The page a phone camera opens from a worker's QR code: confirm, then check in (POST)."""
    token = request.values.get("t", "")
    booking = operations.booking_from_token(token)
    booking = queries.handled_booking_or_404(booking.id, current_user)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit() and _check_in(booking):
        return redirect(url_for("bookings.attendance", slot_id=booking.slot_id))
    return render_template("bookings/scan.html", booking=booking, token=token, form=form,
                           statuses=STATUS_LABELS)


@bookings_bp.route("/provider/slots/<int:slot_id>/draw", methods=["POST"])
@roles_required(Role.PROVIDER)
def draw(slot_id: int):
    slot = queries.own_slot_or_404(slot_id, current_user)
    if ActionForm().validate_on_submit():
        try:
            result = operations.draw(slot=slot, actor_id=current_user.id)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(_("Drawn: %(booked)s booked, %(rest)s not drawn.", booked=len(result["booked"]),
                    rest=len(result["not_drawn"])), "success")
    return redirect(url_for("bookings.attendance", slot_id=slot_id))
