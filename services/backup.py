"""`flask backup-db DEST`: a consistent copy of the database, taken while the app keeps running.

* **SQLite** (the embedded default): Python's `sqlite3` online-backup API copies the configured
  database file in a single step. The database runs in WAL mode, where a reader never blocks a
  writer, so the app keeps writing during the copy; the copy is the database as of one committed
  moment (a transaction that commits meanwhile is wholly absent, never half there). Copying a
  live file with `cp` is not safe: it can catch a page mid-write and misses what is still in
  the `-wal` file. The copy is switched to rollback-journal mode, so it is one self-contained
  file, and checked with `PRAGMA quick_check` before it is kept.
* **PostgreSQL**: runs `pg_dump --format=custom` (restore with `pg_restore`), which reads one
  snapshot without blocking the app. The password goes to pg_dump in its environment
  (`PGPASSWORD`), not on its command line, where `ps` would show it to every local user.
  pg_dump must be installed (`postgresql-client`) and at least as new as the server.

The copy is written next to DEST under a temporary name readable only by its owner (a backup
holds personal data) and renamed to DEST once it is complete, so DEST never holds half a backup.
An existing DEST is refused rather than overwritten.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path

import click
from sqlalchemy.engine import URL

from services.extensions import db


class BackupError(Exception):
    """A backup that could not be made, with a message for the operator."""


def backup_database(url: URL, dest: Path) -> int:
    """Copy the database at `url` to the new file `dest`; return the copy's size in bytes."""
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backup-db knows SQLite and PostgreSQL, not {backend}")
    if backend == "sqlite" and url.database in (None, "", ":memory:"):
        raise BackupError("the database is in memory: there is no file to back up")
    if dest.exists() or dest.is_symlink():
        raise BackupError(f"{dest} already exists: choose a new name (backups are not overwritten)")
    if not dest.parent.is_dir():
        raise BackupError(f"folder {dest.parent} does not exist")
    try:
        handle, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial")
    except OSError as error:
        raise BackupError(f"cannot write in {dest.parent}: {error.strerror}") from None
    os.close(handle)
    partial = Path(name)
    try:
        if backend == "sqlite":
            _copy_sqlite(Path(url.database).resolve(), partial)
        else:
            _dump_postgresql(url, partial)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest.stat().st_size


def _copy_sqlite(source: Path, partial: Path) -> None:
    if not source.is_file():
        raise BackupError(f"database file {source} not found")
    try:
        # mode=rw: never create an empty database where the configured file is missing.
        with closing(sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, timeout=10)) as src, \
                closing(sqlite3.connect(partial)) as copy:
            # One step (pages=-1) is one read transaction: a consistent snapshot. A stepwise copy
            # restarts whenever another connection writes and may never finish on a busy site.
            src.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as error:
        raise BackupError(f"SQLite backup failed: {error}") from None
    if check != "ok":
        raise BackupError(f"the copy failed its integrity check: {check}")


def _dump_postgresql(url: URL, partial: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump not found: install the PostgreSQL client "
                          "(apt-get install postgresql-client)")
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    # libpq reads the same URL without the SQLAlchemy driver suffix ("+psycopg").
    conninfo = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                          database=url.database, query=url.query).render_as_string()
    result = subprocess.run(
        [pg_dump, "--format=custom", "--no-password", f"--file={partial}", f"--dbname={conninfo}"],
        env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line.removeprefix("pg_dump: ") for line in result.stderr.strip().splitlines()]
        raise BackupError("pg_dump failed: " + ("; ".join(lines) or f"exit {result.returncode}"))


@click.command("backup-db")
@click.argument("dest", type=click.Path(path_type=Path))
def backup_db(dest: Path) -> None:
    """Copy the database to DEST while the app runs (SQLite online backup; PostgreSQL pg_dump -Fc)."""
    url = db.engine.url
    try:
        size = backup_database(url, dest)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{url.get_backend_name()} database backed up to {dest} ({size:,} bytes)")
