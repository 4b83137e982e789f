"""Routing rules: defaults, seeding, the explainable pre-screen limited by consent."""
import services.cases.models  # noqa: F401

import pytest
from sqlalchemy import select

from services.cases import routing
from services.cases.models import RoutingRule
from services.core.errors import ValidationFailed
from services.extensions import db


def test_every_category_has_a_basis_and_ack_of_one_day(app):
    rows = routing.seed_rules()
    db.session.commit()
    assert len(rows) == len(routing.CATEGORIES) == 10
    assert all(r.policy_basis and r.ack_days == 1 for r in rows)
    wage = db.session.scalar(select(RoutingRule).where(RoutingRule.category == "wage_arrears"))
    assert (wage.lead_agency, wage.co_agencies, wage.resolve_days) == ("hrss", ["union"], 15)
    assert "保障农民工工资支付条例" in wage.policy_basis


def test_prescreen_limits_co_handlers_to_consent_and_explains(app):
    routing.seed_rules()
    full = routing.prescreen("hardship", ["union", "civil"])
    assert full.lead_agency == "union" and full.co_agencies == ("civil",) and full.lead_consented
    limited = routing.prescreen("hardship", ["union"])
    assert limited.co_agencies == ()
    assert [(r.agency, r.role) for r in limited.reasons] == [("union", "lead"),
                                                             ("civil", "not_consented")]
    assert "中国工会章程" in limited.reasons[0].basis
    assert not routing.prescreen("social_insurance", ["union"]).lead_consented


def test_admin_edit_wins_over_reseed(app):
    routing.seed_rules()
    routing.update_rule(actor_id=None, category="other", lead_agency="civil", co_agencies=["union"],
                        resolve_days=10, policy_basis="本市规定")
    routing.seed_rules()
    assert routing.prescreen("other", routing.AGENCIES).lead_agency == "civil"
    with pytest.raises(ValidationFailed):
        routing.update_rule(actor_id=None, category="other", lead_agency="union",
                            co_agencies=["union"], resolve_days=10, policy_basis="x")
