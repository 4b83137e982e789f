"""Notifications: an in-app inbox, plus SMS/e-mail through one adapter interface.

`send()` writes the inbox row in the caller's transaction and queues the outside delivery;
deliveries leave only after the transaction commits (and are dropped if it rolls back).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask import current_app
from sqlalchemy import DateTime, ForeignKey, Index, String, Text, event, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.core import cache
from services.core.audit import utcnow
from services.extensions import db

log = logging.getLogger("anju.notify")
_PENDING = "anju_pending_deliveries"


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Delivery:
    user_id: int
    channel: str  # "sms" or "email"
    title: str
    body: str


class Adapter(Protocol):
    def deliver(self, delivery: Delivery) -> None: ...


class LogAdapter:
    """Writes outgoing messages to the log: the default until a gateway is configured."""

    def deliver(self, delivery: Delivery) -> None:
        log.info("notification user=%s channel=%s title=%r", delivery.user_id, delivery.channel,
                 delivery.title)


class MemoryAdapter:
    """Keeps deliveries in a list (tests, and a dry run of a gateway)."""

    def __init__(self) -> None:
        self.sent: list[Delivery] = []

    def deliver(self, delivery: Delivery) -> None:
        self.sent.append(delivery)


def adapter() -> Adapter:
    chosen = current_app.extensions.get("anju_notify_adapter")
    if chosen is None:
        chosen = MemoryAdapter() if current_app.config["NOTIFY_ADAPTER"] == "memory" else LogAdapter()
        current_app.extensions["anju_notify_adapter"] = chosen
    return chosen


def send(
    *, user_id: int, kind: str, title: str, body: str = "", link: str | None = None,
    channels: tuple[str, ...] = (),
) -> Notification:
    """Put a message in the user's inbox; outside channels go out after commit."""
    note = Notification(user_id=user_id, kind=kind, title=title[:200], body=body, link=link)
    db.session.add(note)
    cache.touch(inbox_namespace(user_id))
    pending = db.session.info.setdefault(_PENDING, [])
    pending.extend(Delivery(user_id, channel, title, body) for channel in channels)
    return note


@dataclass(frozen=True)
class NoteRow:
    """What lists show of a notification (plain data, safe to cache)."""
    id: int
    created_at: datetime
    kind: str
    title: str
    body: str
    link: str | None
    read_at: datetime | None


@dataclass(frozen=True)
class Inbox:
    unread: int
    recent: tuple[NoteRow, ...]


RECENT = 5
_NOTE_COLUMNS = (Notification.id, Notification.created_at, Notification.kind, Notification.title,
                 Notification.body, Notification.link, Notification.read_at)


def inbox_namespace(user_id: int) -> str:
    return f"user:{user_id}:inbox"


def _read_inbox(user_id: int) -> Inbox:
    unread = (select(func.count(Notification.id))
              .where(Notification.user_id == user_id, Notification.read_at.is_(None))
              .scalar_subquery())
    rows = db.session.execute(
        select(*_NOTE_COLUMNS, unread).where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(RECENT)
    ).all()
    return Inbox(unread=rows[0][-1] if rows else 0,
                 recent=tuple(NoteRow(*row[:-1]) for row in rows))


def inbox(user_id: int) -> Inbox:
    """The unread count (every page's header) and the latest messages (the home page), in one
    statement, cached until the user's inbox changes (`send`, `mark_read`)."""
    namespace = inbox_namespace(user_id)
    return cache.cached(namespace, lambda: _read_inbox(user_id), depends_on=(namespace,))


def unread_count(user_id: int) -> int:
    return inbox(user_id).unread


def mark_read(*, user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or all) of the user's notifications read; returns how many changed."""
    query = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    cache.touch(inbox_namespace(user_id))
    return db.session.execute(query.values(read_at=utcnow())).rowcount


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    target = adapter()
    for delivery in pending:
        try:
            target.deliver(delivery)
        except Exception:  # a gateway failure must not undo the committed change
            log.exception("notification delivery failed user=%s", delivery.user_id)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
