"""Which cached case reads a change makes stale: the cache namespaces of the cases domain.

- `cases:agency:<code>` — an agency's queues: its open cases, tab counts, finished cases and the
  handoffs addressed to it. Touched by any change to a case it leads or led before the change,
  and by any change to a handoff it sends or receives.
- `cases:staff:<user id>` — a caseworker's availability.
- `cases:worker:<user id>` — a worker's own requests (the home panel and the request list).
- `cases:staff-names` — the caseworkers' names shown in the lists, touched when a caseworker's or
  supervisor's name changes.
- `cases:all` — every cached case read depends on it: a bulk load that goes around the ORM (the
  city data set, an import) calls `touch_all()`.

Every change made through the ORM is seen by one `after_flush` listener, so no operation can
forget to invalidate: filing, routing, accepting, claiming, handing off, returning, resolving,
closing, reopening, sweeps, reassignment, availability. The two places that change rows with a
bulk UPDATE (the guarded status and handoff answers) call `touch_case` / `touch_handoff` as well.
The namespaces are bumped after the transaction commits (services/core/cache.py).
"""
from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from services.accounts.models import User
from services.cases.models import Case, CaseworkerAvailability, Handoff
from services.cases.routing import AGENCIES
from services.core import cache

STAFF_NAMES = "cases:staff-names"
ALL_CASES = "cases:all"
_STAFF_ROLES = ("caseworker", "supervisor")


def depends(*namespaces: str) -> tuple[str, ...]:
    """The namespaces a cached read names, and the one every case read depends on."""
    return (*namespaces, ALL_CASES)


def agency_namespace(agency: str | None) -> str:
    return f"cases:agency:{agency}"


def staff_namespace(user_id: int) -> str:
    return f"cases:staff:{user_id}"


def worker_namespace(worker_id: int) -> str:
    return f"cases:worker:{worker_id}"


def _values(obj, key: str) -> set:
    """The attribute's value before and after this flush, without loading anything; None in the
    set when it was not loaded (the caller then assumes the widest change)."""
    history = inspect(obj).attrs[key].history
    seen = {*history.added, *history.unchanged, *history.deleted}
    return seen or {None}


def _case_namespaces(case: Case) -> set[str]:
    names = set()
    agencies = _values(case, "lead_agency")
    for agency in (AGENCIES if None in agencies else agencies):
        names.add(agency_namespace(agency))
    for worker_id in _values(case, "worker_id") - {None}:
        names.add(worker_namespace(worker_id))
    return names


def _handoff_namespaces(handoff: Handoff) -> set[str]:
    agencies = _values(handoff, "to_agency") | _values(handoff, "from_agency")
    return {agency_namespace(a) for a in (AGENCIES if None in agencies else agencies)}


def _user_namespaces(user: User, session: Session) -> set[str]:
    state = inspect(user)
    role = state.dict.get("role")
    if role is not None and getattr(role, "value", role) not in _STAFF_ROLES:
        return set()
    renamed = user in session.deleted or any(
        state.attrs[key].history.has_changes() for key in ("name", "username"))
    return {STAFF_NAMES} if renamed else set()


def touch_all() -> None:
    """Rows were written around the ORM: every cached case read is stale."""
    cache.touch(ALL_CASES)


def touch_case(case: Case) -> None:
    """A bulk UPDATE changed this case (the listener does not see those)."""
    cache.touch(*_case_namespaces(case))


def touch_handoff(handoff: Handoff) -> None:
    """A bulk UPDATE changed this handoff."""
    cache.touch(*_handoff_namespaces(handoff))


@event.listens_for(Session, "after_flush")
def _touch_changed_cases(session: Session, flush_context) -> None:
    names: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Case):
            names |= _case_namespaces(obj)
        elif isinstance(obj, Handoff):
            names |= _handoff_namespaces(obj)
        elif isinstance(obj, CaseworkerAvailability) and obj.user_id is not None:
            names.add(staff_namespace(obj.user_id))
        elif isinstance(obj, User) and obj.id is not None:
            names |= _user_namespaces(obj, session)
    if names:
        cache.touch(*names, session=session)
