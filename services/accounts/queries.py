"""Read-side helpers for account pages and the API."""
from __future__ import annotations

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select

from services.accounts.models import Organisation, OrgKind, User
from services.core.access import Role
from services.core.notify import Notification
from services.core.pagination import Page, paginate
from services.extensions import db


def employer_choices() -> list[tuple]:
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.kind == OrgKind.EMPLOYER)
        .order_by(Organisation.name)
    )
    return [(None, _l("— none / not listed —"))] + [(row.id, row.name) for row in rows]


def org_choices(*kinds: OrgKind, blank: str | None = None) -> list[tuple[str, str]]:
    query = select(Organisation.code, Organisation.name, Organisation.kind).order_by(
        Organisation.kind, Organisation.name
    )
    if kinds:
        query = query.where(Organisation.kind.in_(kinds))
    choices = [("", blank)] if blank is not None else []
    return choices + [(row.code, f"{row.name} ({row.code})") for row in db.session.execute(query)]


def parks() -> list[Organisation]:
    return list(db.session.scalars(
        select(Organisation).where(Organisation.kind == OrgKind.PARK).order_by(Organisation.code)
    ))


def users_page(*, search: str = "", role: str = "", page=1, per_page=20) -> Page:
    query: Select = select(User).order_by(User.id)
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    search = search.strip().lower()[:40]
    if search:
        like = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(or_(User.username.like(like), func.lower(User.name).like(like)))
    return paginate(query, page=page, per_page=per_page)


def orgs_page(*, kind: str = "", page=1, per_page=50) -> Page:
    query: Select = select(Organisation).order_by(Organisation.kind, Organisation.code)
    if kind in {k.value for k in OrgKind}:
        query = query.where(Organisation.kind == OrgKind(kind))
    return paginate(query, page=page, per_page=per_page)


def role_counts() -> dict[str, int]:
    rows = db.session.execute(select(User.role, func.count(User.id)).group_by(User.role))
    return {role.value: count for role, count in rows}


def org_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(Organisation.kind, func.count(Organisation.id)).group_by(Organisation.kind)
    )
    return {kind.value: count for kind, count in rows}


def notifications_page(*, user_id: int, page=1) -> Page:
    query = select(Notification).where(Notification.user_id == user_id).order_by(
        Notification.created_at.desc(), Notification.id.desc()
    )
    return paginate(query, page=page, per_page=20)

