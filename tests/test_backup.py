"""`flask backup-db DEST`: an online backup that is safe while the app keeps writing."""
from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import threading
from contextlib import closing
from pathlib import Path

import pytest

from services import backup
from services.extensions import db
from tests.conftest import build_app, require

BATCH = 10  # rows per writer transaction: a consistent copy holds whole batches only


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def closing_connection(path: Path):
    return closing(sqlite3.connect(path))


def one_line_error(result) -> bool:
    return result.exit_code != 0 and result.output.startswith("Error:") \
        and result.output.strip().count("\n") == 0


@pytest.fixture
def file_app(tmp_path):
    """The app on a SQLite file (WAL mode, as in development), with its tables."""
    application = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'anju.db'}")
    with application.app_context():
        db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()


class Writer(threading.Thread):
    """Another connection committing batches of rows until told to stop."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.batches, self.error = path, 0, None
        self.stop, self.started_writing = threading.Event(), threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            while not self.stop.is_set():
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany("INSERT INTO probe (batch, payload) VALUES (?, ?)",
                                       [(self.batches + 1, "x" * 500)] * BATCH)
                connection.execute("COMMIT")
                self.batches += 1
                self.started_writing.set()
        except sqlite3.Error as error:
            self.error = error
        finally:
            connection.close()


def test_backup_while_another_connection_writes_is_a_consistent_copy(file_app, tmp_path):
    assert run(file_app, "create-org", "--kind", "park", "--code", "yc-etdz",
               "--name", "开发区").exit_code == 0
    db.session.remove()  # end the session's (write-locking) transaction, as the CLI process would
    source = tmp_path / "anju.db"
    with closing_connection(source) as setup:
        assert setup.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        setup.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, batch INTEGER, payload TEXT)")
        setup.executemany("INSERT INTO probe (batch, payload) VALUES (0, ?)",
                          [("y" * 500,)] * 5000)
        setup.commit()
    writer = Writer(source)
    writer.start()
    assert writer.started_writing.wait(5)
    before = writer.batches
    dest = tmp_path / "backups" / "anju-copy.db"
    dest.parent.mkdir()
    try:
        result = run(file_app, "backup-db", str(dest))
        threading.Event().wait(0.1)  # let the writer go on after the copy
    finally:
        writer.stop.set()
        writer.join(10)
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output
    assert writer.error is None and writer.batches > before  # the writer was never locked out

    assert [p.name for p in dest.parent.iterdir()] == ["anju-copy.db"]  # no sidecar, no partial
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    with closing_connection(dest) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert copy.execute("SELECT count(*) FROM probe WHERE batch = 0").fetchone()[0] == 5000
        sizes = copy.execute("SELECT batch, count(*) FROM probe WHERE batch > 0 "
                             "GROUP BY batch").fetchall()
        assert sizes and all(count == BATCH for _, count in sizes)  # whole transactions only
        assert copy.execute("SELECT code FROM organisations").fetchall() == [("yc-etdz",)]


def test_bad_destination_is_a_one_line_error(file_app, tmp_path):
    missing = run(file_app, "backup-db", str(tmp_path / "no-such-folder" / "copy.db"))
    assert one_line_error(missing) and "does not exist" in missing.output
    existing = tmp_path / "old.db"
    existing.write_bytes(b"an earlier backup")
    again = run(file_app, "backup-db", str(existing))
    assert one_line_error(again) and "already exists" in again.output
    assert existing.read_bytes() == b"an earlier backup"
    folder = run(file_app, "backup-db", str(tmp_path))
    assert one_line_error(folder)
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.partial"))


def test_in_memory_database_is_refused(app, tmp_path):
    result = run(app, "backup-db", str(tmp_path / "copy.db"))
    assert one_line_error(result) and "in memory" in result.output
    assert not (tmp_path / "copy.db").exists()


@pytest.fixture
def pg_url_app(tmp_path):
    """An app configured for PostgreSQL; nothing here connects to it."""
    application = build_app(
        tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://anju:s3cret@127.0.0.1:5/anju")
    with application.app_context():
        yield application


def test_postgresql_without_pg_dump_points_to_the_client(pg_url_app, tmp_path, monkeypatch):
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    result = run(pg_url_app, "backup-db", str(tmp_path / "anju.dump"))
    assert one_line_error(result) and "pg_dump" in result.output
    assert not list(tmp_path.glob(".*.partial"))


def test_postgresql_password_stays_off_the_command_line(pg_url_app, tmp_path, monkeypatch):
    seen = {}

    def fake_run(args, env, **kwargs):
        seen.update(args=args, env=env)
        Path(args[3].removeprefix("--file=")).write_bytes(b"PGDMP")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(backup.shutil, "which", lambda name: "/usr/bin/pg_dump")
    monkeypatch.setattr(backup.subprocess, "run", fake_run)
    result = run(pg_url_app, "backup-db", str(tmp_path / "anju.dump"))
    assert result.exit_code == 0, result.output
    assert "--format=custom" in seen["args"]
    assert "--dbname=postgresql://anju@127.0.0.1:5/anju" in seen["args"]
    assert not any("s3cret" in arg for arg in seen["args"])
    assert seen["env"]["PGPASSWORD"] == "s3cret"
    assert (tmp_path / "anju.dump").read_bytes() == b"PGDMP"


def test_pg_dump_failure_is_one_line(pg_url_app, tmp_path, monkeypatch):
    def failing_run(args, env, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "pg_dump: error: connection failed\n"
                                                        "pg_dump: detail: no server\n")

    monkeypatch.setattr(backup.shutil, "which", lambda name: "/usr/bin/pg_dump")
    monkeypatch.setattr(backup.subprocess, "run", failing_run)
    result = run(pg_url_app, "backup-db", str(tmp_path / "anju.dump"))
    assert one_line_error(result) and "connection failed; detail: no server" in result.output
    assert not (tmp_path / "anju.dump").exists() and not list(tmp_path.glob(".*.partial"))


@pytest.mark.postgres
def test_postgresql_dump_restores_with_pg_restore(pg_app, tmp_path):
    require(shutil.which("pg_dump") is not None, "pg_dump")
    assert run(pg_app, "create-org", "--kind", "park", "--code", "yc-etdz",
               "--name", "开发区").exit_code == 0
    dest = tmp_path / "anju.dump"
    result = run(pg_app, "backup-db", str(dest))
    assert result.exit_code == 0, result.output
    listing = subprocess.run(["pg_restore", "--list", str(dest)], capture_output=True, text=True)
    assert listing.returncode == 0 and "TABLE DATA public organisations" in listing.stdout
