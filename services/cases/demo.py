"""Demo aid cases for `flask seed-demo` (small set), filed and worked through the operations so
every page has something real to show: a case being worked with co-handling, one resolved and
waiting for the worker's rating, one bounced twice and waiting for the coordinator, and three
wage-arrears requests against one employer that opened a collective case. Idempotent: nothing is
added once any demo worker has a case. The caller commits.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from services.accounts.models import User
from services.cases.models import Case
from services.cases.operations import handoffs, intake, lifecycle
from services.core.audit import utcnow
from services.extensions import db

ALL = ["union", "hrss", "civil"]


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def seed_demo() -> None:
    staff = {name: _user(name) for name in ("union_cw", "hrss_cw", "civil_cw", "union_sup")}
    workers = {name: _user(name) for name in ("worker", "demo-li", "demo-wang", "demo-zhao",
                                               "demo-chen", "demo-zhou")}
    if None in staff.values() or None in workers.values():
        return
    ids = [w.id for w in workers.values()]
    if db.session.scalar(select(Case.id).where(Case.worker_id.in_(ids)).limit(1)):
        return
    now = utcnow()

    def file(worker, category, text, days_ago, **extra):
        return intake.submit_request(actor=worker, worker=worker, category=category,
                                     description=text, consent=extra.pop("consent", ALL),
                                     now=now - timedelta(days=days_ago), **extra)

    hardship = file(workers["worker"], "hardship", "妻子住院做手术，家里收入不够，想申请困难帮扶。", 3,
                    contact_preference="phone")
    lifecycle.accept_case(actor=staff["union_cw"], case=hardship,
                          now=now - timedelta(days=3, hours=-2))
    lifecycle.start_work(actor=staff["union_cw"], case=hardship)
    referral = hardship.handoffs[0]
    handoffs.accept_handoff(actor=staff["civil_cw"], handoff=referral)
    lifecycle.add_note(actor=staff["union_cw"], case=hardship, worker_visible=True,
                       body="已收到住院证明，正在核实困难职工档案，请保持电话畅通。")

    insurance = file(workers["demo-li"], "social_insurance", "公司从今年3月起没有给我交社保。", 9,
                     employer_name="盐城恒达汽车零部件有限公司", consent=["hrss"])
    lifecycle.accept_case(actor=staff["hrss_cw"], case=insurance,
                          now=now - timedelta(days=9, hours=-3))
    lifecycle.start_work(actor=staff["hrss_cw"], case=insurance)
    lifecycle.resolve(actor=staff["hrss_cw"], case=insurance, outcome="help_given",
                      note="已责令企业补缴3月至今的社会保险费，企业已补缴。",
                      now=now - timedelta(days=1))

    housing = file(workers["demo-wang"], "housing", "孩子上学需要租房，想问有没有公租房。", 2)
    handoffs.return_case(actor=staff["union_cw"], case=housing, to_agency="civil",
                         reason_code="not_our_remit", basis="公租房保障由住房和民政部门受理。")
    handoffs.return_case(actor=staff["civil_cw"], case=housing, to_agency="union",
                         reason_code="not_our_remit", basis="本局负责低保和临时救助，不受理公租房申请。")

    for name, days in (("demo-zhao", 6), ("demo-chen", 4), ("demo-zhou", 1)):
        file(workers[name], "wage_arrears", "十月份的工资到现在还没有发。", days,
             amount_fen=560_000, employer_name="瑞鑫光伏科技有限公司",
             incident_start=(now - timedelta(days=40)).date())
    db.session.flush()
