"""Read side of the cases domain: queues, lists with filters, a case's notes, the team page.

Lists are one page of rows plus one count, with the owner joined in (no query per row).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case as when, func, or_, select
from flask import has_request_context, request
from sqlalchemy.orm import joinedload, load_only, selectinload

from services.accounts.models import Organisation, User
from services.cases.models import (LIVE_HANDOFF, OPEN_STATUSES, Case, CaseAgencySetting,
                                   CaseNote, CaseStatus, CaseworkerAvailability, DeadlineState,
                                   Escalation, Handoff, HandoffKind, agency_of, can_view,
                                   visible_fields)
from services.cases.routing import CATEGORIES
from services.core.access import Role
from services.core.pagination import Page, paginate, paginate_known
from services.extensions import db

VIEWS = ("mine", "queue", "open", "done")


def _choice(raw: Any, allowed) -> str:
    value = str(raw or "")
    return value if value in allowed else ""  # an unknown value filters nothing


@dataclass
class CaseFilters:
    status: str = ""
    category: str = ""
    deadline: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args) -> CaseFilters:
        return cls(status=_choice(args.get("status"), {s.value for s in CaseStatus}),
                   category=_choice(args.get("category"), CATEGORIES),
                   deadline=_choice(args.get("deadline"), {d.value for d in DeadlineState}),
                   q=str(args.get("q", "")).replace("\x00", "").strip()[:20])

    def params(self) -> dict:
        return {"status": self.status, "category": self.category, "deadline": self.deadline,
                "q": self.q}

    def apply(self, query: Select) -> Select:
        if self.status:
            query = query.where(Case.status == CaseStatus(self.status))
        if self.category:
            query = query.where(Case.category == self.category)
        if self.deadline:
            query = query.where(Case.deadline_state == DeadlineState(self.deadline))
        if self.q:
            query = query.where(Case.case_no.contains(self.q.upper(), autoescape=True))
        return query


LIST_COLUMNS = (Case.id, Case.case_no, Case.category, Case.status, Case.deadline_state,
                Case.arbitration, Case.lead_agency, Case.owner_id, Case.resolve_due_at,
                Case.is_collective, Case.updated_at)


def _listed(query: Select) -> Select:
    """What a list row shows: no description, and the owner's name (no phone to decrypt)."""
    return query.options(load_only(*LIST_COLUMNS),
                         joinedload(Case.owner).load_only(User.id, User.name, User.username)
                         .lazyload(User.org))


def _paginate(query: Select, *, page: Any, per_page: Any, total: int | None) -> Page:
    """One page; `total` when the caller knows it already (the tab counts), else counted."""
    if total is None:
        return paginate(query, page=page, per_page=per_page)
    return paginate_known(query, total=total, page=page, per_page=per_page)


def agency_cases(user: User, *, view: str, filters: CaseFilters, page: Any = 1,
                 per_page: Any = 20) -> Page:
    """A caseworker's or supervisor's list: their own open cases, the agency's unassigned queue,
    every open case the agency leads, or its finished ones; soonest deadline first."""
    agency = agency_of(user)
    query = select(Case).where(Case.lead_agency == agency)
    known = None
    if view in ("mine", "queue", "open") and not any(filters.params().values()):
        known = view_counts(user)[view]  # the tab's own count: no second count over the cases
    if view == "mine":
        query = query.where(Case.owner_id == user.id, Case.status.in_(OPEN_STATUSES))
    elif view == "queue":
        query = query.where(Case.owner_id.is_(None), Case.status.in_(OPEN_STATUSES))
    elif view == "done":
        query = query.where(Case.status.not_in(OPEN_STATUSES))
    else:
        query = query.where(Case.status.in_(OPEN_STATUSES))
    order = (Case.updated_at.desc(),) if view == "done" else (Case.resolve_due_at, Case.id)
    return _paginate(_listed(filters.apply(query)).order_by(*order), page=page,
                     per_page=per_page, total=known)


def view_counts(user: User) -> dict[str, int]:
    """How many cases each tab of the queue page holds (one query, an index-only scan of the
    agency's open cases; remembered for the rest of the request)."""
    memo = request.environ if has_request_context() else {}
    remembered = memo.get("anju.case_counts")
    if remembered is not None and remembered[0] == user.id:
        return remembered[1]
    agency = agency_of(user)
    tasks = (select(func.count(Handoff.id)).where(
        Handoff.to_agency == agency, Handoff.status.in_(LIVE_HANDOFF),
        Handoff.kind != HandoffKind.RETURN).scalar_subquery())
    row = db.session.execute(select(
        func.coalesce(func.sum(when((Case.owner_id == user.id, 1), else_=0)), 0),
        func.coalesce(func.sum(when((Case.owner_id.is_(None), 1), else_=0)), 0),
        func.count(Case.id), tasks,
    ).where(Case.lead_agency == agency, Case.status.in_(OPEN_STATUSES))).one()
    counts = {"mine": int(row[0]), "queue": int(row[1]), "open": int(row[2]),
              "tasks": int(row[3] or 0)}
    memo["anju.case_counts"] = (user.id, counts)
    return counts


def agency_tasks(agency: str, *, page: Any = 1, per_page: Any = 20) -> Page:
    """Handoffs waiting for the agency or being worked by it (transfers and co-handling)."""
    query = (select(Handoff).where(Handoff.to_agency == agency,
                                   Handoff.status.in_(LIVE_HANDOFF),
                                   Handoff.kind != HandoffKind.RETURN)
             .options(joinedload(Handoff.case)).order_by(Handoff.due_at, Handoff.id))
    return paginate(query, page=page, per_page=per_page)


def coordinator_cases(*, filters: CaseFilters, page: Any = 1, per_page: Any = 20) -> Page:
    """Cases the coordination office may open: waiting for arbitration, escalated, decided."""
    query = select(Case).where(or_(Case.arbitration.is_(True),
                                   Case.escalation_level >= int(Escalation.COORDINATOR),
                                   Case.arbitrated_at.is_not(None)))
    query = _listed(filters.apply(query)).order_by(Case.arbitration.desc(), Case.resolve_due_at,
                                                   Case.id)
    return paginate(query, page=page, per_page=per_page)


def worker_cases(worker_id: int, *, limit: int | None = None) -> list[Case]:
    """A worker's own requests, newest first (a worker has a handful, not thousands)."""
    return list(db.session.scalars(select(Case).where(Case.worker_id == worker_id)
                                   .options(load_only(*LIST_COLUMNS, Case.created_at))
                                   .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)))


def load_case(case: Case) -> Case:
    """Load a shown case's handoffs, events and files in one query each."""
    db.session.scalars(select(Case).where(Case.id == case.id).options(
        selectinload(Case.handoffs), selectinload(Case.events), selectinload(Case.files),
        joinedload(Case.owner), joinedload(Case.worker))).one()
    return case


def notes_for(user: User, case: Case) -> tuple[list[CaseNote], list[CaseNote]]:
    """(internal notes the user may read, updates the worker sees), oldest first.

    The lead agency and the coordinator read every internal note; a co-handling agency, and an
    agency that has lost access, read only their own agency's."""
    notes = list(db.session.scalars(select(CaseNote).where(CaseNote.case_id == case.id)
                                    .order_by(CaseNote.id)))
    updates = [n for n in notes if n.worker_visible]
    if user.role is Role.WORKER:
        return [], updates
    if "internal_notes" in visible_fields(user, case):
        return [n for n in notes if not n.worker_visible], updates
    agency = agency_of(user)
    own = [n for n in notes if n.agency == agency]
    if not can_view(user, case):  # an agency that lost access keeps its own notes, nothing more
        return [n for n in own if not n.worker_visible], [n for n in own if n.worker_visible]
    return [n for n in own if not n.worker_visible], updates


def author_names(notes: list[CaseNote]) -> dict[int, str]:
    ids = {n.author_id for n in notes if n.author_id}
    if not ids:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


@dataclass
class TeamMember:
    user: User
    available: bool
    note: str
    open_cases: int


def team(agency: str) -> list[TeamMember]:
    """The agency's caseworkers with their availability and open cases (three queries)."""
    members = list(db.session.scalars(
        select(User).join(Organisation, Organisation.id == User.org_id)
        .where(Organisation.code == agency, User.role == Role.CASEWORKER, User.active.is_(True))
        .order_by(User.id)))
    ids = [m.id for m in members]
    away = {row.user_id: row for row in db.session.scalars(
        select(CaseworkerAvailability).where(CaseworkerAvailability.user_id.in_(ids)))}
    load = dict(db.session.execute(
        select(Case.owner_id, func.count(Case.id)).where(Case.owner_id.in_(ids),
                                                         Case.status.in_(OPEN_STATUSES))
        .group_by(Case.owner_id)).all())
    return [TeamMember(user=m, available=away[m.id].available if m.id in away else True,
                       note=away[m.id].note if m.id in away else "", open_cases=load.get(m.id, 0))
            for m in members]


def assignment_rule(agency: str) -> str:
    setting = db.session.get(CaseAgencySetting, agency)
    return setting.assignment_rule.value if setting else "least_open"


def cases_by_ids(agency: str, ids: list[int]) -> list[Case]:
    if not ids:
        return []
    return list(db.session.scalars(select(Case).where(Case.id.in_(ids[:200]),
                                                      Case.lead_agency == agency)))


def find_worker(text: str) -> User | None:
    """A worker by mobile number or username (staff intake)."""
    from services.accounts.operations import phone_lookup
    from services.core.errors import ValidationFailed

    text = (text or "").strip()
    if not text:
        return None
    try:
        _phone, digest = phone_lookup(text)
        where = User.phone_hash == digest
    except ValidationFailed:
        where = User.username == text.lower()
    return db.session.scalar(select(User).where(where, User.role == Role.WORKER))


def is_available(user_id: int) -> bool:
    row = db.session.get(CaseworkerAvailability, user_id)
    return row.available if row else True


def arbitration_count() -> int:
    return db.session.scalar(select(func.count(Case.id)).where(Case.arbitration.is_(True))) or 0


def routing_rules() -> list:
    from services.cases.models import RoutingRule

    rows = {r.category: r for r in db.session.scalars(select(RoutingRule))}
    return [rows.get(category) or routing_default(category) for category in CATEGORIES]


def routing_rule(category: str):
    from services.cases.models import RoutingRule

    return db.session.scalar(select(RoutingRule).where(RoutingRule.category == category))


def routing_default(category: str):
    """An unsaved rule row holding the design's default for a category."""
    from services.cases.models import RoutingRule
    from services.cases.routing import ACK_DAYS, DEFAULT_RULES

    lead, co, days, basis = DEFAULT_RULES[category]
    return RoutingRule(category=category, lead_agency=lead, co_agencies=list(co),
                       resolve_days=days, ack_days=ACK_DAYS, policy_basis=basis)


def collective_members(user: User, case: Case) -> list[Case]:
    """The requests joined in a collective case that the user may open."""
    if not case.is_collective:
        return []
    members = db.session.scalars(select(Case).where(Case.collective_case_id == case.id)
                                 .options(selectinload(Case.handoffs)).order_by(Case.id))
    return [m for m in members if can_view(user, m)]
