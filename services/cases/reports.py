"""The case dashboards (per agency and for the coordinator) and their exports, as SQL aggregates.

Definitions (the page's footnote repeats them):

- *Scope*: an agency's dashboard counts the cases the agency **leads now** (`Case.lead_agency`);
  the coordinator's and the administrator's count every case and break the figures down by lead
  agency. Collective cases (集体案件) are cases too: they count everywhere, and separately.
- *Period*: `30`, `90` or `365` keep the cases **filed** in the last so many days before `now`;
  `all` (the default) keeps every case. An unknown value falls back to the default.
- *Open* is `submitted`, `accepted`, `in_progress`, `on_hold` or `reopened`. The *deadline
  status* of an open case is `Case.deadline_state` as the deadline sweep last set it.
- *Time to acknowledge* is `accepted_at − dispatched_at`; *time to resolve* is `resolved_at −
  dispatched_at` for cases now resolved or closed. Both are elapsed (calendar) hours from
  dispatch, because the clock starts at dispatch, not at signing; time on hold is not taken
  out. Working days would need the business calendar row by row, which SQL cannot do cheaply.
  The median of an even count is the mean of the two middle values.
- *Returns* is the sum of `Case.return_count`; *waiting for arbitration* counts open cases with
  `arbitration` set; *arbitrated* counts cases with `arbitrated_at`.
- *Satisfaction* is the mean of the 1–5 ratings given on confirmation, with their distribution.
- *Reopenings* is the sum of `Case.reopen_count`; *reopened cases* counts cases reopened at
  least once.
- *Time held* sums, per agency, the lead periods (`CaseLeadPeriod`) of the cases in the period:
  `coalesce(ended_at, now) − started_at`, with the number of cases each agency held and of lead
  periods. Many periods per case is what bouncing between agencies looks like. Every agency's
  dashboard shows the comparison for all three agencies: aggregates only, no case or person.

Every figure is a GROUP BY (no case is loaded row by row): four statements whatever the number
of cases. The medians are portable across SQLite and PostgreSQL: the counts come with the
GROUP BY, then for each group and duration `ORDER BY duration LIMIT 1|2 OFFSET (n-1)/2` picks
the middle row(s), all of them in one UNION ALL statement. (Numbering the rows with window
functions measured twice as slow on SQLite.) Durations are written in each dialect's words:
`julianday()` on SQLite, `EXTRACT(EPOCH FROM …)` on PostgreSQL. Nothing here writes or commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import (Float, Integer, String, and_, case, distinct, func, literal, select,
                        union_all)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from services.cases.labels import CATEGORY_LABELS, DEADLINE_LABELS, STATUS_LABELS, label
from services.cases.models import (OPEN_STATUSES, Case, CaseLeadPeriod, CaseStatus,
                                   DeadlineState)
from services.cases.routing import AGENCIES, CATEGORIES
from services.core.audit import utcnow
from services.core.tabular import csv_text, xlsx_bytes
from services.extensions import db

PERIODS: dict[str, int | None] = {"30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_PERIOD = "all"
ALL = "all"  # the key of the whole scope's figures in the coordinator's view and the exports
FINISHED = (CaseStatus.RESOLVED, CaseStatus.CLOSED)
RATINGS = (1, 2, 3, 4, 5)
EXPORT_COLUMNS = ("section", "agency", "key", "label", "value")

PERIOD_LABELS = {
    "30": _l("Last 30 days"),
    "90": _l("Last 90 days"),
    "365": _l("Last 365 days"),
    "all": _l("All cases"),
}
FIGURE_LABELS = {
    "total": _l("Cases filed"),
    "open": _l("Open cases"),
    "at_risk": _l("Open cases at risk"),
    "breached": _l("Open cases overdue"),
    "acknowledged": _l("Cases acknowledged"),
    "resolved": _l("Resolved or closed"),
    "median_ack_hours": _l("Median hours to acknowledge"),
    "median_resolve_hours": _l("Median hours to resolve"),
    "returns": _l("Returns"),
    "returned_cases": _l("Cases returned at least once"),
    "arbitration_waiting": _l("Waiting for arbitration"),
    "arbitrated": _l("Arbitrated"),
    "satisfaction": _l("Average satisfaction (1–5)"),
    "ratings": _l("Ratings given"),
    "collective_open": _l("Open collective cases"),
    "collective_total": _l("Collective cases"),
    "reopenings": _l("Reopenings"),
    "reopened_cases": _l("Cases reopened at least once"),
}
HELD_LABELS = {
    "cases": _l("Cases held"),
    "periods": _l("Lead periods"),
    "hours": _l("Hours holding cases"),
    "hours_per_case": _l("Hours per case held"),
    "holding_now": _l("Cases held now"),
}
SECTION_FIGURES = tuple(FIGURE_LABELS)


def parse_period(raw: Any) -> str:
    """The period named in the query string, or the default for anything else."""
    value = str(raw or "").strip()
    return value if value in PERIODS else DEFAULT_PERIOD


# --- a duration in hours, in the dialect's own words --------------------------------------------

class hours_between(FunctionElement):
    """Hours from `start` to `end`, as a float: `hours_between(end, start)`."""

    type = Float()
    name = "hours_between"
    inherit_cache = True


@compiles(hours_between)
def _hours_between_postgresql(element, compiler, **kw):
    end, start = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST(EXTRACT(EPOCH FROM ({end}) - ({start})) AS DOUBLE PRECISION) / 3600.0)"


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element, compiler, **kw):
    end, start = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


# --- the figures --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    """One bar of a chart: a code (state, category, rating…) and its count."""

    key: str
    value: int


@dataclass
class Chart:
    bars: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


@dataclass
class Figures:
    """The figures of one group of cases: the whole scope, or one lead agency."""

    key: str
    total: int = 0
    open: int = 0
    at_risk: int = 0
    breached: int = 0
    acknowledged: int = 0
    resolved: int = 0
    returns: int = 0
    returned_cases: int = 0
    arbitration_waiting: int = 0
    arbitrated: int = 0
    rating_sum: int = 0
    ratings: int = 0
    collective_open: int = 0
    collective_total: int = 0
    reopenings: int = 0
    reopened_cases: int = 0
    rating_counts: list[int] = field(default_factory=lambda: [0] * len(RATINGS))
    median_ack_hours: float | None = None
    median_resolve_hours: float | None = None

    @property
    def satisfaction(self) -> float | None:
        return round(self.rating_sum / self.ratings, 2) if self.ratings else None

    def add(self, other: Figures) -> None:
        """Add another group's counts (not its medians: a median does not add up)."""
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, item.name, value + getattr(other, item.name))
        self.rating_counts = [a + b for a, b in zip(self.rating_counts, other.rating_counts)]

    def value(self, name: str):
        return getattr(self, name)


@dataclass
class TimeHeld:
    """How long one agency held cases (as lead), and how many."""

    agency: str
    cases: int = 0
    periods: int = 0
    hours: float = 0.0
    holding_now: int = 0

    @property
    def hours_per_case(self) -> float | None:
        return round(self.hours / self.cases, 1) if self.cases else None


@dataclass
class CaseDashboard:
    agency: str | None  # None: every case (coordinator, admin)
    period: str
    since: datetime | None
    now: datetime
    totals: Figures
    by_state: Chart
    by_category: Chart
    by_deadline: Chart
    satisfaction: Chart
    time_held: list[TimeHeld]
    by_agency: list[Figures]  # empty on an agency's own dashboard


# What each median measures, over which cases, and the count (in `Figures`) of those cases.
ACK_HOURS = hours_between(Case.accepted_at, Case.dispatched_at)
RESOLVE_HOURS = hours_between(Case.resolved_at, Case.dispatched_at)
ACKNOWLEDGED = Case.accepted_at.is_not(None)
TIMED_RESOLUTION = and_(Case.status.in_(FINISHED), Case.resolved_at.is_not(None))
MEDIANS = {"median_ack_hours": (ACK_HOURS, ACKNOWLEDGED, "acknowledged"),
           "median_resolve_hours": (RESOLVE_HOURS, TIMED_RESOLUTION, "resolved")}


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _scope(agency: str | None, since: datetime | None) -> list:
    conditions = []
    if agency is not None:
        conditions.append(Case.lead_agency == agency)
    if since is not None:
        conditions.append(Case.created_at >= since)
    return conditions


def _figures_by_lead(scope: list) -> dict[str, Figures]:
    """Counts per lead agency: one GROUP BY."""
    is_open = Case.status.in_(OPEN_STATUSES)
    columns = {
        "total": func.count(Case.id),
        "open": _count_if(is_open),
        "at_risk": _count_if(and_(is_open, Case.deadline_state == DeadlineState.AT_RISK)),
        "breached": _count_if(and_(is_open, Case.deadline_state == DeadlineState.BREACHED)),
        "acknowledged": func.count(Case.accepted_at),
        "resolved": _count_if(TIMED_RESOLUTION),
        "returns": func.coalesce(func.sum(Case.return_count), 0),
        "returned_cases": _count_if(Case.return_count > 0),
        "arbitration_waiting": _count_if(and_(is_open, Case.arbitration.is_(True))),
        "arbitrated": _count_if(Case.arbitrated_at.is_not(None)),
        "rating_sum": func.coalesce(func.sum(Case.satisfaction), 0),
        "ratings": func.count(Case.satisfaction),
        "collective_open": _count_if(and_(is_open, Case.is_collective.is_(True))),
        "collective_total": _count_if(Case.is_collective.is_(True)),
        "reopenings": func.coalesce(func.sum(Case.reopen_count), 0),
        "reopened_cases": _count_if(Case.reopen_count > 0),
    }
    ratings = [_count_if(Case.satisfaction == rating) for rating in RATINGS]
    query = (select(Case.lead_agency, *columns.values(), *ratings)
             .where(*scope).group_by(Case.lead_agency))
    out = {}
    for row in db.session.execute(query):
        values = [int(value or 0) for value in row[1:]]
        figures = Figures(row[0], **dict(zip(columns, values[:len(columns)])))
        figures.rating_counts = values[len(columns):]
        out[row[0]] = figures
    return out


def _open_groups(scope: list) -> list[tuple[str, str, str, int]]:
    """(state, category, deadline state, count) of the open cases: one GROUP BY."""
    query = (select(Case.status, Case.category, Case.deadline_state, func.count(Case.id))
             .where(*scope, Case.status.in_(OPEN_STATUSES))
             .group_by(Case.status, Case.category, Case.deadline_state))
    return [(status.value, category, deadline.value, int(n))
            for status, category, deadline, n in db.session.execute(query)]


def _roll_up(groups: list[tuple], index: int, keys) -> Chart:
    counts = {key: 0 for key in keys}
    for group in groups:
        counts[group[index]] = counts.get(group[index], 0) + group[3]
    return Chart([Bar(key, value) for key, value in counts.items()])


def _medians(groups: list[tuple[Figures, list]]) -> None:
    """Set the medians of each group (the scope, or one lead agency: its conditions): one statement.

    A group's count n is known from `_figures_by_lead`; its median is the middle row of its
    durations in order (`ORDER BY … LIMIT 1 OFFSET (n-1)/2`, or the mean of two rows when n is
    even). The parts, two per group, go to the database as one UNION ALL.
    """
    parts = []
    for index, (figures, where) in enumerate(groups):
        for name, (duration, condition, count_name) in MEDIANS.items():
            n = getattr(figures, count_name)
            middle = (select(duration.label("hours")).where(*where, condition)
                      .order_by(duration).offset(max(n - 1, 0) // 2).limit(1 if n % 2 else 2)
                      .subquery())
            parts.append(select(literal(index, Integer).label("group_index"),
                                literal(name, String).label("name"), middle.c.hours))
    found: dict[tuple[int, str], list[float]] = {}
    for index, name, hours in db.session.execute(union_all(*parts)):
        found.setdefault((index, name), []).append(float(hours))
    for index, (figures, _) in enumerate(groups):
        for name in MEDIANS:
            values = found.get((index, name))
            setattr(figures, name, round(sum(values) / len(values), 1) if values else None)


def _time_held(since: datetime | None, now: datetime) -> list[TimeHeld]:
    """Per agency: cases held, lead periods, hours held (running periods up to now): one GROUP BY."""
    period = CaseLeadPeriod
    held = hours_between(func.coalesce(period.ended_at, now), period.started_at)
    query = (select(period.agency, func.count(distinct(period.case_id)), func.count(period.id),
                    func.coalesce(func.sum(held), 0.0), _count_if(period.ended_at.is_(None)))
             .group_by(period.agency))
    if since is not None:  # the join costs more than the rest of the query: only when filtering
        query = query.join(Case, Case.id == period.case_id).where(Case.created_at >= since)
    out = {agency: TimeHeld(agency) for agency in AGENCIES}
    for agency, cases, periods, hours, running in db.session.execute(query):
        out[agency] = TimeHeld(agency, int(cases), int(periods), round(float(hours), 1),
                               int(running))
    return list(out.values())


def dashboard(*, agency: str | None, now: datetime | None = None,
              period: str = DEFAULT_PERIOD) -> CaseDashboard:
    """Every figure of the dashboard for one lead agency (or every case: None), in four statements."""
    now = (now or utcnow()).astimezone(timezone.utc)
    period = parse_period(period)
    days = PERIODS[period]
    since = now - timedelta(days=days) if days else None
    scope = _scope(agency, since)

    by_lead = _figures_by_lead(scope)
    totals = Figures(agency or ALL)
    for figures in by_lead.values():
        totals.add(figures)
    by_agency = []
    if agency is None:
        by_agency = [by_lead.get(code) or Figures(code)
                     for code in [*AGENCIES, *sorted(set(by_lead) - set(AGENCIES))]]
    _medians([(totals, scope)]
             + [(figures, [*scope, Case.lead_agency == figures.key]) for figures in by_agency])
    groups = _open_groups(scope)
    return CaseDashboard(
        agency=agency, period=period, since=since, now=now, totals=totals,
        by_state=_roll_up(groups, 0, [s.value for s in OPEN_STATUSES]),
        by_category=_roll_up(groups, 1, CATEGORIES),
        by_deadline=_roll_up(groups, 2, [d.value for d in DeadlineState]),
        satisfaction=Chart([Bar(str(r), n) for r, n in zip(RATINGS, totals.rating_counts)]),
        time_held=_time_held(since, now), by_agency=by_agency)


# --- CSV / XLSX: the same figures, one row each --------------------------------------------------

def export_rows(data: CaseDashboard) -> list[tuple]:
    """(section, agency, key, label, value) for every figure of the page; aggregates only."""
    scope = data.agency or ALL
    rows: list[tuple] = [
        ("scope", scope, "period", str(_l("Period")), data.period),
        ("scope", scope, "since", str(_l("Filed since")),
         data.since.date().isoformat() if data.since else ""),
    ]
    rows += [("summary", scope, name, str(FIGURE_LABELS[name]), data.totals.value(name))
             for name in SECTION_FIGURES]
    for section, chart, labels in (("open_by_state", data.by_state, STATUS_LABELS),
                                   ("open_by_category", data.by_category, CATEGORY_LABELS),
                                   ("open_by_deadline", data.by_deadline, DEADLINE_LABELS),
                                   ("satisfaction", data.satisfaction, {})):
        rows += [(section, scope, bar.key, label(labels, bar.key), bar.value) for bar in chart.bars]
    for held in data.time_held:
        rows += [("time_held", held.agency, name, str(text), getattr(held, name))
                 for name, text in HELD_LABELS.items()]
    for figures in data.by_agency:
        rows += [("by_agency", figures.key, name, str(FIGURE_LABELS[name]), figures.value(name))
                 for name in SECTION_FIGURES]
    return rows


def to_csv(data: CaseDashboard) -> str:
    return csv_text(EXPORT_COLUMNS, export_rows(data))


def to_xlsx(data: CaseDashboard) -> bytes:
    return xlsx_bytes(EXPORT_COLUMNS, export_rows(data), title="cases dashboard")
