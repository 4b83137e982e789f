"""`flask cases …`: the deadline sweep, for cron or the RQ worker.

Suggested cron (any timezone): `*/5 * * * * flask cases sweep`. With REDIS_URL set, `--queue`
hands the work to the RQ worker. The command commits once; notifications leave after it.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from services.cases import jobs
from services.cases.operations.deadlines import sweep as run_sweep_cases

cases_cli = AppGroup("cases", help="Aid cases.")


@cases_cli.command("sweep")
@click.option("--queue", "use_queue", is_flag=True, help="Run as a background job.")
def sweep(use_queue: bool) -> None:
    """At-risk and overdue cases, escalations, expired handoffs, follow-ups closed."""
    from services.cli import run_sweep

    run_sweep(jobs.sweep_job, run_sweep_cases, use_queue=use_queue)
