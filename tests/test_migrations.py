"""Migrations build the whole schema from an empty database, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from services.core.calendar import CalendarDay
from services.extensions import db
from tests.conftest import build_app


def _schema_matches_models() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _check_upgrade_from_empty(app) -> None:
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        assert _schema_matches_models() == []
        assert db.session.scalar(select(db.func.count()).select_from(CalendarDay)) > 50
        db.session.remove()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def test_single_head(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    assert len(script.get_heads()) == 1


def test_upgrade_from_empty_sqlite(tmp_path):
    _check_upgrade_from_empty(build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/m.db"))


@pytest.mark.postgres
def test_upgrade_from_empty_postgres(tmp_path, pg_url):
    _check_upgrade_from_empty(build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
