"""What the accounts domain holds about a person, for their data export."""
from __future__ import annotations

from sqlalchemy import or_, select

from services.accounts.models import User
from services.core.audit import AccessLogEntry, AuditEvent
from services.core.exports import register_section
from services.core.notify import Notification
from services.extensions import db


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def account_section(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role.value,
        "name": user.name,
        "phone": user.phone,
        "national_id": user.national_id,
        "employment_form": user.employment_form.value if user.employment_form else None,
        "organisation": {"code": user.org.code, "name": user.org.name} if user.org else None,
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
        "password_changed_at": _iso(user.password_changed_at),
    }


def notifications_section(user: User) -> list[dict]:
    rows = db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id))
    return [{"at": _iso(n.created_at), "title": n.title, "body": n.body, "read_at": _iso(n.read_at)}
            for n in rows]


def activity_section(user: User) -> dict:
    """Audit events about the person's account or done by them, and who looked at their data."""
    events = db.session.scalars(
        select(AuditEvent).where(or_(
            AuditEvent.actor_id == user.id,
            (AuditEvent.object_type == "user") & (AuditEvent.object_id == str(user.id)),
        )).order_by(AuditEvent.id)
    )
    reads = db.session.scalars(
        select(AccessLogEntry).where(AccessLogEntry.object_type == "user",
                                     AccessLogEntry.object_id == str(user.id))
        .order_by(AccessLogEntry.id)
    )
    return {
        "events": [{"at": _iso(e.at), "action": e.action, "object": f"{e.object_type}:{e.object_id}",
                    "changes": e.changes} for e in events],
        "reads_of_my_data": [{"at": _iso(r.at), "action": r.action, "by_user": r.actor_id}
                             for r in reads],
    }


register_section("account", account_section)
register_section("notifications", notifications_section)
register_section("activity", activity_section)
