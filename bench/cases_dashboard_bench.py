"""Benchmark of the case dashboards (services/cases/reports.py) at the city's 50,000 cases a year.

Builds the data set with the city demo generator's bulk inserts (services/demo_city.py: cases
over the last 180 days in every state, one lead period each), with fewer workers than the city
set since the dashboard never reads them, then bounces a share of the cases between agencies
(an extra lead period and a return each), marks some for arbitration, arbitrated or reopened,
and times, through the app's test client with a signed-in user (median of several runs):

- the coordinator's dashboard page, CSV and XLSX (every case, per-agency breakdown);
- an HRSS supervisor's page, CSV and XLSX (the cases HRSS leads, the three agencies' time held);
- `reports.dashboard()` alone, and the page with `?period=30`.

It prints the figures and the number of SQL statements of each request. Run from the
repository root:

    .venv/bin/python bench/cases_dashboard_bench.py                          # SQLite file in /tmp
    .venv/bin/python bench/cases_dashboard_bench.py --cases 5000 --runs 3
    .venv/bin/python bench/cases_dashboard_bench.py --reuse                  # keep the built file
    .venv/bin/python bench/cases_dashboard_bench.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_dash

The database given is emptied (all tables dropped) first; never point it at one you need.
Not part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import bindparam, event, func, select, update  # noqa: E402

from app import create_app  # noqa: E402
from services.cases import reports  # noqa: E402
from services.cases.models import Case, CaseLeadPeriod  # noqa: E402
from services.cases.operations.intake import as_utc  # noqa: E402
from services.extensions import db  # noqa: E402

DEFAULT_SQLITE = os.path.join(tempfile.gettempdir(), "anju-cases-bench.db")
BOUNCE_EVERY = 10  # one case in ten went to another agency first and was returned
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def build(cases: int, workers: int) -> dict:
    """Schema, the small demo set (agencies, their staff, the coordinator) and `cases` cases."""
    from services import demo_city
    from services.cases.routing import AGENCIES, seed_rules
    from services.demo import seed_small

    db.drop_all()
    db.create_all()
    seed_rules()
    seed_small()
    db.session.flush()
    started = time.perf_counter()

    finished: set[str] = set()

    def progress(step: str, done: int, total: int) -> None:
        if done >= total and step not in finished:
            finished.add(step)
            print(f"  {step:<14}{total:>8,}  {time.perf_counter() - started:6.1f} s", flush=True)

    # The city builder's own steps, at the city's number of cases but fewer workers: only the
    # cases are read by the dashboard, and encrypting 300,000 phones would take most of the time.
    builder = demo_city._Builder(1.0, progress)
    builder.n.update(cases=cases, workers=workers)
    builder.organisations()
    builder.workers()
    builder.cases()
    now = builder.now

    # Bounce every tenth case: another agency held it first, returned it, and the lead took it.
    rows = db.session.execute(
        select(CaseLeadPeriod.id, CaseLeadPeriod.case_id, CaseLeadPeriod.agency,
               CaseLeadPeriod.started_at, CaseLeadPeriod.ended_at)
        .where(CaseLeadPeriod.case_id % BOUNCE_EVERY == 0)).all()
    extra, moved = [], []
    for period_id, case_id, agency, begin, end in rows:
        begin, end = as_utc(begin), as_utc(end) if end else now
        cut = begin + (end - begin) / 4
        other = AGENCIES[(AGENCIES.index(agency) + 1) % len(AGENCIES)]
        extra.append({"case_id": case_id, "agency": other, "started_at": begin, "ended_at": cut})
        moved.append({"period_id": period_id, "cut": cut})
    table = CaseLeadPeriod.__table__
    demo_city._insert(table, extra)
    db.session.execute(update(table).where(table.c.id == bindparam("period_id"))
                       .values(started_at=bindparam("cut")), moved)
    open_ = Case.status.in_(["submitted", "accepted", "in_progress"])
    cases_table = Case.__table__
    for condition, values in (
            (Case.id % BOUNCE_EVERY == 0, {"return_count": 1}),
            (Case.id % 97 == 0, {"return_count": 2, "arbitrated_at": now - timedelta(days=1),
                                 "lead_binding": True}),
            ((Case.id % 89 == 0) & open_, {"return_count": 2, "arbitration": True}),
            ((Case.id % 53 == 0) & (Case.id % BOUNCE_EVERY != 0) & (Case.status == "closed"),
             {"status": "reopened", "reopen_count": 1, "closed_at": None,
              "confirmed_at": None, "satisfaction": None})):
        db.session.execute(update(cases_table).where(condition).values(**values))
    # A reopened case's lead period runs again.
    db.session.execute(update(table).where(
        table.c.case_id.in_(select(Case.id).where(Case.reopen_count > 0)))
        .values(ended_at=None))
    db.session.commit()
    counts = {"cases": db.session.scalar(select(func.count(Case.id))),
              "lead periods": db.session.scalar(select(func.count(CaseLeadPeriod.id)))}
    print(f"  built in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{n:,} {what}" for what, n in counts.items()), flush=True)
    return counts


def signed_in(app, username: str):
    from services.demo import DEMO_PASSWORD

    client = app.test_client()
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username,
                                           "password": DEMO_PASSWORD})
    assert response.status_code == 302, (username, response.status_code)
    return client


def timed(call, runs: int) -> tuple[float, object]:
    call()  # warm-up: templates compiled, caches filled
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def statements_of(call) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def print_figures(data: reports.CaseDashboard) -> None:
    t = data.totals
    print(f"  {data.agency or 'all agencies'}: {t.total:,} cases, {t.open:,} open "
          f"({t.at_risk:,} at risk, {t.breached:,} overdue), {t.resolved:,} resolved; median "
          f"{t.median_ack_hours} h to acknowledge, {t.median_resolve_hours} h to resolve; "
          f"{t.returns:,} returns, {t.arbitration_waiting} waiting for arbitration, "
          f"{t.arbitrated} arbitrated; satisfaction {t.satisfaction} ({t.ratings:,} ratings); "
          f"{t.reopenings} reopenings")
    for row in data.time_held:
        print(f"    held by {row.agency:<6} {row.cases:>7,} cases {row.periods:>7,} periods "
              f"{row.hours:>14,.1f} h  ({row.hours_per_case} h a case, {row.holding_now:,} now)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None,
                        help=f"default: a SQLite file, {DEFAULT_SQLITE}")
    parser.add_argument("--reuse", action="store_true",
                        help="time the database as it is (built by an earlier run)")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{DEFAULT_SQLITE}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "NOTIFY_ADAPTER": "memory",
                      "UPLOAD_FOLDER": tempfile.mkdtemp(prefix="anju-bench-")})
    with app.app_context():
        print(f"database: {db.engine.dialect.name}, {args.cases:,} cases", flush=True)
        if not args.reuse:
            build(args.cases, args.workers)
        print(f"timings (median of {args.runs} runs after one warm-up):")
        print(f"  {'request':<44}{'median':>10}{'SQL':>6}{'bytes':>10}")
        for username in ("coordinator", "hrss_sup"):
            client = signed_in(app, username)
            for path in ("/cases/dashboard", "/cases/dashboard.csv", "/cases/dashboard.xlsx",
                         "/cases/dashboard?period=30"):
                def get(path=path):
                    response = client.get(path)
                    assert response.status_code == 200, (path, response.status_code)
                    db.session.remove()
                    return response
                seconds, response = timed(get, args.runs)
                print(f"  {username + ' ' + path:<44}{seconds * 1000:>8.0f} ms"
                      f"{statements_of(get):>6}{len(response.data):>10,}", flush=True)
        for agency in (None, "hrss"):
            seconds, data = timed(lambda agency=agency: reports.dashboard(agency=agency),
                                  args.runs)
            print(f"  {'reports.dashboard(agency=' + repr(agency) + ')':<44}"
                  f"{seconds * 1000:>8.0f} ms"
                  f"{statements_of(lambda agency=agency: reports.dashboard(agency=agency)):>6}")
        print("figures:")
        print_figures(reports.dashboard(agency=None))
        print_figures(reports.dashboard(agency="hrss"))
        for figures in reports.dashboard(agency=None).by_agency:
            print(f"    lead {figures.key:<6} open {figures.open:>6,}  at risk "
                  f"{figures.at_risk:>5,}  overdue {figures.breached:>6,}  returns "
                  f"{figures.returns:>5,}  median ack {figures.median_ack_hours} h, "
                  f"resolve {figures.median_resolve_hours} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
