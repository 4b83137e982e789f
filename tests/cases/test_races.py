"""Two caseworkers at the same instant: signing for one case, claiming one queued case.
One wins, the other gets a conflict; on SQLite and on PostgreSQL."""
import services.cases.models  # noqa: F401

import pytest
from sqlalchemy import func, select

from services.cases.models import Case, CaseStatus
from services.cases.operations import lifecycle
from services.core.audit import AuditEvent
from services.extensions import db
from tests.cases.factories import agencies, at_once, file_case, load_calendar_rows
from tests.conftest import build_app


def _race(app, step):
    """Run `step(actor, case)` for two HRSS caseworkers at once; return outcomes and the case."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        load_calendar_rows()
        world = agencies()
        case = file_case(world["worker"], category="social_insurance")
        if step is lifecycle.claim:
            lifecycle.set_availability(actor=world["hrss"]["cw"], user=world["hrss"]["cw"],
                                       available=False)
            lifecycle.set_availability(actor=world["hrss"]["cw2"], user=world["hrss"]["cw2"],
                                       available=False)
            lifecycle.accept_case(actor=world["hrss"]["sup"], case=case)  # stays queued
            db.session.commit()
        case_id, actors = case.id, (world["hrss"]["cw"].id, world["hrss"]["cw2"].id)
        db.session.remove()
    outcomes = at_once(app, actors, lambda actor: step(actor=actor,
                                                       case=db.session.get(Case, case_id)))
    with app.app_context():
        case = db.session.get(Case, case_id)
        action = "cases.accepted" if step is lifecycle.accept_case else "cases.claimed"
        result = (sorted(outcomes), case.status, case.owner_id in actors,
                  db.session.scalar(select(func.count(AuditEvent.id)).where(
                      AuditEvent.action == action, AuditEvent.object_id == str(case_id))))
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return result


def _one_wins(outcomes):
    """One success; the loser gets a 409 — `already_taken` when both read the case before either
    wrote (PostgreSQL), `invalid_state` when the database made the second wait (SQLite)."""
    assert len(outcomes) == 2 and outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"already_taken", "invalid_state"}


@pytest.mark.parametrize("step", [lifecycle.accept_case, lifecycle.claim])
def test_two_caseworkers_at_once_sqlite(tmp_path, step):
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/race.db")
    outcomes, status, owned, audited = _race(app, step)
    _one_wins(outcomes)
    assert status is CaseStatus.ACCEPTED and owned and audited == 1


@pytest.mark.postgres
@pytest.mark.parametrize("step", [lifecycle.accept_case, lifecycle.claim])
def test_two_caseworkers_at_once_postgres(tmp_path, pg_url, step):
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url)
    outcomes, status, owned, audited = _race(app, step)
    _one_wins(outcomes)
    assert status is CaseStatus.ACCEPTED and owned and audited == 1
