"""Default routing of aid requests between the three agencies, and the explainable pre-screen.

The table below is what `seed_rules()` writes into `case_routing_rules`; from then on the rows
are the truth and an administrator edits them. `prescreen()` reads the rows (falling back to the
defaults for a category without a row) and says which agencies will handle a request and why,
citing the rule and its policy basis. Co-handling agencies join only as far as the worker
consented; the lead must be among the consented agencies for the request to be filed at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import select

from services.cases.models import RoutingRule
from services.core.audit import record
from services.extensions import db

AGENCIES = ("union", "hrss", "civil")
ACK_DAYS = 1

# category: (lead, co-handling, resolve working days, policy basis)
DEFAULT_RULES: dict[str, tuple[str, tuple[str, ...], int, str]] = {
    "wage_arrears": ("hrss", ("union",), 15,
                     "《保障农民工工资支付条例》第十条、第四十八条：人力资源社会保障行政部门负责"
                     "拖欠工资的查处；《中华全国总工会法律援助办法》：工会为职工提供法律援助。"),
    "work_injury": ("hrss", ("union",), 20,
                    "《工伤保险条例》第五条、第十七条：社会保险行政部门负责工伤认定；"
                    "《新就业形态就业人员职业伤害保障办法（试行）》；《工会法》第二十二条。"),
    "legal_aid": ("union", (), 15,
                  "《中华人民共和国法律援助法》第十七条、第六十八条：工会等群团组织开展法律援助；"
                  "《中华全国总工会法律援助办法》。"),
    "hardship": ("union", ("civil",), 15,
                 "《中国工会章程》第二十九条：工会帮扶困难职工；《社会救助暂行办法》第四十八条："
                 "民政部门统筹社会救助。"),
    "living_allowance": ("civil", ("union",), 20,
                         "《社会救助暂行办法》第九条、第四十七条：最低生活保障和临时救助由民政部门审批；"
                         "《中国工会章程》第二十九条。"),
    "social_insurance": ("hrss", (), 10,
                         "《中华人民共和国社会保险法》第七条、第八十二条：社会保险行政部门受理"
                         "社会保险投诉、举报。"),
    "union_membership": ("union", (), 5,
                         "《中华人民共和国工会法》第三条；《中国工会章程》第一条：职工依法参加和组织工会。"),
    "housing": ("union", (), 15,
                "《中国工会章程》第二十九条：工会协调解决职工住房等实际困难（由工会牵头，按需协调）。"),
    "child_care": ("union", (), 15,
                   "《中国工会章程》第二十九条；《中华全国总工会关于加强职工子女托育服务的意见》。"),
    "other": ("union", (), 15,
              "一门受理、协同办理：其他诉求由工会受理并按需转办或协办（《中国工会章程》第二十九条）。"),
}
CATEGORIES = tuple(DEFAULT_RULES)


@dataclass(frozen=True)
class Reason:
    """One line of the pre-screen's explanation: an agency, its role, the rule and its basis."""

    agency: str
    role: str  # "lead", "co_handling" or "not_consented"
    rule: str
    basis: str


@dataclass(frozen=True)
class Prescreen:
    category: str
    lead_agency: str
    co_agencies: tuple[str, ...]
    resolve_days: int
    ack_days: int
    lead_consented: bool
    reasons: list[Reason] = field(default_factory=list)


def _rule_fields(category: str) -> tuple[str, tuple[str, ...], int, int, str]:
    row = db.session.scalar(select(RoutingRule).where(RoutingRule.category == category))
    if row is not None:
        return (row.lead_agency, tuple(row.co_agencies or ()), row.resolve_days, row.ack_days,
                row.policy_basis)
    if category not in DEFAULT_RULES:
        raise KeyError(category)
    lead, co, days, basis = DEFAULT_RULES[category]
    return lead, co, days, ACK_DAYS, basis


def prescreen(category: str, consent: list[str] | tuple[str, ...]) -> Prescreen:
    """Who will handle a request of this category given this consent, and why (no changes)."""
    lead, co, resolve_days, ack_days, basis = _rule_fields(category)
    consented = set(consent)
    rule = f"{category}: lead={lead}; co={','.join(co) or '-'}; {resolve_days}d"
    reasons = [Reason(lead, "lead", rule, basis)]
    joining = []
    for agency in co:
        if agency in consented:
            joining.append(agency)
            reasons.append(Reason(agency, "co_handling", rule, basis))
        else:
            reasons.append(Reason(agency, "not_consented", rule, basis))
    return Prescreen(category=category, lead_agency=lead, co_agencies=tuple(joining),
                     resolve_days=resolve_days, ack_days=ack_days,
                     lead_consented=lead in consented, reasons=reasons)


def default_rule_rows() -> list[dict]:
    """The design's default rules as plain rows (the migration inserts them)."""
    from services.core.audit import utcnow

    return [{"category": category, "lead_agency": lead, "co_agencies": list(co),
             "resolve_days": days, "ack_days": ACK_DAYS, "policy_basis": basis, "updated_at": utcnow()}
            for category, (lead, co, days, basis) in DEFAULT_RULES.items()]


def seed_rules(*, actor_id: int | None = None, overwrite: bool = False) -> list[RoutingRule]:
    """Write the default rules; existing rows are kept unless `overwrite` (an admin's edits win)."""
    rows = []
    for category, (lead, co, days, basis) in DEFAULT_RULES.items():
        row = db.session.scalar(select(RoutingRule).where(RoutingRule.category == category))
        if row is not None and not overwrite:
            rows.append(row)
            continue
        before = _snapshot(row) if row else {}
        if row is None:
            row = RoutingRule(category=category)
            db.session.add(row)
        row.lead_agency, row.co_agencies, row.resolve_days = lead, list(co), days
        row.ack_days, row.policy_basis, row.updated_by = ACK_DAYS, basis, actor_id
        db.session.flush()
        record(action="cases.rule_seeded", object_type="routing_rule", object_id=row.id,
               actor_id=actor_id, before=before, after=_snapshot(row))
        rows.append(row)
    db.session.flush()
    return rows


def _snapshot(row: RoutingRule) -> dict:
    return {"category": row.category, "lead_agency": row.lead_agency,
            "co_agencies": ",".join(row.co_agencies or []), "resolve_days": row.resolve_days,
            "ack_days": row.ack_days, "policy_basis": row.policy_basis}


def update_rule(*, actor_id: int, category: str, lead_agency: str, co_agencies: list[str],
                resolve_days: int, ack_days: int = ACK_DAYS, policy_basis: str) -> RoutingRule:
    """An administrator changes who handles a category; the basis must be cited."""
    from services.core.errors import ValidationFailed

    if lead_agency not in AGENCIES or any(a not in AGENCIES or a == lead_agency
                                          for a in co_agencies):
        message = str(_l("Choose agencies among the union, HRSS and civil affairs; "
                         "the lead cannot also co-handle."))
        raise ValidationFailed(message, fields={"co_agencies": message})
    if not (policy_basis or "").strip():
        raise ValidationFailed(str(_l("Cite the policy basis of the rule.")),
                               fields={"policy_basis": str(_l("Cite the policy basis of the rule."))})
    if not 1 <= resolve_days <= 365 or not 1 <= ack_days <= 30:
        message = str(_l("Deadlines must be between 1 and 365 working days."))
        raise ValidationFailed(message, fields={"resolve_days": message})
    row = db.session.scalar(select(RoutingRule).where(RoutingRule.category == category))
    before = _snapshot(row) if row else {}
    if row is None:
        row = RoutingRule(category=category)
        db.session.add(row)
    row.lead_agency, row.co_agencies, row.resolve_days = lead_agency, list(co_agencies), resolve_days
    row.ack_days, row.policy_basis, row.updated_by = ack_days, policy_basis.strip(), actor_id
    db.session.flush()
    record(action="cases.rule_updated", object_type="routing_rule", object_id=row.id,
           actor_id=actor_id, before=before, after=_snapshot(row))
    db.session.flush()
    return row
