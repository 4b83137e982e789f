"""`flask bookings …`: reminders, lottery draws and the periodic sweep (for cron or RQ).

Each command commits once; notifications leave after the commit. Suggested cron (Asia/Shanghai):
`*/5 * * * * flask bookings sweep` — it draws due lotteries, closes waitlists, marks no-shows and
sends the reminders for tomorrow (each booking is reminded once, so running it often is safe).
With REDIS_URL set, `--queue` hands the work to the RQ worker instead.
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from services.bookings import jobs, operations
from services.core.errors import DomainError
from services.extensions import db

bookings_cli = AppGroup("bookings", help="Welfare-service bookings.")


def _fail(error: DomainError) -> None:
    db.session.rollback()
    raise click.ClickException(error.message)


@bookings_cli.command("remind")
@click.option("--queue", "use_queue", is_flag=True, help="Run as a background job.")
def remind(use_queue: bool) -> None:
    """Send reminders for tomorrow's bookings (in-app and SMS), once per booking."""
    if use_queue:
        from services.core.jobs import enqueue

        job = enqueue(jobs.remind_job)
        click.echo(f"job {job.id}: {job.status}")
        return
    sent = operations.send_reminders()
    db.session.commit()
    click.echo(f"sent {sent} reminders")


@bookings_cli.command("sweep")
@click.option("--queue", "use_queue", is_flag=True, help="Run as a background job.")
def sweep(use_queue: bool) -> None:
    """Draw due lotteries, expire closed waitlists, mark no-shows, send tomorrow's reminders."""
    from services.cli import run_sweep

    run_sweep(jobs.sweep_job, operations.sweep, use_queue=use_queue)


@bookings_cli.command("draw")
@click.argument("slot_id", type=int)
def draw(slot_id: int) -> None:
    """Draw the lottery of one slot now (its deadline must have passed)."""
    from services.bookings.models import Slot

    slot = db.session.get(Slot, slot_id)
    if slot is None:
        raise click.ClickException(f"no slot {slot_id}")
    try:
        result = operations.draw(slot=slot)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    click.echo(f"slot {slot_id}: seed {result['seed']}, booked {len(result['booked'])}, "
               f"not drawn {len(result['not_drawn'])}")
