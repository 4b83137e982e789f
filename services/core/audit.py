"""Audit trail: every state change writes an AuditEvent in the same transaction.

Reads of sensitive objects (a case, a full ID number) by anyone other than their owner go to the
access log (AccessLogEntry). Neither ever stores a password, a token or a full ID/phone number:
callers pass field names for sensitive values and `record` masks them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.extensions import db

SENSITIVE_FIELDS = frozenset(
    {"password", "password_hash", "token", "phone", "phone_enc", "national_id", "national_id_enc"}
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class AccessLogEntry(db.Model):
    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))


def _client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value  # enum
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """Fields whose value changed, as {field: [before, after]}; sensitive values are masked."""
    changed = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        if field in SENSITIVE_FIELDS:
            changed[field] = ["***" if old is not None else None, "***" if new is not None else None]
        else:
            changed[field] = [_jsonable(old), _jsonable(new)]
    return changed


def _event_values(*, action: str, object_type: str, object_id: Any, actor_id: int | None,
                  before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    return {"action": action, "object_type": object_type, "object_id": str(object_id),
            "actor_id": actor_id, "changes": diff(before or {}, after or {}), "ip": _client_ip()}


def record(
    *,
    action: str,
    object_type: str,
    object_id: Any,
    actor_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller's commit makes it durable)."""
    event = AuditEvent(**_event_values(action=action, object_type=object_type,
                                       object_id=object_id, actor_id=actor_id, before=before,
                                       after=after))
    db.session.add(event)
    return event


_INSERT_EVENT = AuditEvent.__table__.insert().returning(AuditEvent.__table__.c.id)


def insert_event(*, action: str, object_type: str, object_id: Any, actor_id: int | None,
                 before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None) -> int:
    """Like `record`, but the row is written at once on the session's connection, past the
    unit of work (for a hot path that would otherwise flush for it); its id comes back."""
    values = _event_values(action=action, object_type=object_type, object_id=object_id,
                           actor_id=actor_id, before=before, after=after)
    values["at"] = utcnow()
    return db.session.connection().scalar(_INSERT_EVENT, values)


def log_access(*, action: str, object_type: str, object_id: Any, actor_id: int | None) -> None:
    """Write a read of a sensitive object to the access log (same transaction as the request)."""
    db.session.add(
        AccessLogEntry(
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            actor_id=actor_id,
            ip=_client_ip(),
        )
    )
