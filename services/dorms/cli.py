"""`flask dorms …`: import inventory, solve an instance, run a park's allocation, expire offers."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from services.accounts.models import Organisation, OrgKind
from services.core.errors import DomainError
from services.dorms import allocator
from services.dorms.inventory_file import InventoryFileError, check_rows, read_table
from services.dorms.operations import allocation, inventory, offers
from services.extensions import db

dorms_cli = AppGroup("dorms", help="Dormitories: inventory, allocation, offers.")


def _park(code: str) -> Organisation:
    park = db.session.scalar(select(Organisation).where(Organisation.code == code.strip().lower(),
                                                        Organisation.kind == OrgKind.PARK))
    if park is None:
        raise click.ClickException(f"no park has the code {code}")
    return park


@dorms_cli.command("import")
@click.argument("park_code")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; save nothing.")
def import_command(park_code: str, file: Path, dry_run: bool) -> None:
    """Import buildings, rooms and beds from a CSV or XLSX file (idempotent)."""
    park = _park(park_code)
    employers = set(db.session.scalars(select(Organisation.code).where(Organisation.kind == OrgKind.EMPLOYER)))
    try:
        rows, errors = check_rows(read_table(file.read_bytes(), file.name), employer_codes=employers)
    except InventoryFileError as error:
        raise click.ClickException(str(error)) from None
    for line, reason in errors:
        click.echo(f"line {line}: {reason}", err=True)
    if errors:
        raise click.ClickException(f"{len(errors)} bad rows; nothing imported")
    if dry_run:
        click.echo(f"{len(rows)} rooms are valid (dry run: nothing saved)")
        return
    try:
        report = inventory.import_inventory(actor_id=None, park_id=park.id, rows=rows)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    click.echo(f"rooms: {report.created_rooms} created, {report.updated_rooms} updated, "
               f"{report.unchanged_rooms} unchanged; beds: {report.created_beds} created, "
               f"{report.removed_beds} removed")


@dorms_cli.command("solve")
@click.argument("instance_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the result here.")
def solve_command(instance_file: Path, out: Path | None) -> None:
    """Run the allocation engine on a JSON instance (contract in design/dorms.md)."""
    try:
        instance = json.loads(instance_file.read_text("utf-8"))
        result = allocator.solve(instance)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise click.ClickException(f"not a JSON file: {error}") from None
    except allocator.InstanceError as error:
        raise click.ClickException(str(error).splitlines()[0]) from None
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if out:
        out.write_text(text, "utf-8")
        click.echo(f"placed {result['stats']['placed']}, unplaced {result['stats']['unplaced']} "
                   f"in {result['stats']['seconds']:.2f} s → {out}")
    else:
        click.echo(text)


@dorms_cli.command("run")
@click.argument("park_code")
@click.option("--commit", is_flag=True, help="Make the offers (default: dry run).")
def run_command(park_code: str, commit: bool) -> None:
    """Allocation run for a park from the database (dry run unless --commit)."""
    park = _park(park_code)
    try:
        run = allocation.run_allocation(actor_id=None, park_id=park.id, commit=commit)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    summary = run.summary
    click.echo(f"run {run.id} ({'committed' if commit else 'dry run'}): {summary['applicants']} "
               f"applicants, {summary['placed']} placed, {summary['unplaced']} not placed")
    for code, count in summary["reasons"].items():
        click.echo(f"  {code}: {count}")


@dorms_cli.command("sweep")
def sweep_command() -> None:
    """Expire unanswered offers and offer the freed beds to the next applicants."""
    expired = offers.expire_offers()
    db.session.commit()
    click.echo(f"{len(expired)} offers expired")
