"""Case endpoints of the JSON API for the agencies and the coordination office (design/cases.md).

Handlers are thin: load through `services.cases.access` (404 for what the caller may not see),
validate the body, call the operation, commit once. The operations hold every rule, including
who may act (a co-handling agency may see a case but not resolve it: 403).

Decisions (the design is silent on these):

- `GET /cases/{id}` answers only the fields `visible_fields()` allows, plus the case's handoffs
  and notes. The lead agency and the coordinator see every handoff; a co-handling agency sees
  only the handoffs its own agency sends or receives. Reading it writes the access log.
- Every action on a case answers the case's new state `{"id", "case_no", "status",
  "lead_agency", "owner"}`, so a client need not read the case again (and an agency that has just
  handed the case away is not given what it may no longer see).
- `GET /handoffs` lists the transfers and co-handling tasks waiting for, or worked by, the
  caller's agency: how a receiving agency finds what to answer.
- Reason codes of a decline or a return are the codes of `labels.REASON_CODES`; the legal or
  policy basis is free text and required.
"""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from services.core.i18n import gettext as _
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate

from services.api import api_bp
from services.api.docs import documented
from services.api.io import load_body, load_query, page_body
from services.api.schemas import PageQuerySchema, page_of
from services.cases import queries
from services.cases.access import case_or_404, handoff_or_404
from services.cases.labels import REASON_CODES
from services.cases.models import (DETAIL_FIELDS, INTERNAL_FIELDS, SUMMARY_FIELDS, Case,
                                   CaseStatus, DeadlineState, Handoff, HandoffKind, Outcome,
                                   agency_of, visible_fields)
from services.cases.operations import handoffs, lifecycle
from services.cases.operations.intake import as_utc
from services.cases.routing import AGENCIES, CATEGORIES
from services.core.access import Role, roles_required
from services.core.page_cache import per_user
from services.extensions import db

AGENCY_STAFF = (Role.CASEWORKER, Role.SUPERVISOR)
CASE_READERS = (Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR)
NOTE_MAX = 4000
REASON_MAX = 1000


# --- shared field helpers (the worker's endpoints in services/api/aid.py use them too) ---------

def no_nul(value: str) -> None:
    """PostgreSQL text cannot hold NUL; refuse it here rather than fail at the database."""
    if "\x00" in value:
        raise ValidationError(_("The text contains a character that is not allowed."))


def text(max_length: int, *, required: bool = True, min_length: int = 0, **kwargs) -> fields.String:
    """A text field with a length limit; optional ones default to an empty string."""
    checks = [validate.Length(min=min_length, max=max_length), no_nul]
    if required:
        return fields.String(required=True, validate=checks, **kwargs)
    return fields.String(load_default="", validate=checks, **kwargs)


def one_of(choices, **kwargs) -> fields.String:
    """A required code among `choices` (codes or enum members)."""
    return fields.String(required=True, validate=validate.OneOf(
        [getattr(c, "value", c) for c in choices]), **kwargs)


def iso(value: datetime | date | None) -> str | None:
    """An instant as ISO 8601 with its offset (stored instants are UTC), a date as YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    return value.isoformat()


def plain(value):
    """A model value as JSON: enums by their value, instants and dates as ISO 8601."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return iso(value)
    return value


def me():
    return current_user._get_current_object()


# --- schemas -------------------------------------------------------------------------------

class CaseListQuerySchema(PageQuerySchema):
    view = fields.String(load_default="open", validate=validate.OneOf(queries.VIEWS),
                         metadata={"description": "caseworkers and supervisors: mine, queue "
                                                  "(unassigned), open, done; ignored for the "
                                                  "coordinator"})
    status = fields.String(load_default="", validate=validate.OneOf(
        [""] + [s.value for s in CaseStatus]))
    category = fields.String(load_default="", validate=validate.OneOf(("", *CATEGORIES)))
    deadline = fields.String(load_default="", validate=validate.OneOf(
        [""] + [d.value for d in DeadlineState]))
    q = fields.String(load_default="", validate=validate.Length(max=20),
                      metadata={"description": "part of the case number"})


class CaseItemSchema(Schema):
    id = fields.Integer(required=True)
    case_no = fields.String(required=True)
    category = fields.String(required=True)
    status = fields.String(required=True)
    lead_agency = fields.String(required=True)
    owner = fields.String(allow_none=True, required=True,
                          metadata={"description": "the owning caseworker's name; null: queued"})
    deadline = fields.String(required=True, metadata={"description": "resolve-by, ISO 8601 "
                                                                     "with offset"})
    deadline_state = fields.String(required=True)


class HandoffSchema(Schema):
    id = fields.Integer(required=True)
    case_id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in HandoffKind]))
    status = fields.String(required=True)
    from_agency = fields.String()
    to_agency = fields.String()
    reason = fields.String()
    reason_code = fields.String(allow_none=True)
    basis = fields.String(allow_none=True)
    outcome_note = fields.String()
    due_at = fields.String(allow_none=True)
    created_at = fields.String()
    answered_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)


class HandoffItemSchema(HandoffSchema):
    case_no = fields.String(required=True)


class CaseNoteSchema(Schema):
    id = fields.Integer(required=True)
    agency = fields.String(allow_none=True)
    author = fields.String(allow_none=True)
    body = fields.String(required=True)
    worker_visible = fields.Boolean(required=True)
    created_at = fields.String(required=True)


def _case_field_schema() -> type[Schema]:
    """Every case field a caller may be shown; which ones come depends on who asks."""
    described = {name: fields.Raw(allow_none=True)
                 for name in sorted((SUMMARY_FIELDS | DETAIL_FIELDS | INTERNAL_FIELDS)
                                    - {"internal_notes"})}
    return Schema.from_dict(described | {
        "id": fields.Integer(required=True),
        "owner": fields.String(allow_none=True),
        "handoffs": fields.List(fields.Nested(HandoffSchema), required=True),
        "notes": fields.List(fields.Nested(CaseNoteSchema), required=True,
                             metadata={"description": "internal notes the caller may read and "
                                                      "the updates the worker sees"}),
    }, name="CaseDetail")


CaseDetailSchema = _case_field_schema()


class CaseStateSchema(Schema):
    id = fields.Integer(required=True)
    case_no = fields.String(required=True)
    status = fields.String(required=True)
    lead_agency = fields.String(required=True)
    owner = fields.String(allow_none=True)


class ResolveSchema(Schema):
    outcome = one_of(Outcome)
    note = text(NOTE_MAX, min_length=1)
    recovered_fen = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   validate=validate.Range(min=0, max=2_000_000_000))


class ReasonSchema(Schema):
    reason = text(REASON_MAX, min_length=1)


class ReturnSchema(Schema):
    to_agency = one_of(AGENCIES)
    reason_code = one_of(REASON_CODES)
    basis = text(REASON_MAX, min_length=1, metadata={"description": "the legal or policy basis"})


class NoteInSchema(Schema):
    body = text(NOTE_MAX, min_length=1)
    worker_visible = fields.Boolean(load_default=False,
                                    metadata={"description": "true: an update in the worker's "
                                                             "feed; false: an internal note"})


class NoteCreatedSchema(Schema):
    id = fields.Integer(required=True)
    worker_visible = fields.Boolean(required=True)


class HandoffInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(
        [HandoffKind.TRANSFER.value, HandoffKind.REFERRAL.value]))
    to_agency = one_of(AGENCIES)
    reason = text(REASON_MAX, min_length=1)


class DeclineSchema(Schema):
    reason_code = one_of(REASON_CODES)
    basis = text(REASON_MAX, min_length=1, metadata={"description": "the legal or policy basis"})


class FinishSchema(Schema):
    succeeded = fields.Boolean(required=True)
    note = text(NOTE_MAX, min_length=1)


class ArbitrateSchema(Schema):
    lead_agency = one_of(AGENCIES)
    decision = text(NOTE_MAX, min_length=1)


# --- answers -------------------------------------------------------------------------------

def _owner_name(case: Case) -> str | None:
    return case.owner.display_name if case.owner is not None else None


def case_state(case: Case) -> dict:
    return {"id": case.id, "case_no": case.case_no, "status": case.status.value,
            "lead_agency": case.lead_agency, "owner": _owner_name(case)}


def handoff_body(handoff: Handoff | queries.HandoffRow) -> dict:
    return {"id": handoff.id, "case_id": handoff.case_id, "kind": handoff.kind.value,
            "status": handoff.status.value, "from_agency": handoff.from_agency,
            "to_agency": handoff.to_agency, "reason": handoff.reason,
            "reason_code": handoff.reason_code, "basis": handoff.basis,
            "outcome_note": handoff.outcome_note, "due_at": iso(handoff.due_at),
            "created_at": iso(handoff.created_at), "answered_at": iso(handoff.answered_at),
            "finished_at": iso(handoff.finished_at)}


def _notes(user, case: Case) -> list[dict]:
    internal, updates = queries.notes_for(user, case)
    notes = sorted(internal + updates, key=lambda n: n.id)
    names = queries.author_names(notes)
    return [{"id": n.id, "agency": n.agency, "author": names.get(n.author_id), "body": n.body,
             "worker_visible": n.worker_visible, "created_at": iso(n.created_at)} for n in notes]


def case_detail(user, case: Case) -> dict:
    """The case as far as `user` may read it, with its handoffs and the notes they may read."""
    visible = visible_fields(user, case)
    body = {"id": case.id}
    body.update({name: plain(getattr(case, name)) for name in sorted(visible)
                 if name != "internal_notes"})
    if "owner_id" in visible:
        body["owner"] = _owner_name(case)
    sees_all = "internal_notes" in visible  # the lead agency and the coordinator
    agency = agency_of(user)
    body["handoffs"] = [handoff_body(h) for h in case.handoffs
                        if sees_all or agency in (h.from_agency, h.to_agency)]
    body["notes"] = _notes(user, case)
    return body


def _case_item(row: queries.CaseRow) -> dict:
    return {"id": row.id, "case_no": row.case_no, "category": row.category,
            "status": row.status.value, "lead_agency": row.lead_agency,
            "owner": row.owner_name, "deadline": iso(row.resolve_due_at),
            "deadline_state": row.deadline_state.value}


# --- reading -------------------------------------------------------------------------------

@api_bp.route("/cases", methods=["GET"])
@per_user
@roles_required(*CASE_READERS)
@documented(summary="Cases the caller may work on: the agency's (by view and filters), or the "
                    "coordinator's (waiting for arbitration, escalated, decided)", tag="cases",
            query=CaseListQuerySchema, response=page_of(CaseItemSchema))
def list_cases():
    args = load_query(CaseListQuerySchema)
    filters = queries.CaseFilters(status=args["status"], category=args["category"],
                                  deadline=args["deadline"], q=args["q"].strip())
    if current_user.role is Role.COORDINATOR:
        page = queries.coordinator_cases(filters=filters, page=args["page"],
                                         per_page=args["per_page"])
    else:
        page = queries.agency_cases(me(), view=args["view"], filters=filters, page=args["page"],
                                    per_page=args["per_page"])
    return page_body(page, [_case_item(c) for c in page.items])


@api_bp.route("/cases/<int:case_id>", methods=["GET"])
@roles_required(*CASE_READERS)
@documented(summary="A case as far as the caller may read it, with its handoffs and notes "
                    "(written to the access log)", tag="cases", response=CaseDetailSchema)
def get_case(case_id: int):
    user = me()
    case = queries.load_case(case_or_404(case_id, user=user, viewed=True))
    body = case_detail(user, case)
    db.session.commit()  # the access-log row
    return body


@api_bp.route("/handoffs", methods=["GET"])
@roles_required(*AGENCY_STAFF)
@documented(summary="Transfers and co-handling tasks waiting for or worked by the caller's "
                    "agency", tag="cases", query=PageQuerySchema,
            response=page_of(HandoffItemSchema))
def list_handoffs():
    args = load_query(PageQuerySchema)
    page = queries.agency_tasks(agency_of(me()), page=args["page"], per_page=args["per_page"])
    return page_body(page, [handoff_body(h) | {"case_no": h.case_no} for h in page.items])


# --- acting on a case ----------------------------------------------------------------------

def _act(case_id: int, operation, schema: type[Schema] | None = None) -> dict:
    """Load the case (404 unless visible), validate the body, run the operation, commit."""
    case = case_or_404(case_id)
    data = load_body(schema) if schema is not None else {}
    operation(actor=me(), case=case, **data)
    db.session.commit()
    return case_state(case)


def _case_action(summary: str, **doc):
    return documented(summary=summary, tag="cases", response=CaseStateSchema,
                      errors=(409,), **doc)


@api_bp.route("/cases/<int:case_id>/accept", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_case_action("Sign for a case dispatched to the caller's agency (受理)")
def accept_case(case_id: int):
    return _act(case_id, lifecycle.accept_case)


@api_bp.route("/cases/<int:case_id>/claim", methods=["POST"])
@roles_required(Role.CASEWORKER)
@_case_action("Take a case from the agency's queue")
def claim_case(case_id: int):
    return _act(case_id, lifecycle.claim)


@api_bp.route("/cases/<int:case_id>/start", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_case_action("Start working an accepted case")
def start_case(case_id: int):
    return _act(case_id, lifecycle.start_work)


@api_bp.route("/cases/<int:case_id>/hold", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_case_action("Put a case on hold (waiting for the worker or a third party; the clock stops)",
              body=ReasonSchema)
def hold_case(case_id: int):
    return _act(case_id, lifecycle.hold, ReasonSchema)


@api_bp.route("/cases/<int:case_id>/resume", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_case_action("Work a held case again (the held time is added to the deadline)")
def resume_case(case_id: int):
    return _act(case_id, lifecycle.resume)


@api_bp.route("/cases/<int:case_id>/resolve", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_case_action("Resolve a case with its outcome (every co-handling task must be finished)",
              body=ResolveSchema)
def resolve_case(case_id: int):
    return _act(case_id, lifecycle.resolve, ResolveSchema)


@api_bp.route("/cases/<int:case_id>/not-accept", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_case_action("Refuse a case not yet signed for, with the reason the worker will read",
              body=ReasonSchema)
def not_accept_case(case_id: int):
    return _act(case_id, lifecycle.not_accept, ReasonSchema)


@api_bp.route("/cases/<int:case_id>/return", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_case_action("Return a case not yet signed for to the agency that should lead it (退回)",
              body=ReturnSchema)
def return_case(case_id: int):
    return _act(case_id, handoffs.return_case, ReturnSchema)


@api_bp.route("/cases/<int:case_id>/arbitrate", methods=["POST"])
@roles_required(Role.COORDINATOR)
@_case_action("Decide which agency leads a disputed case (binding)", body=ArbitrateSchema)
def arbitrate_case(case_id: int):
    return _act(case_id, handoffs.arbitrate, ArbitrateSchema)


@api_bp.route("/cases/<int:case_id>/notes", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@documented(summary="Add an internal note, or an update the worker sees in their feed",
            tag="cases", body=NoteInSchema, response=NoteCreatedSchema, status=201)
def add_note(case_id: int):
    case = case_or_404(case_id)
    data = load_body(NoteInSchema)
    note = lifecycle.add_note(actor=me(), case=case, **data)
    db.session.commit()
    return {"id": note.id, "worker_visible": note.worker_visible}, 201


@api_bp.route("/cases/<int:case_id>/handoffs", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@documented(summary="Ask another agency to take the case over (transfer) or to co-handle it "
                    "(referral)", tag="cases", body=HandoffInSchema, response=HandoffSchema,
            status=201, errors=(409,))
def request_handoff(case_id: int):
    case = case_or_404(case_id)
    data = load_body(HandoffInSchema)
    handoff = handoffs.request_handoff(actor=me(), case=case, **data)
    db.session.commit()
    return handoff_body(handoff), 201


# --- answering a handoff -------------------------------------------------------------------

def _answer(handoff_id: int, operation, schema: type[Schema] | None = None) -> dict:
    handoff = handoff_or_404(handoff_id)
    data = load_body(schema) if schema is not None else {}
    operation(actor=me(), handoff=handoff, **data)
    db.session.commit()
    return handoff_body(handoff)


def _handoff_action(summary: str, **doc):
    return documented(summary=summary, tag="cases", response=HandoffSchema, errors=(409,), **doc)


@api_bp.route("/handoffs/<int:handoff_id>/accept", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_handoff_action("Accept a handoff addressed to the caller's agency (a transfer moves the lead "
                 "now)")
def accept_handoff(handoff_id: int):
    return _answer(handoff_id, handoffs.accept_handoff)


@api_bp.route("/handoffs/<int:handoff_id>/decline", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_handoff_action("Decline a handoff with a reason code and its basis (a declined transfer is a "
                 "return)", body=DeclineSchema)
def decline_handoff(handoff_id: int):
    return _answer(handoff_id, handoffs.decline_handoff, DeclineSchema)


@api_bp.route("/handoffs/<int:handoff_id>/revoke", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_handoff_action("Withdraw a handoff the caller's agency sent")
def revoke_handoff(handoff_id: int):
    return _answer(handoff_id, handoffs.revoke_handoff)


@api_bp.route("/handoffs/<int:handoff_id>/finish", methods=["POST"])
@roles_required(*AGENCY_STAFF)
@_handoff_action("Record the outcome of the caller's agency's co-handling task",
                 body=FinishSchema)
def finish_handoff(handoff_id: int):
    return _answer(handoff_id, handoffs.finish_referral, FinishSchema)
