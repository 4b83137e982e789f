"""What the dormitory read cache depends on, and the flush hook that keeps it exact.

Cached dormitory reads (services/dorms/queries.py) name the namespaces below. Rather than
every operation remembering to touch them, one `after_flush` hook looks at every flushed
dormitory row (building, room, bed, stay, application, policy) and touches:

- `ANY` for every change: the API's application read depends on it (an application's body
  shows its offer's bed, room and rent as well as its place among all the park's applicants);
- `park(P)` for the park the row belongs to: the room list and building codes of that park;
- `worker(W)` for the worker of a stay or an application: that worker's home panel and pages;
- `NAMES` when a user's name or username, or any organisation, changes: the room list shows
  holders' names and reserved-for companies, the worker's panel the park's name.

A row whose park or worker cannot be told without the database is looked up on the flush's
own connection (one statement per model, rarely needed: operations load what they change);
when even that fails, `UNRESOLVED` is touched, on which every cached dormitory value depends.
An INSERT, UPDATE or DELETE statement run through the session on a dormitory table touches
`UNRESOLVED` too (the flush hook does not see its rows).
"""
from __future__ import annotations

from collections import defaultdict
from itertools import chain

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from services.accounts.models import Organisation, User
from services.core import cache
from services.dorms.models import Bed, Building, DormApplication, DormPolicy, Room, Stay

ANY = "dorms:any"
NAMES = "dorms:names"
UNRESOLVED = "dorms:unresolved"


def park(park_id: int) -> str:
    return f"dorms:park:{park_id}"


def worker(worker_id: int) -> str:
    return f"dorms:worker:{worker_id}"


def park_namespaces(park_id: int) -> tuple[str, ...]:
    return park(park_id), NAMES, UNRESOLVED


def worker_namespaces(worker_id: int) -> tuple[str, ...]:
    return worker(worker_id), NAMES, UNRESOLVED


# The columns that place a row in a park or with a worker, and what each one points at.
_COLUMNS: dict[type, tuple[str, ...]] = {
    Building: ("park_id",), DormPolicy: ("park_id",), Room: ("building_id",), Bed: ("room_id",),
    DormApplication: ("park_id", "worker_id"), Stay: ("bed_id", "application_id", "worker_id"),
}
_TABLE_NAMES = frozenset(model.__tablename__ for model in _COLUMNS)
_POINTS_AT = {"building_id": Building, "room_id": Room, "bed_id": Bed,
              "application_id": DormApplication}
_LOOKUP_ROUNDS = 4  # stay → bed → room → building


class _Resolver:
    """The parks and workers of flushed rows: from the session's objects, else the database."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.parks: set[int] = set()
        self.workers: set[int] = set()
        self.unresolved = False
        self._wanted: dict[type, set[int]] = defaultdict(set)
        self._seen: set[tuple[type, int]] = set()

    def add(self, obj) -> None:
        """A flushed row: its own columns if the session holds them, else look it up."""
        model, state = type(obj), inspect(obj)
        names = _COLUMNS[model]
        if all(name in state.dict for name in names):
            self._found(model, {name: state.dict[name] for name in names})
        elif state.identity is not None:
            self._want(model, state.identity[0])
        else:
            self.unresolved = True

    def _want(self, model: type, key: int) -> None:
        if (model, key) in self._seen:
            return
        self._seen.add((model, key))
        known = self.session.identity_map.get(identity_key(model, key))
        if known is not None and all(name in inspect(known).dict for name in _COLUMNS[model]):
            self._found(model, {name: inspect(known).dict[name] for name in _COLUMNS[model]})
        else:
            self._wanted[model].add(key)

    def _found(self, model: type, values: dict) -> None:
        for name, value in values.items():
            if value is None:
                continue  # a stay without an application
            if name == "park_id":
                self.parks.add(value)
            elif name == "worker_id":
                self.workers.add(value)
            else:
                self._want(_POINTS_AT[name], value)

    def lookup(self) -> None:
        """Read what the session did not hold, on the flush's connection (one statement a model)."""
        for _ in range(_LOOKUP_ROUNDS):
            if not self._wanted:
                return
            connection = self.session.connection()
            wanted, self._wanted = self._wanted, defaultdict(set)
            for model, keys in wanted.items():
                names = _COLUMNS[model]
                key_column = inspect(model).primary_key[0]
                rows = connection.execute(
                    select(key_column, *(getattr(model, name) for name in names))
                    .where(key_column.in_(sorted(keys)))).all()
                if len(rows) < len(keys):
                    self.unresolved = True  # deleted by this flush before it was loaded
                for row in rows:
                    self._found(model, dict(zip(names, row[1:])))
        if self._wanted:
            self.unresolved = True

    def namespaces(self) -> set[str]:
        return ({ANY} | {park(p) for p in self.parks} | {worker(w) for w in self.workers}
                | ({UNRESOLVED} if self.unresolved else set()))


@event.listens_for(Session, "after_flush")
def _touch_changed_dorms(session: Session, flush_context) -> None:
    """Every flushed dormitory row invalidates the cached reads that show it."""
    resolver, names_changed, dorm_rows = _Resolver(session), False, False
    for obj in chain(session.new, session.dirty, session.deleted):
        if type(obj) in _COLUMNS:
            if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                continue
            dorm_rows = True
            resolver.add(obj)
        elif isinstance(obj, User) and obj not in session.new:
            names_changed = names_changed or any(
                inspect(obj).attrs[name].history.has_changes() for name in ("name", "username"))
        elif isinstance(obj, Organisation):
            names_changed = True
    if not (dorm_rows or names_changed):
        return
    resolver.lookup()
    namespaces = resolver.namespaces() if dorm_rows else set()
    if names_changed:
        namespaces.add(NAMES)
    cache.touch(*namespaces, session=session)


@event.listens_for(Session, "do_orm_execute")
def _touch_on_bulk_statements(state) -> None:
    """A bulk INSERT/UPDATE/DELETE of a dormitory table is not seen by the flush hook."""
    if (state.is_insert or state.is_update or state.is_delete) and \
            getattr(state.statement.table, "name", None) in _TABLE_NAMES:
        cache.touch(ANY, UNRESOLVED, session=state.session)
