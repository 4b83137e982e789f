"""Dormitory endpoints of the JSON API (design/interfaces.md)."""
from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields, validate

from services.api import api_bp
from services.api.docs import documented
from services.api.io import load_body, load_query, page_body
from services.api.schemas import PageQuerySchema, id_field
from services.core.access import Role, roles_required
from services.core.errors import NotFound
from services.core.i18n import gettext as _
from services.core.page_cache import per_user
from services.dorms import queries
from services.dorms.access import managed_bed_or_404, own_offer_or_404, visible_application_or_404
from services.dorms.explain import reason_text
from services.dorms.models import DormApplication
from services.dorms.operations import applications as ops
from services.dorms.operations import offers
from services.dorms.operations.inventory import park_by_id
from services.extensions import db


class ApplicationInSchema(Schema):
    park_id = id_field()
    gender = fields.String(required=True, validate=validate.OneOf(["M", "F"]))
    move_in_date = fields.Date(required=True)
    shift = fields.String(required=True, validate=validate.OneOf(["day", "night"]))
    smoker = fields.Boolean(required=True)
    needs_accessible = fields.Boolean(required=True)
    max_rent_fen = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000_000))
    preferred_buildings = fields.List(fields.String(validate=validate.Length(max=20)),
                                      load_default=list, validate=validate.Length(max=3))
    group = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    couple_with = fields.String(load_default=None, allow_none=True,
                                metadata={"description": "the spouse's username"},
                                validate=validate.Length(max=40))


class ApplicationCreatedSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    queue_position = fields.Integer(allow_none=True)
    points = fields.Float(required=True)


class OfferSchema(Schema):
    id = fields.Integer(required=True)
    bed = fields.String(required=True)
    status = fields.String(required=True)
    expires_at = fields.DateTime(allow_none=True)
    rent_fen = fields.Integer()


class ApplicationOutSchema(ApplicationCreatedSchema):
    points_breakdown = fields.List(fields.Dict())
    offer = fields.Nested(OfferSchema, allow_none=True)
    reason = fields.String(allow_none=True)


class StatusSchema(Schema):
    status = fields.String(required=True)


class AssignSchema(Schema):
    application_id = id_field()
    reason = fields.String(load_default="hand assignment via API", validate=validate.Length(min=2, max=300))


class RoomsQuerySchema(PageQuerySchema):
    vacant = fields.Integer(load_default=0, validate=validate.OneOf([0, 1]))
    building = fields.String(load_default="", validate=validate.Length(max=20))


def _application_body(app: queries.ApplicationRead) -> dict:
    offer = None
    if app.stay_id is not None:
        offer = {"id": app.stay_id, "bed": app.bed_label, "status": app.stay_status.value,
                 "rent_fen": app.rent_fen,
                 "expires_at": app.offer_expires_at.isoformat() if app.offer_expires_at else None}
    return {"id": app.id, "status": app.status.value, "queue_position": app.queue_position,
            "points": app.points, "points_breakdown": list(app.points_breakdown), "offer": offer,
            "reason": reason_text(app, app.room_label)}


@api_bp.route("/dorm-applications", methods=["POST"])
@roles_required(Role.WORKER)
@documented(summary="Apply for a dormitory bed in a park", tag="dorms", body=ApplicationInSchema,
            response=ApplicationCreatedSchema, status=201, errors=(404, 409))
def create_application():
    data = load_body(ApplicationInSchema)
    app = ops.submit_application(
        worker=current_user._get_current_object(), park_id=data["park_id"], gender=data["gender"],
        move_in_date=data["move_in_date"], shift=data["shift"], smoker=data["smoker"],
        needs_accessible=data["needs_accessible"], max_rent_fen=data["max_rent_fen"],
        preferred_buildings=data["preferred_buildings"], group_code=data["group"],
        couple_with_username=data["couple_with"])
    db.session.commit()
    return {"id": app.id, "status": app.status.value, "queue_position": ops.queue_position(app),
            "points": app.points}, 201


@api_bp.route("/dorm-applications/<int:application_id>", methods=["GET"])
@per_user(clock_free=True)  # stored points, positions and moments: nothing the clock changes
@roles_required(Role.WORKER, Role.PARK_MANAGER)
@documented(summary="An application with its queue position, points and offer", tag="dorms",
            response=ApplicationOutSchema)
def get_application(application_id: int):
    return _application_body(visible_application_or_404(queries.application_read(application_id)))


@api_bp.route("/dorm-offers/<int:offer_id>/accept", methods=["POST"])
@roles_required(Role.WORKER)
@documented(summary="Accept a bed offer", tag="dorms", response=StatusSchema, errors=(409,))
def accept_offer(offer_id: int):
    stay = offers.accept_offer(worker=current_user._get_current_object(), stay=own_offer_or_404(offer_id))
    db.session.commit()
    return {"status": stay.status.value}


@api_bp.route("/dorm-offers/<int:offer_id>/decline", methods=["POST"])
@roles_required(Role.WORKER)
@documented(summary="Decline a bed offer", tag="dorms", response=StatusSchema, errors=(409,))
def decline_offer(offer_id: int):
    stay = offers.decline_offer(worker=current_user._get_current_object(), stay=own_offer_or_404(offer_id))
    db.session.commit()
    return {"status": stay.status.value}


@api_bp.route("/parks/<int:park_id>/rooms", methods=["GET"])
@roles_required(Role.PARK_MANAGER)
@documented(summary="Rooms of the manager's park with their beds (?vacant=1 for free beds only)",
            tag="dorms", query=RoomsQuerySchema, response={"type": "object"})
def park_rooms(park_id: int):
    if park_id != current_user.org_id:
        raise NotFound(_("Not found."))
    park_by_id(park_id)
    args = load_query(RoomsQuerySchema)
    page = queries.rooms_page(park_id=park_id, building=args["building"],
                              vacant=bool(args["vacant"]), page=args["page"],
                              per_page=args["per_page"])
    items = [{"id": r.id, "label": r.label, "building": r.building, "number": r.number,
              "gender": r.gender, "kind": r.kind, "capacity": r.capacity,
              "compliant_capacity": r.compliant_capacity, "smoking": r.smoking,
              "rent_fen": r.rent_fen, "status": r.status, "reserved_for": r.reserved_for_code,
              "beds": [{"id": b.id, "label": b.label, "status": b.stay_status or "vacant"}
                       for b in r.beds]} for r in page.items]
    return page_body(page, items)


@api_bp.route("/beds/<int:bed_id>/assign", methods=["POST"])
@roles_required(Role.PARK_MANAGER)
@documented(summary="Offer a bed to an application by hand (same hard rules)", tag="dorms",
            body=AssignSchema, response=StatusSchema, errors=(409,))
def assign_bed(bed_id: int):
    bed = managed_bed_or_404(bed_id)
    data = load_body(AssignSchema)
    application = db.session.get(DormApplication, data["application_id"])
    if application is None or application.park_id != current_user.org_id:
        raise NotFound("No such application in your park.")
    stay = offers.assign_bed(actor_id=current_user.id, bed=bed, application=application,
                             reason=data["reason"])
    db.session.commit()
    return {"status": stay.status.value, "offer_id": stay.id}
