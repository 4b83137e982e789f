"""Demo data for `flask seed-demo --size small`: parks, employers, the three agencies, a service
provider and one account of every role. Idempotent: running it twice changes nothing.

Every demo account has the password DEMO_PASSWORD. Never run this on a production database.
"""
from __future__ import annotations

from sqlalchemy import select

from services.accounts import operations
from services.accounts.models import EmploymentForm, User
from services.extensions import db

DEMO_PASSWORD = "anju-demo-2026"

ORGS = [
    # kind, code, name, park, platform
    ("park", "yc-etdz", "盐城经济技术开发区", None, False),
    ("park", "yc-hitech", "盐城高新技术产业开发区", None, False),
    ("employer", "hengda-auto", "盐城恒达汽车零部件有限公司", "yc-etdz", False),
    ("employer", "ruixin-pv", "瑞鑫光伏科技有限公司", "yc-etdz", False),
    ("employer", "lanfeng-textile", "蓝峰纺织有限公司", "yc-hitech", False),
    ("employer", "suda-delivery", "速达同城配送(盐城)有限公司", None, True),
    ("agency", "union", "盐城市总工会", None, False),
    ("agency", "hrss", "盐城市人力资源和社会保障局", None, False),
    ("agency", "civil", "盐城市民政局", None, False),
    ("provider", "yc-legal-aid", "盐城市职工法律援助中心", None, False),
    ("provider", "yc-union-station", "盐城市总工会户外劳动者服务站", None, False),
]

ACCOUNTS = [
    # username, role, org, name, phone, what they do
    ("worker", "worker", "hengda-auto", "张伟", "13800000001", "factory worker, park yc-etdz"),
    ("rider", "worker", "suda-delivery", "李娜", "13800000002", "delivery rider (platform work)"),
    ("manager", "park_manager", "yc-etdz", "王建国", None, "park manager of yc-etdz"),
    ("union_cw", "caseworker", "union", "赵敏", None, "trade-union caseworker"),
    ("hrss_cw", "caseworker", "hrss", "陈刚", None, "HRSS caseworker"),
    ("civil_cw", "caseworker", "civil", "刘芳", None, "civil-affairs caseworker"),
    ("union_sup", "supervisor", "union", "孙强", None, "trade-union supervisor"),
    ("hrss_sup", "supervisor", "hrss", "周丽", None, "HRSS supervisor"),
    ("civil_sup", "supervisor", "civil", "吴磊", None, "civil-affairs supervisor"),
    ("coordinator", "coordinator", None, "郑华", None, "park coordination office"),
    ("provider", "provider", "yc-legal-aid", "黄静", None, "legal-aid centre staff"),
    ("station", "provider", "yc-union-station", "钱晓梅", None, "rest-station staff (yc-union-station)"),
    ("admin", "admin", None, "系统管理员", None, "administrator"),
]


def seed_small() -> None:
    """Create the small demo set where it is missing (the caller commits)."""
    for kind, code, name, park, platform in ORGS:
        operations.upsert_org(actor_id=None, kind=kind, code=code, name=name, park_code=park,
                              is_platform=platform)
    existing = set(db.session.scalars(select(User.username)))
    for username, role, org, name, phone, _ in ACCOUNTS:
        if username in existing:
            continue
        user = operations.create_user(actor_id=None, role=role, username=username,
                                      password=DEMO_PASSWORD, name=name, phone=phone,
                                      org_code=org)
        if org == "suda-delivery":
            user.employment_form = EmploymentForm.PLATFORM
    db.session.flush()
    from services.bookings.demo import seed_demo as seed_bookings
    from services.dorms.demo import seed_demo as seed_dorms

    seed_dorms()
    seed_bookings()
    from services.cases.demo import seed_demo as seed_cases

    seed_cases()


def accounts_table() -> str:
    existing = set(db.session.scalars(select(User.username)))
    lines = [f"Demo accounts (password for all: {DEMO_PASSWORD})"]
    for username, role, _, _, _, what in ACCOUNTS:
        if username in existing:
            lines.append(f"  {username:<12} {role:<13} {what}")
    return "\n".join(lines)
