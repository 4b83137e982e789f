"""The worker's side of aid requests in the JSON API: file, follow, confirm, reopen, withdraw.

A worker sees only their own requests (anyone else's answers 404). The status, lead agency, owner
and worker of a request are never taken from the body: the routing rules and the operations set
them. `GET /aid-requests/{id}` tells in plain words who has the request, what comes next and by
when (services/cases/feed.py), and which steps the worker may take now (`actions`).

Decisions (the design is silent on these):

- The pre-screen is offered both as `GET /prescreen?category=…&consent=union&consent=hrss` and
  as `POST /aid-requests/prescreen` with the body of a request; neither changes anything.
- A worker whose request was not accepted may ask the coordination office for a review through
  `POST /aid-requests/{id}/review`.
"""
from __future__ import annotations

from flask import request
from services.core.i18n import gettext as _
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from services.api import api_bp
from services.api.cases import iso, me, one_of, text
from services.api.docs import documented
from services.api.io import _flatten, load_body, load_query, page_body
from services.api.schemas import PageQuerySchema, page_of
from services.cases import queries
from services.cases.access import own_case_or_404
from services.cases.feed import feed, standing
from services.cases.labels import agency_label
from services.cases.models import Case, ContactPreference
from services.cases.operations import handoffs, intake, lifecycle
from services.cases.routing import AGENCIES, CATEGORIES, Prescreen, prescreen
from services.core.access import AGENCY_ROLES, Role, roles_required
from services.core.audit import utcnow
from services.core.errors import ValidationFailed
from services.core.pagination import Page
from services.extensions import db

def _incident_date() -> fields.Date:
    return fields.Date(load_default=None, allow_none=True, metadata={
        "description": f"between {intake.EARLIEST_INCIDENT.isoformat()} and today"})


def _consent(**kwargs) -> fields.List:
    return fields.List(one_of(AGENCIES), validate=validate.Length(max=len(AGENCIES)),
                       metadata={"description": "agencies the worker lets see the request "
                                                "(union, hrss, civil)"}, **kwargs)


class AidRequestInSchema(Schema):
    category = one_of(CATEGORIES)
    description = text(intake.DESCRIPTION_MAX,
                       metadata={"description": f"5–{intake.DESCRIPTION_MAX} characters"})
    amount_fen = fields.Integer(load_default=None, allow_none=True, strict=True,
                                validate=validate.Range(min=0, max=2_000_000_000),
                                metadata={"description": "money involved, in fen"})
    employer_name = text(200, required=False,
                         metadata={"description": "employer or platform company"})
    incident_start = _incident_date()
    incident_end = _incident_date()
    contact_preference = fields.String(load_default=ContactPreference.PHONE.value,
                                       validate=validate.OneOf([c.value for c in ContactPreference]))
    consent_agencies = _consent(required=True)


class AidCreatedSchema(Schema):
    id = fields.Integer(required=True)
    case_no = fields.String(required=True)
    status = fields.String(required=True)
    lead_agency = fields.String(required=True)


class AidItemSchema(AidCreatedSchema):
    category = fields.String(required=True)
    created_at = fields.String(required=True)


class FeedLineSchema(Schema):
    at = fields.String(required=True, metadata={"description": "ISO 8601 with offset"})
    text = fields.String(required=True)


class HelperSchema(Schema):
    agency = fields.String(required=True)
    state = fields.String(required=True)


class AidActionsSchema(Schema):
    confirm = fields.Boolean(required=True)
    reopen = fields.Boolean(required=True)
    withdraw = fields.Boolean(required=True)
    review = fields.Boolean(required=True)


class AidRequestSchema(AidItemSchema):
    who = fields.String(required=True, metadata={"description": "who has the request now"})
    next_step = fields.String(required=True)
    due_at = fields.String(allow_none=True, required=True,
                           metadata={"description": "by when the next step is due"})
    co_handling = fields.List(fields.Nested(HelperSchema), required=True)
    actions = fields.Nested(AidActionsSchema, required=True,
                            metadata={"description": "what the worker may do now"})
    feed = fields.List(fields.Nested(FeedLineSchema), required=True,
                       metadata={"description": "newest first, in plain words"})


class ConfirmSchema(Schema):
    satisfaction = fields.Integer(required=True, strict=True,
                                  validate=validate.Range(min=1, max=5))
    comment = text(1000, required=False)


class AidReasonSchema(Schema):
    reason = text(1000, min_length=1)


class WithdrawSchema(Schema):
    reason = text(1000, required=False)


class PrescreenQuerySchema(Schema):
    category = one_of(CATEGORIES)
    consent = _consent(load_default=list)


class PrescreenBodySchema(Schema):
    """The draft request as it would be filed; fields other than these two are ignored."""

    class Meta:
        unknown = EXCLUDE

    category = one_of(CATEGORIES)
    consent_agencies = _consent(load_default=list)


class PrescreenReasonSchema(Schema):
    agency = fields.String(required=True)
    agency_name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(
        ["lead", "co_handling", "not_consented"]))
    text = fields.String(required=True)
    rule = fields.String(required=True)
    basis = fields.String(required=True, metadata={"description": "the policy basis cited"})


class PrescreenSchema(Schema):
    category = fields.String(required=True)
    lead_agency = fields.String(required=True)
    co_agencies = fields.List(fields.String(), required=True,
                              metadata={"description": "co-handling agencies the consent allows"})
    resolve_days = fields.Integer(required=True, metadata={"description": "working days"})
    ack_days = fields.Integer(required=True)
    can_file = fields.Boolean(required=True,
                              metadata={"description": "false until the lead is consented to"})
    reasons = fields.List(fields.Nested(PrescreenReasonSchema), required=True)


# --- answers -------------------------------------------------------------------------------

def _brief(case: Case) -> dict:
    return {"id": case.id, "case_no": case.case_no, "status": case.status.value,
            "lead_agency": case.lead_agency}


def _aid_body(case: Case) -> dict:
    """The worker's view of their request: where it stands and its feed."""
    queries.load_case(case)
    now = utcnow()
    where = standing(case, now=now)
    return _brief(case) | {
        "category": case.category, "created_at": iso(case.created_at), "who": where.who,
        "next_step": where.next_step, "due_at": iso(where.by),
        "co_handling": [{"agency": agency, "state": state} for agency, state in where.helpers],
        "actions": {"confirm": where.can_confirm, "reopen": where.can_reopen,
                    "withdraw": where.can_withdraw, "review": where.can_ask_review},
        "feed": [{"at": iso(line["at"]), "text": line["text"]} for line in feed(case)],
    }


def _reason_text(role: str, agency: str) -> str:
    name = agency_label(agency)
    if role == "lead":
        return _("%(agency)s decides requests of this kind and leads the case.", agency=name)
    if role == "co_handling":
        return _("%(agency)s helps with it, as you agreed.", agency=name)
    return _("%(agency)s would help with it, but you have not agreed to share your request "
             "with it.", agency=name)


def _prescreen_body(screen: Prescreen) -> dict:
    reasons = []
    for reason in screen.reasons:
        words = _reason_text(reason.role, reason.agency)
        if reason.role == "lead" and not screen.lead_consented:
            words = _("%(agency)s decides requests of this kind: tick it in the consent, or the "
                      "request cannot be filed.", agency=agency_label(reason.agency))
        reasons.append({"agency": reason.agency, "agency_name": agency_label(reason.agency),
                        "role": reason.role, "text": words, "rule": reason.rule,
                        "basis": reason.basis})
    return {"category": screen.category, "lead_agency": screen.lead_agency,
            "co_agencies": list(screen.co_agencies), "resolve_days": screen.resolve_days,
            "ack_days": screen.ack_days, "can_file": screen.lead_consented, "reasons": reasons}


# --- filing and following ------------------------------------------------------------------

@api_bp.route("/aid-requests", methods=["POST"])
@roles_required(Role.WORKER)
@documented(summary="File an aid request; it is routed to its lead agency at once", tag="aid",
            body=AidRequestInSchema, response=AidCreatedSchema, status=201)
def file_aid_request():
    data = load_body(AidRequestInSchema)
    consent = data.pop("consent_agencies")
    worker = me()
    try:
        case = intake.submit_request(actor=worker, worker=worker, consent=consent, **data)
    except ValidationFailed as error:  # name the field as the API calls it
        if "consent" in error.fields:
            error.fields["consent_agencies"] = error.fields.pop("consent")
        raise
    db.session.commit()
    return _brief(case), 201


@api_bp.route("/aid-requests", methods=["GET"])
@roles_required(Role.WORKER)
@documented(summary="The caller's own aid requests, newest first", tag="aid",
            query=PageQuerySchema, response=page_of(AidItemSchema))
def list_aid_requests():
    args = load_query(PageQuerySchema)
    mine = queries.worker_cases(me().id)  # a worker has a handful of requests, not thousands
    start = (args["page"] - 1) * args["per_page"]
    page = Page(items=mine[start:start + args["per_page"]], page=args["page"],
                per_page=args["per_page"], total=len(mine))
    return page_body(page, [_brief(c) | {"category": c.category, "created_at": iso(c.created_at)}
                            for c in page.items])


@api_bp.route("/aid-requests/<int:case_id>", methods=["GET"])
@roles_required(Role.WORKER)
@documented(summary="One of the caller's requests: who has it, what comes next, by when, and "
                    "its status feed", tag="aid", response=AidRequestSchema)
def get_aid_request(case_id: int):
    return _aid_body(own_case_or_404(case_id))


def _worker_step(case_id: int, operation, schema: type[Schema]) -> dict:
    """Load the caller's own request, validate the body, run the step, commit."""
    case = own_case_or_404(case_id)
    data = load_body(schema)
    operation(worker=me(), case=case, **data)
    db.session.commit()
    return _aid_body(case)


def _step(summary: str, body: type[Schema]):
    return documented(summary=summary, tag="aid", body=body, response=AidRequestSchema,
                      errors=(409,))


@api_bp.route("/aid-requests/<int:case_id>/confirm", methods=["POST"])
@roles_required(Role.WORKER)
@_step("Confirm a resolved request and rate the help (1–5); the case closes", ConfirmSchema)
def confirm_aid_request(case_id: int):
    return _worker_step(case_id, lifecycle.confirm, ConfirmSchema)


@api_bp.route("/aid-requests/<int:case_id>/reopen", methods=["POST"])
@roles_required(Role.WORKER)
@_step("Reopen a resolved request within 15 days of its resolution", AidReasonSchema)
def reopen_aid_request(case_id: int):
    return _worker_step(case_id, lifecycle.reopen, AidReasonSchema)


@api_bp.route("/aid-requests/<int:case_id>/withdraw", methods=["POST"])
@roles_required(Role.WORKER)
@_step("Withdraw a request that is still open (send {} when there is no reason to give)",
       WithdrawSchema)
def withdraw_aid_request(case_id: int):
    return _worker_step(case_id, lifecycle.withdraw, WithdrawSchema)


@api_bp.route("/aid-requests/<int:case_id>/review", methods=["POST"])
@roles_required(Role.WORKER)
@_step("Ask the coordination office to review a request that was not accepted",
       AidReasonSchema)
def review_aid_request(case_id: int):
    return _worker_step(case_id, handoffs.ask_review, AidReasonSchema)


# --- the pre-screen ------------------------------------------------------------------------

PRESCREEN_ROLES = (Role.WORKER, *AGENCY_ROLES)  # intake staff file by phone on a worker's behalf


@api_bp.route("/prescreen", methods=["GET"])
@roles_required(*PRESCREEN_ROLES)
@documented(summary="Which agencies would handle a request, and why (?category=…&consent=… "
                    "repeated); changes nothing", tag="aid", query=PrescreenQuerySchema,
            response=PrescreenSchema)
def prescreen_query():
    args = {"category": request.args.get("category"), "consent": request.args.getlist("consent")}
    try:
        data = PrescreenQuerySchema().load({k: v for k, v in args.items() if v is not None})
    except ValidationError as error:
        raise ValidationFailed(_("Some parameters are not valid."),
                               fields=_flatten(error.messages)) from None
    return _prescreen_body(prescreen(data["category"], data["consent"]))


@api_bp.route("/aid-requests/prescreen", methods=["POST"])
@roles_required(*PRESCREEN_ROLES)
@documented(summary="Which agencies would handle this request, and why; changes nothing",
            tag="aid", body=PrescreenBodySchema, response=PrescreenSchema)
def prescreen_draft():
    data = load_body(PrescreenBodySchema)
    return _prescreen_body(prescreen(data["category"], data["consent_agencies"]))

