"""Booking endpoints of the JSON API: the catalogue, slots, bookings (with idempotency keys).

`POST /bookings` with an `idempotency_key` already used by the caller answers the booking that
key made (201 again, with `Idempotent-Replayed: true`), so a retry after a lost answer never
books twice.
"""
from __future__ import annotations

from flask import current_app, url_for
from flask_login import current_user
from marshmallow import Schema, fields, validate

from services.api import api_bp
from services.api.docs import documented
from services.api.io import load_body, load_query, page_body
from services.api.schemas import id_field
from services.bookings import operations, queries
from services.bookings.models import Booking, BookingStatus, Category, Eligibility, Mode
from services.core import cache
from services.core.access import ALL_ROLES, Role, roles_required
from services.core.page_cache import per_user
from services.extensions import db


class SlotBriefSchema(Schema):
    id = fields.Integer(required=True)
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    capacity = fields.Integer(required=True)
    free_seats = fields.Integer(required=True)
    lottery = fields.Boolean(required=True, metadata={"description": "seats drawn at draw_at"})
    draw_at = fields.DateTime(allow_none=True)
    lottery_seed = fields.String(allow_none=True)


class ServiceItemSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String()
    category = fields.String(required=True, validate=validate.OneOf([c.value for c in Category]))
    provider = fields.Dict(required=True, metadata={"description": '{"id", "name"}'})
    location = fields.String(required=True)
    online = fields.Boolean(required=True)
    mode = fields.String(required=True)
    free_seats = fields.Integer(required=True)
    next_slots = fields.List(fields.Nested(SlotBriefSchema), required=True)


class ServicePageSchema(Schema):
    items = fields.List(fields.Nested(ServiceItemSchema), required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class ServiceQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    q = fields.String(load_default="", validate=validate.Length(max=60))
    category = fields.String(load_default="", validate=validate.OneOf(
        [""] + [c.value for c in Category]))
    free = fields.Boolean(load_default=False)


def _setting(low: int, high: int):
    return fields.Integer(load_default=None, validate=validate.Range(min=low, max=high))


class ServiceCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    category = fields.String(required=True, validate=validate.OneOf([c.value for c in Category]))
    location = fields.String(load_default="", validate=validate.Length(max=200))
    online = fields.Boolean(load_default=False)
    map_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    eligibility = fields.String(load_default="all",
                                validate=validate.OneOf([e.value for e in Eligibility]))
    eligible_park = fields.String(load_default=None, allow_none=True,
                                  metadata={"description": "park code, with eligibility=park"})
    mode = fields.String(load_default="first_come", validate=validate.OneOf([m.value for m in Mode]))
    max_active_bookings = _setting(1, 50)
    open_days_before = _setting(0, 365)
    close_minutes_before = _setting(0, 10080)
    cancel_hours_before = _setting(0, 720)
    lottery_hours_before = _setting(1, 720)
    no_show_limit = _setting(1, 50)
    no_show_window_days = _setting(1, 365)
    suspension_days = _setting(0, 365)


class SlotCreateSchema(Schema):
    starts_at = fields.AwareDateTime(required=True, format="iso",
                                     metadata={"description": "ISO 8601 with offset"})
    ends_at = fields.AwareDateTime(required=True, format="iso")
    capacity = fields.Integer(required=True, strict=True,
                              validate=validate.Range(min=1, max=10000))


class BookingCreateSchema(Schema):
    slot_id = id_field(strict=True)
    idempotency_key = fields.String(load_default=None, allow_none=True,
                                    validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{8,64}$"),
                                    metadata={"description": "8–64 of A-Z a-z 0-9 _ . : -; a "
                                                             "repeat returns the same booking"})
    waitlist = fields.Boolean(load_default=False,
                              metadata={"description": "join the waitlist when the slot is full"})


class IdSchema(Schema):
    id = fields.Integer(required=True)


class BookingSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in BookingStatus]))
    slot_id = fields.Integer()
    check_in_code = fields.String(allow_none=True)
    check_in_url = fields.String(allow_none=True, metadata={"description": "what the QR holds"})


def _slot_body(slot: queries.SlotBrief) -> dict:
    return {"id": slot.id, "starts_at": slot.starts_at.isoformat(),
            "ends_at": slot.ends_at.isoformat(), "capacity": slot.capacity,
            "free_seats": slot.free_seats, "lottery": slot.is_lottery,
            "draw_at": slot.draw_at.isoformat() if slot.draw_at else None,
            "lottery_seed": slot.lottery_seed}


def _booking_body(booking: Booking) -> dict:
    seated = booking.status is BookingStatus.BOOKED
    return {"id": booking.id, "status": booking.status.value, "slot_id": booking.slot_id,
            "check_in_code": booking.check_in_code if seated else None,
            "check_in_url": url_for("bookings.scan", t=operations.check_in_token(booking),
                                    _external=True) if seated else None}


@api_bp.route("/services", methods=["GET"])
@per_user
@roles_required(*ALL_ROLES)
@documented(summary="Bookable services with their next slots and free seats", tag="bookings",
            response=ServicePageSchema, query=ServiceQuerySchema)
def list_services():
    args = load_query(ServiceQuerySchema)
    page = queries.catalogue(search=args["q"], category=args["category"],
                             free_only=args["free"], page=args["page"], per_page=args["per_page"])

    def encoded() -> bytes:
        items = [{"id": s.id, "title": s.title, "description": s.description,
                  "category": s.category.value,
                  "provider": {"id": s.provider.id, "name": s.provider.name},
                  "location": s.location, "online": s.online, "mode": s.mode.value,
                  "free_seats": s.free_seats,
                  "next_slots": [_slot_body(slot) for slot in s.next_slots]}
                 for s in page.items]
        return current_app.json.response(page_body(page, items)).get_data()

    # A cached catalogue page is encoded once: same page, same bytes (the page is public).
    body = encoded() if page.cache_key is None else cache.cached(
        f"{page.cache_key}:json:{page.computed_at.timestamp()}", encoded,
        depends_on=queries.CATALOGUE_DEPENDS)
    return current_app.response_class(body, mimetype="application/json")


@api_bp.route("/services", methods=["POST"])
@roles_required(Role.PROVIDER)
@documented(summary="Create a service of the caller's provider organisation", tag="bookings",
            body=ServiceCreateSchema, response=IdSchema, status=201)
def create_service():
    data = load_body(ServiceCreateSchema)
    service = operations.create_service(actor=current_user._get_current_object(), **data)
    db.session.commit()
    return {"id": service.id}, 201


@api_bp.route("/services/<int:service_id>/slots", methods=["POST"])
@roles_required(Role.PROVIDER)
@documented(summary="Offer a slot of one of the caller's services", tag="bookings",
            body=SlotCreateSchema, response=IdSchema, status=201)
def create_slot(service_id: int):
    service = queries.own_service_or_404(service_id, current_user)
    data = load_body(SlotCreateSchema)
    slot = operations.add_slot(actor=current_user._get_current_object(), service=service, **data)
    db.session.commit()
    return {"id": slot.id}, 201


@api_bp.route("/bookings", methods=["POST"])
@roles_required(Role.WORKER)
@documented(summary="Book a slot (or join its waitlist or lottery)", tag="bookings",
            body=BookingCreateSchema, response=BookingSchema, status=201, errors=(404, 409))
def create_booking():
    data = load_body(BookingCreateSchema)
    slot = queries.bookable_slot_or_404(data["slot_id"])
    outcome = operations.book(worker=current_user._get_current_object(), slot=slot,
                              idempotency_key=data["idempotency_key"],
                              join_waitlist=data["waitlist"])
    body = _booking_body(outcome.booking)  # before the commit expires it: no reload after
    db.session.commit()
    headers = {} if outcome.created else {"Idempotent-Replayed": "true"}
    return body, 201, headers


@api_bp.route("/bookings/<int:booking_id>", methods=["GET"])
@roles_required(Role.WORKER)
@documented(summary="One of the caller's bookings, with its check-in code", tag="bookings",
            response=BookingSchema)
def get_booking(booking_id: int):
    return _booking_body(queries.own_booking_or_404(booking_id, current_user))


@api_bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@roles_required(Role.WORKER)
@documented(summary="Cancel one of the caller's bookings", tag="bookings",
            response=BookingSchema, errors=(409,))
def cancel_booking(booking_id: int):
    booking = queries.own_booking_or_404(booking_id, current_user)
    operations.cancel(actor=current_user._get_current_object(), booking=booking)
    db.session.commit()
    return _booking_body(booking)
