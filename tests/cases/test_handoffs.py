"""Transfers, referrals, returns, arbitration, revocation, expiry, access, and the accept race."""
import services.cases.models  # noqa: F401

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from services.cases.models import (Case, CaseStatus, Handoff, HandoffStatus, can_view,
                                   visible_fields)
from services.cases.operations import handoffs, lifecycle
from services.core.errors import Conflict, Forbidden, InvalidState, ValidationFailed
from services.extensions import db
from tests.cases.factories import agencies, at_once, file_case, load_calendar_rows
from tests.conftest import build_app
from tests.factories import make_user

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(app):
    load_calendar_rows()
    return agencies()


def _transfer(world, case, to="union"):
    return handoffs.request_handoff(actor=world[case.lead_agency]["cw"], case=case, kind="transfer",
                                    to_agency=to, reason="不属本部门职责", now=NOW)


def test_access_of_every_role_before_and_after_a_transfer(world):
    worker, other_worker = world["worker"], make_user("worker")
    case = file_case(worker, category="social_insurance", consent=["hrss", "union"])
    hrss, union, civil = world["hrss"]["cw"], world["union"]["cw"], world["civil"]["cw"]
    assert can_view(worker, case) and not can_view(other_worker, case)
    assert can_view(hrss, case) and can_view(world["hrss"]["sup"], case)
    assert not can_view(union, case) and not can_view(civil, case)
    assert not can_view(world["coordinator"], case)
    assert "owner_id" not in visible_fields(worker, case)
    handoff = _transfer(world, case)
    assert can_view(union, case) and can_view(hrss, case)  # live handoff
    assert "owner_id" not in visible_fields(union, case)
    handoffs.accept_handoff(actor=union, handoff=handoff, now=NOW)
    db.session.commit()
    assert case.lead_agency == "union" and case.owner_id == union.id
    assert handoff.status is HandoffStatus.COMPLETED
    assert not can_view(hrss, case) and can_view(union, case)  # the sender lost access
    assert "owner_id" in visible_fields(union, case) and visible_fields(hrss, case) == frozenset()


def test_consent_limits_agencies(world):
    case = file_case(world["worker"], category="social_insurance", consent=["hrss"])
    with pytest.raises(InvalidState):
        _transfer(world, case)
    assert not can_view(world["union"]["cw"], case)


def test_only_the_receiver_accepts_and_only_the_lead_transfers(world):
    case = file_case(world["worker"])
    with pytest.raises(Forbidden):
        handoffs.request_handoff(actor=world["union"]["cw"], case=case, kind="transfer",
                                 to_agency="civil", reason="x", now=NOW)
    handoff = _transfer(world, case, to="civil")
    with pytest.raises(Forbidden):
        handoffs.accept_handoff(actor=world["union"]["cw"], handoff=handoff)
    with pytest.raises(Conflict):  # one live handoff per agency per case
        _transfer(world, case, to="civil")


def test_referral_task_blocks_resolution_until_finished(world):
    case = file_case(world["worker"])
    referral = case.handoffs[0]
    hrss = world["hrss"]["cw"]
    lifecycle.accept_case(actor=hrss, case=case)
    handoffs.accept_handoff(actor=world["union"]["cw"], handoff=referral)
    with pytest.raises(InvalidState):
        lifecycle.resolve(actor=hrss, case=case, outcome="money_recovered", note="追回")
    handoffs.finish_referral(actor=world["union"]["cw"], handoff=referral, succeeded=False,
                             note="企业已注销，无法提供法律援助")
    lifecycle.resolve(actor=hrss, case=case, outcome="money_recovered", note="追回",
                      recovered_fen=1_200_000)
    assert case.status is CaseStatus.RESOLVED


def test_second_return_goes_to_the_coordinator_whose_decision_binds(world):
    case = file_case(world["worker"], category="social_insurance")
    with pytest.raises(ValidationFailed):
        handoffs.return_case(actor=world["hrss"]["cw"], case=case, to_agency="union",
                             reason_code="", basis="")
    handoffs.return_case(actor=world["hrss"]["cw"], case=case, to_agency="union",
                         reason_code="not_our_remit", basis="《社会保险法》第七条")
    assert case.lead_agency == "union" and case.return_count == 1 and not case.arbitration
    assert not can_view(world["coordinator"], case)
    transfer = _transfer(world, case, to="hrss")
    handoffs.decline_handoff(actor=world["hrss"]["sup"], handoff=transfer,
                             reason_code="not_our_remit", basis="《社会保险法》第八十二条")
    db.session.commit()
    assert case.return_count == 2 and case.arbitration and case.lead_agency == "union"
    assert can_view(world["coordinator"], case)
    with pytest.raises(Forbidden):
        handoffs.arbitrate(actor=world["union"]["sup"], case=case, lead_agency="hrss", decision="x")
    handoffs.arbitrate(actor=world["coordinator"], case=case, lead_agency="hrss",
                       decision="社保缴费争议属人社职责")
    assert case.lead_agency == "hrss" and case.lead_binding and not case.arbitration
    with pytest.raises(InvalidState):
        handoffs.return_case(actor=world["hrss"]["cw"], case=case, to_agency="union",
                             reason_code="again", basis="x")
    with pytest.raises(InvalidState):
        _transfer(world, case, to="union")


def test_revoke_and_expiry(world):
    case = file_case(world["worker"], category="social_insurance")
    handoff = _transfer(world, case)
    with pytest.raises(Forbidden):
        handoffs.revoke_handoff(actor=world["union"]["cw"], handoff=handoff)
    handoffs.revoke_handoff(actor=world["hrss"]["cw"], handoff=handoff)
    assert handoff.status is HandoffStatus.REVOKED and not can_view(world["union"]["cw"], case)
    late = _transfer(world, case)
    assert handoffs.expire_handoffs(now=NOW + timedelta(hours=20)) == []
    assert handoffs.expire_handoffs(now=NOW + timedelta(days=1, hours=1)) == [late]
    assert late.status is HandoffStatus.EXPIRED and case.lead_agency == "hrss"


def _race(app):
    with app.app_context():
        db.drop_all()
        db.create_all()
        world = agencies()
        case = file_case(world["worker"], category="social_insurance")
        handoff_id = _transfer(world, case).id
        db.session.commit()
        case_id, actors = case.id, (world["union"]["cw"].id, world["union"]["cw2"].id)
        db.session.remove()
    outcomes = at_once(app, actors, lambda actor: handoffs.accept_handoff(
        actor=actor, handoff=db.session.get(Handoff, handoff_id)))
    with app.app_context():
        case = db.session.get(Case, case_id)
        result = (sorted(outcomes), case.lead_agency, case.owner_id in actors,
                  db.session.scalar(select(func.count(Handoff.id)).where(
                      Handoff.status == HandoffStatus.COMPLETED)))
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return result


def test_two_caseworkers_accept_one_handoff_sqlite(tmp_path):
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/race.db")
    assert _race(app) == (["handoff_answered", "ok"], "union", True, 1)


@pytest.mark.postgres
def test_two_caseworkers_accept_one_handoff_postgres(tmp_path, pg_url):
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url)
    assert _race(app) == (["handoff_answered", "ok"], "union", True, 1)
