"""Read side of the cases domain: queues, lists with filters, a case's notes, the team page.

Lists are one page of rows plus one count, with the owner joined in (no query per row).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from flask import has_request_context, request
from sqlalchemy import bindparam, case as when, func, or_, select, text
from sqlalchemy.orm import joinedload, selectinload

from services.accounts.models import Organisation, User
from services.cases.freshness import (STAFF_NAMES, agency_namespace, depends, staff_namespace,
                                      worker_namespace)
from services.cases.models import (LIVE_HANDOFF, OPEN_CASE_SQL, OPEN_STATUSES, Case,
                                   CaseAgencySetting, CaseNote, CaseStatus,
                                   CaseworkerAvailability, DeadlineState, Escalation, Handoff,
                                   HandoffKind, HandoffStatus, agency_of, can_view,
                                   visible_fields)
from services.cases.routing import CATEGORIES
from services.core import cache
from services.core.access import Role
from services.core.pagination import MAX_PER_PAGE, Page
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

    def any(self) -> bool:
        return bool(self.status or self.category or self.deadline or self.q)

    def key(self) -> str:
        """The filters as part of a cache key (the values are checked choices and short text)."""
        return repr((self.status, self.category, self.deadline, self.q))

    def clauses(self) -> list:
        where = []
        if self.status:
            where.append(Case.status == CaseStatus(self.status))
        if self.category:
            where.append(Case.category == self.category)
        if self.deadline:
            where.append(Case.deadline_state == DeadlineState(self.deadline))
        if self.q:
            where.append(Case.case_no.contains(self.q.upper(), autoescape=True))
        return where


class CaseRow(NamedTuple):
    """One line of a case list: plain values (cached and shared between requests)."""

    id: int
    case_no: str
    category: str
    status: CaseStatus
    deadline_state: DeadlineState
    arbitration: bool
    lead_agency: str
    owner_name: str | None  # None: in the agency's queue
    resolve_due_at: datetime
    is_collective: bool


_OWNER_NAME = func.coalesce(func.nullif(User.name, ""), User.username)  # User.display_name
_ROW_COLUMNS = (Case.id, Case.case_no, Case.category, Case.status, Case.deadline_state,
                Case.arbitration, Case.lead_agency, _OWNER_NAME, Case.resolve_due_at,
                Case.is_collective)
# Written out (not bound parameters) so that PostgreSQL's cached plan of a prepared statement
# can use the partial indexes of open and finished cases.
_OPEN = text(f"cases.{OPEN_CASE_SQL}")
_DONE = text(f"NOT (cases.{OPEN_CASE_SQL})")


def _page_numbers(page: Any, per_page: Any) -> tuple[int, int]:
    """The page number and size asked for, as services.core.pagination reads them."""
    def number(raw: Any, default: int) -> int:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            return default
        return value if value >= 1 else default
    return min(number(page, 1), 10**6), min(number(per_page, 20), MAX_PER_PAGE)


def _rows(where: list, order: tuple, *, page_no: int, size: int) -> tuple[CaseRow, ...]:
    query = (select(*_ROW_COLUMNS).select_from(Case).outerjoin(User, User.id == Case.owner_id)
             .where(*where).order_by(*order).limit(size).offset((page_no - 1) * size))
    return tuple(CaseRow._make(row) for row in db.session.execute(query))


def _count(where: list) -> int:
    return db.session.scalar(select(func.count()).select_from(Case).where(*where)) or 0


def list_cache(user: User, *, view: str, filters: CaseFilters, page_no: int,
               size: int) -> tuple[str, tuple[str, ...]]:
    """The cache key of one page of an agency list, and the namespaces it depends on: shared by
    the agency's staff, except "mine" (one caseworker's own)."""
    agency = agency_of(user)
    owner = user.id if view == "mine" else None
    return (f"cases:list:{agency}:{view}:{owner}:{page_no}:{size}:{filters.key()}",
            depends(agency_namespace(agency), STAFF_NAMES))


def agency_cases(user: User, *, view: str, filters: CaseFilters, page: Any = 1,
                 per_page: Any = 20) -> Page:
    """A caseworker's or supervisor's list: their own open cases, the agency's unassigned queue,
    every open case the agency leads, or its finished ones; soonest deadline first.

    Cached per agency (and per caseworker for "mine") until a case of the agency changes."""
    agency = agency_of(user)
    page_no, size = _page_numbers(page, per_page)

    def compute() -> tuple[tuple[CaseRow, ...], int]:
        where = [Case.lead_agency == agency, _DONE if view == "done" else _OPEN]
        if view == "mine":
            where.append(Case.owner_id == user.id)
        elif view == "queue":
            where.append(Case.owner_id.is_(None))
        where += filters.clauses()
        if view in ("mine", "queue", "open") and not filters.any():
            total = view_counts(user)[view]  # the tab's own count: no second count of the cases
        else:
            total = _count(where)
        order = (Case.updated_at.desc(),) if view == "done" else (Case.resolve_due_at, Case.id)
        return _rows(where, order, page_no=page_no, size=size), total

    key, namespaces = list_cache(user, view=view, filters=filters, page_no=page_no, size=size)
    items, total = cache.cached(key, compute, depends_on=namespaces)
    return Page(items=list(items), page=page_no, per_page=size, total=total)


# Built once (its parameters bound at each run): the statement is the same for everyone.
_HEADER = select(
    func.coalesce(func.sum(when((Case.owner_id == bindparam("user_id"), 1), else_=0)), 0),
    func.coalesce(func.sum(when((Case.owner_id.is_(None), 1), else_=0)), 0),
    func.count(),
    select(func.count(Handoff.id)).where(
        Handoff.to_agency == bindparam("agency"), Handoff.status.in_(LIVE_HANDOFF),
        Handoff.kind != HandoffKind.RETURN).scalar_subquery(),
    select(CaseworkerAvailability.available)
    .where(CaseworkerAvailability.user_id == bindparam("user_id")).scalar_subquery(),
).select_from(Case).where(Case.lead_agency == bindparam("agency"), _OPEN)


class QueueHeader(NamedTuple):
    """The tab counts of a caseworker's queue page, and whether they take new cases."""

    mine: int
    queue: int
    open: int
    tasks: int
    available: bool


def queue_header(user: User) -> QueueHeader:
    """One statement: the agency's open cases counted from the partial index of open cases (an
    index-only scan), the live handoffs to the agency and the user's availability. Cached per
    caseworker until a case of the agency or their availability changes; remembered for the
    rest of the request. It also depends on the lists' namespaces, so that reading it first
    fetches every version the queue page needs in one round trip."""
    memo = request.environ if has_request_context() else {}
    remembered = memo.get("anju.case_header")
    if remembered is not None and remembered[0] == user.id:
        return remembered[1]
    agency = agency_of(user)

    def compute() -> QueueHeader:
        row = db.session.execute(_HEADER, {"agency": agency, "user_id": user.id}).one()
        return QueueHeader(int(row[0]), int(row[1]), int(row[2]), int(row[3] or 0),
                           row[4] is None or bool(row[4]))  # no availability row: available

    header = cache.cached(f"cases:header:{agency}:{user.id}", compute,
                          depends_on=header_namespaces(user))
    memo["anju.case_header"] = (user.id, header)
    return header


def header_namespaces(user: User) -> tuple[str, ...]:
    return depends(agency_namespace(agency_of(user)), STAFF_NAMES, staff_namespace(user.id))


def view_counts(user: User) -> dict[str, int]:
    """How many cases each tab of the queue page holds."""
    header = queue_header(user)
    return {"mine": header.mine, "queue": header.queue, "open": header.open,
            "tasks": header.tasks}


class HandoffRow(NamedTuple):
    """A handoff in the agency's list, with its case's number (plain values, cached)."""

    id: int
    case_id: int
    case_no: str
    kind: HandoffKind
    status: HandoffStatus
    from_agency: str
    to_agency: str
    reason: str
    reason_code: str | None
    basis: str | None
    outcome_note: str
    due_at: datetime | None
    created_at: datetime
    answered_at: datetime | None
    finished_at: datetime | None


_HANDOFF_COLUMNS = (Handoff.id, Handoff.case_id, Case.case_no, Handoff.kind, Handoff.status,
                    Handoff.from_agency, Handoff.to_agency, Handoff.reason, Handoff.reason_code,
                    Handoff.basis, Handoff.outcome_note, Handoff.due_at, Handoff.created_at,
                    Handoff.answered_at, Handoff.finished_at)


def agency_tasks(agency: str, *, page: Any = 1, per_page: Any = 20) -> Page:
    """Handoffs waiting for the agency or being worked by it (transfers and co-handling);
    cached per agency until a handoff to or from it changes."""
    page_no, size = _page_numbers(page, per_page)
    where = (Handoff.to_agency == agency, Handoff.status.in_(LIVE_HANDOFF),
             Handoff.kind != HandoffKind.RETURN)

    def compute() -> tuple[tuple[HandoffRow, ...], int]:
        query = (select(*_HANDOFF_COLUMNS).join(Case, Case.id == Handoff.case_id).where(*where)
                 .order_by(Handoff.due_at, Handoff.id).limit(size).offset((page_no - 1) * size))
        total = db.session.scalar(select(func.count(Handoff.id)).where(*where)) or 0
        return tuple(HandoffRow._make(row) for row in db.session.execute(query)), total

    items, total = cache.cached(f"cases:tasks:{agency}:{page_no}:{size}", compute,
                                depends_on=depends(agency_namespace(agency)))
    return Page(items=list(items), page=page_no, per_page=size, total=total)


def coordinator_cases(*, filters: CaseFilters, page: Any = 1, per_page: Any = 20) -> Page:
    """Cases the coordination office may open: waiting for arbitration, escalated, decided."""
    page_no, size = _page_numbers(page, per_page)
    where = [or_(Case.arbitration.is_(True), Case.escalation_level >= int(Escalation.COORDINATOR),
                 Case.arbitrated_at.is_not(None)), *filters.clauses()]
    items = _rows(where, (Case.arbitration.desc(), Case.resolve_due_at, Case.id),
                  page_no=page_no, size=size)
    return Page(items=list(items), page=page_no, per_page=size, total=_count(where))


class WorkerCaseRow(NamedTuple):
    """One of a worker's own requests, as their lists show it."""

    id: int
    case_no: str
    category: str
    status: CaseStatus
    lead_agency: str
    created_at: datetime


def worker_cases(worker_id: int, *, limit: int | None = None) -> tuple[WorkerCaseRow, ...]:
    """A worker's own requests, newest first (a worker has a handful, not thousands); cached
    per worker until one of their requests changes."""
    def compute() -> tuple[WorkerCaseRow, ...]:
        query = (select(Case.id, Case.case_no, Case.category, Case.status, Case.lead_agency,
                        Case.created_at).where(Case.worker_id == worker_id)
                 .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit))
        return tuple(WorkerCaseRow._make(row) for row in db.session.execute(query))

    return cache.cached(f"cases:worker:{worker_id}:{limit}", compute,
                        depends_on=depends(worker_namespace(worker_id)))


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
