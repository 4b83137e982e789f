"""The worker's pages: browse and search services, book in two taps, my bookings with the QR."""
from __future__ import annotations

import io
import uuid
from typing import NamedTuple

import segno
from flask import (Response, flash, get_template_attribute, redirect, render_template, request,
                   url_for)
from flask_login import current_user
from markupsafe import Markup

from services.bookings import operations, queries
from services.bookings.forms import ActionForm, BookForm
from services.bookings.models import CATEGORY_LABELS, BookingStatus
from services.bookings.views import bookings_bp
from services.core import cache
from services.core.access import ALL_ROLES, Role, roles_required
from services.core.audit import utcnow
from services.core.i18n import current_locale, current_timezone
from services.core.i18n import gettext as _
from services.core.errors import DomainError
from services.core.page_cache import per_user
from services.extensions import db


def _book_form() -> BookForm:
    return BookForm(formdata=None, idempotency_key=uuid.uuid4().hex)


class CardParts(NamedTuple):
    summary: Markup  # title, category, provider, place, free seats, next slot
    when: Markup | None  # the next slot's time
    book_url: str | None  # where its "book" button posts


def _card_parts(page: queries.CataloguePage) -> tuple[CardParts, ...]:
    """The public parts of the page's cards, rendered once per page version and language."""
    def render() -> tuple[CardParts, ...]:
        summary = get_template_attribute("bookings/_macros.html", "service_summary")
        when = get_template_attribute("bookings/_macros.html", "when")
        return tuple(CardParts(summary(service, CATEGORY_LABELS),
                               when(service.next_slots[0]) if service.next_slots else None,
                               url_for("bookings.book", slot_id=service.next_slots[0].id)
                               if service.next_slots else None)
                     for service in page.items)

    if page.cache_key is None:
        return render()
    key = (f"{page.cache_key}:cards:{page.computed_at.timestamp()}:{current_locale()}:"
           f"{current_timezone()}:{request.script_root}")
    return cache.cached(key, render, depends_on=queries.CATALOGUE_DEPENDS)


@bookings_bp.route("/services")
@per_user
@roles_required(*ALL_ROLES)
def services():
    args = request.args
    page = queries.catalogue(search=args.get("q", ""), category=args.get("category", ""),
                             free_only=args.get("free") == "1", page=args.get("page", 1))
    mine = (queries.my_live_slot_ids(current_user.id) if current_user.role is Role.WORKER
            else frozenset())
    return render_template("bookings/services.html", page=page, cards=_card_parts(page),
                           categories=CATEGORY_LABELS, mine=mine, form=_book_form(), now=utcnow())


@bookings_bp.route("/services/<int:service_id>")
@roles_required(*ALL_ROLES)
def service(service_id: int):
    shown = queries.visible_service_or_404(service_id, current_user)
    slots = queries.slots_of(shown, still_bookable=True)
    mine = (queries.my_live_bookings(current_user.id, [s.id for s in slots])
            if current_user.role is Role.WORKER else {})
    return render_template("bookings/service.html", service=shown, slots=slots, mine=mine,
                           form=_book_form(), categories=CATEGORY_LABELS, now=utcnow())


@bookings_bp.route("/services/slots/<int:slot_id>/book", methods=["POST"])
@roles_required(Role.WORKER)
def book(slot_id: int):
    slot = queries.bookable_slot_or_404(slot_id)
    form = BookForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please tap Book again."), "error")
        return redirect(url_for("bookings.service", service_id=slot.service_id))
    try:
        outcome = operations.book(worker=current_user._get_current_object(), slot=slot,
                                  idempotency_key=form.idempotency_key.data,
                                  join_waitlist=form.waitlist.data == "1")
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("bookings.service", service_id=slot.service_id))
    if outcome.created:
        flash(_BOOKED_MESSAGES[outcome.booking.status](), "success")
    return redirect(url_for("bookings.booking", booking_id=outcome.booking.id))


_BOOKED_MESSAGES = {
    BookingStatus.BOOKED: lambda: _("You are booked. Show the QR code when you arrive."),
    BookingStatus.WAITLISTED: lambda: _("You are on the waitlist. We will tell you if a place "
                                        "comes free."),
    BookingStatus.REQUESTED: lambda: _("Your request is in the lottery. We will tell you the "
                                       "result after the draw."),
}


@bookings_bp.route("/bookings")
@roles_required(Role.WORKER)
def my_bookings():
    upcoming, past = queries.my_bookings(current_user.id)
    return render_template("bookings/my_bookings.html", upcoming=upcoming, past=past,
                           suspensions=queries.suspensions_of(current_user.id))


@bookings_bp.route("/bookings/<int:booking_id>")
@roles_required(Role.WORKER)
def booking(booking_id: int):
    shown = queries.own_booking_or_404(booking_id, current_user)
    return render_template("bookings/booking.html", booking=shown, form=ActionForm(),
                           position=queries.waitlist_position(shown),
                           shows_qr=shown.status is BookingStatus.BOOKED)


@bookings_bp.route("/bookings/<int:booking_id>/qr.svg")
@roles_required(Role.WORKER)
def booking_qr(booking_id: int):
    shown = queries.own_booking_or_404(booking_id, current_user)
    url = url_for("bookings.scan", t=operations.check_in_token(shown), _external=True)
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False,
                                    title=_("Check-in code"))
    response = Response(buffer.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


@bookings_bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@roles_required(Role.WORKER)
def cancel(booking_id: int):
    shown = queries.own_booking_or_404(booking_id, current_user)
    if ActionForm().validate_on_submit():
        try:
            operations.cancel(actor=current_user._get_current_object(), booking=shown)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(_("Booking cancelled.") + (" " + _("It was after the free cancellation time, so "
                  "it counts like a no-show.") if shown.late_cancel else ""), "success")
    return redirect(url_for("bookings.booking", booking_id=booking_id))
