"""Transfer requests: a worker living in asks to move to another bed, or two workers swap beds.

A `move` goes requested → (manager) completed or rejected; a `swap` goes requested → (partner)
confirmed → (manager) completed or rejected. The requester may cancel while it is open, the
partner may decline (→ rejected). A manager's approval performs the change at once (old stays
end today, new active stays start today), so an approved request is recorded as `completed`;
`approved` is kept in the vocabulary for an approval with a later move date, which is not built.

One open request per stay is a partial unique index, like the holding-stay indexes of dorm_stays.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.accounts.models import Organisation, User
from services.core.audit import utcnow
from services.core.types import str_enum
from services.dorms.models import Bed, Stay
from services.extensions import db


class TransferKind(str, enum.Enum):
    MOVE = "move"  # ask the manager for another bed
    SWAP = "swap"  # two workers exchange beds; both confirm, then the manager approves


class TransferStatus(str, enum.Enum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"  # swap: the partner agreed
    APPROVED = "approved"  # reserved for an approval with a later move date (not used yet)
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


OPEN_TRANSFER = (TransferStatus.REQUESTED, TransferStatus.CONFIRMED, TransferStatus.APPROVED)
_OPEN_TRANSFER_SQL = "status IN ('requested', 'confirmed', 'approved')"


class TransferRequest(db.Model):
    """A worker's request to move to another bed or to swap beds with another worker."""

    __tablename__ = "dorm_transfer_requests"
    __table_args__ = (
        Index("uq_dorm_transfer_requests_open_per_stay", "from_stay_id", unique=True,
              sqlite_where=text(_OPEN_TRANSFER_SQL), postgresql_where=text(_OPEN_TRANSFER_SQL)),
        Index("ix_dorm_transfer_requests_park_status", "park_id", "status"),
        CheckConstraint("(kind = 'swap') = (partner_stay_id IS NOT NULL)", name="partner_iff_swap"),
        CheckConstraint("partner_stay_id IS NULL OR partner_stay_id <> from_stay_id",
                        name="partner_not_self"),
        CheckConstraint("kind = 'move' OR (target_bed_id IS NULL AND wanted_building IS NULL)",
                        name="target_only_for_move"),
        CheckConstraint("kind = 'swap' OR status <> 'confirmed'", name="confirmed_only_for_swap"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    from_stay_id: Mapped[int] = mapped_column(ForeignKey("dorm_stays.id"))
    kind: Mapped[TransferKind] = mapped_column(str_enum(TransferKind, length=8))
    partner_stay_id: Mapped[int | None] = mapped_column(ForeignKey("dorm_stays.id"), index=True)
    status: Mapped[TransferStatus] = mapped_column(str_enum(TransferStatus, length=16),
                                                   default=TransferStatus.REQUESTED)
    reason: Mapped[str] = mapped_column(String(300), default="")
    wanted_building: Mapped[str | None] = mapped_column(String(20))
    target_bed_id: Mapped[int | None] = mapped_column(ForeignKey("dorm_beds.id"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    park: Mapped[Organisation] = relationship()
    worker: Mapped[User] = relationship(foreign_keys=[worker_id])
    from_stay: Mapped[Stay] = relationship(foreign_keys=[from_stay_id])
    partner_stay: Mapped[Stay | None] = relationship(foreign_keys=[partner_stay_id])
    target_bed: Mapped[Bed | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TRANSFER
