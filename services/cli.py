"""`flask` commands: organisations, accounts, demo data, background worker.

Each command commits once at the end and exits non-zero with a one-line message on bad input.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import text

from services.accounts import operations
from services.backup import backup_db
from services.core.errors import DomainError
from services.extensions import db


def _fail(error: DomainError) -> None:
    db.session.rollback()
    raise click.ClickException(error.message)


def run_sweep(job, sweep, *, use_queue: bool) -> None:
    """A periodic sweep from the command line: handed to the RQ worker (`--queue`), or run here,
    committed once, and its counts printed as `key=value, …`."""
    if use_queue:
        from services.core.jobs import enqueue

        queued = enqueue(job)
        click.echo(f"job {queued.id}: {queued.status}")
        return
    result = sweep()
    db.session.commit()
    click.echo(", ".join(f"{key}={value}" for key, value in result.items()))


@click.command("create-org")
@click.option("--kind", required=True, type=click.Choice(["park", "employer", "agency", "provider"]))
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--park", "park_code", default=None, help="Code of the park it belongs to.")
@click.option("--platform", is_flag=True, help="An employer that is a gig-work platform company.")
def create_org(kind: str, code: str, name: str, park_code: str | None, platform: bool) -> None:
    """Create or update an organisation (idempotent by code)."""
    try:
        change = operations.upsert_org(actor_id=None, kind=kind, code=code, name=name,
                                       park_code=park_code, is_platform=platform)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    click.echo(f"{'created' if change.created else 'updated'} {change.org.kind.value} "
               f"{change.org.code} (id {change.org.id})")


@click.command("create-user")
@click.option("--role", required=True)
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--phone", default=None)
@click.option("--org", "org_code", default=None, help="Organisation code (staff scope or employer).")
@click.option("--name", default="")
def create_user(role: str, username: str, password: str, phone: str | None,
                org_code: str | None, name: str) -> None:
    """Create one account and print its id."""
    try:
        user = operations.create_user(actor_id=None, role=role, username=username,
                                      password=password, phone=phone, org_code=org_code, name=name)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    click.echo(user.id)


@click.command("import-users")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_users(file: Path) -> None:
    """Create accounts from a CSV (role,username,password,phone,org): all rows or none."""
    try:
        text = file.read_text("utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException("the file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = set(operations.USER_IMPORT_COLUMNS) - set(reader.fieldnames or [])
    if missing:
        raise click.ClickException("missing columns: " + ", ".join(sorted(missing)))
    try:
        users = operations.import_users(actor_id=None, rows=list(reader))
        db.session.commit()
    except DomainError as error:
        _fail(error)
    click.echo(f"created {len(users)} accounts")


@click.command("seed-demo")
@click.option("--size", type=click.Choice(["small", "city"]), default="small", show_default=True,
              help="small: a few parks and one account of every role; city: the benchmark scale "
                   "(28 parks, 100k beds, 300k workers, 50k cases, 200k bookings).")
@click.option("--if-empty", is_flag=True, help="Seed only when there are no accounts yet.")
@click.option("--scale", type=click.FloatRange(0.001, 1.0), default=1.0, hidden=True,
              help="With --size city: a fraction of the city set.")
def seed_demo(size: str, if_empty: bool, scale: float) -> None:
    """Fill demo data and print the demo accounts."""
    from services import demo

    if if_empty and operations.count_users() > 0:
        click.echo("database already has accounts; demo data not added")
    elif size == "city":
        _seed_city(scale)
    else:
        demo.seed_small()
        db.session.commit()
    click.echo(demo.accounts_table())


def _seed_city(scale: float) -> None:
    from services import demo_city

    bars: dict = {}

    def progress(step: str, done: int, total: int) -> None:
        bar = bars.get(step)
        if bar is None:
            bar = bars[step] = click.progressbar(length=max(total, 1), label=f"{step:<13}")
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    try:
        counts = demo_city.seed_city(scale=scale, progress=progress)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    from services.cases.freshness import touch_all

    touch_all()  # cases were inserted around the ORM: cached case reads start again
    db.session.commit()
    # Fresh planner statistics and visibility map: bulk inserts leave them empty until
    # autovacuum comes round (if it runs at all), and the planner then picks scans that are
    # hundreds of times slower, or index-only scans that read the table after all.
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    click.echo(", ".join(f"{name} {count:,}" for name, count in counts.items()))


jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def jobs_worker(burst: bool) -> None:
    """Run an RQ worker for the app's queue (needs REDIS_URL)."""
    from rq import Worker

    from services.core.jobs import queue

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set; jobs run inline without a worker")
    job_queue = queue()
    # with_scheduler: RQ moves retries with an interval back to the queue only when a worker
    # runs its scheduler; without it a failed job would wait for ever.
    Worker([job_queue], connection=job_queue.connection).work(burst=burst, with_scheduler=True)


@jobs_cli.command("scheduler")
@click.option("--tick", default=5.0, show_default=True, help="Seconds between checks.")
def jobs_scheduler(tick: float) -> None:
    """Run the periodic jobs (sweeps, reminders) at their intervals; the Procfile's clock process."""
    import services.bookings.jobs  # noqa: F401  (registers its periodic jobs)
    import services.cases.jobs  # noqa: F401
    import services.dorms.jobs  # noqa: F401
    from services.core import jobs, schedule

    for periodic in schedule.registered():
        click.echo(f"{periodic.name}: every {periodic.every_seconds} s")
    schedule.run_forever(enqueue=jobs.enqueue, tick_seconds=tick)


def register(app: Flask) -> None:
    for command in (create_org, create_user, import_users, seed_demo, jobs_cli, backup_db):
        app.cli.add_command(command)
    from services.dorms.cli import dorms_cli

    app.cli.add_command(dorms_cli)
    from services.bookings.cli import bookings_cli
    app.cli.add_command(bookings_cli)
    from services.cases.cli import cases_cli

    app.cli.add_command(cases_cli)
