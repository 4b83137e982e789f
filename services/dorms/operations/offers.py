"""Offers and hand assignment: accept, decline, expiry (with cascade), a manager's assignment.

Every hold on a bed is a stay row; the partial unique indexes on dorm_stays (one holding stay
per bed, one per worker) make two simultaneous assignments of one bed end in one success and
one conflict, whichever process or database session they come from.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.accounts.models import User
from services.core import notify
from services.core.audit import record, utcnow
from services.core.errors import Conflict, InvalidState, ValidationFailed
from services.dorms import allocator
from services.dorms.instance import applicant_entry, room_instance
from services.dorms.models import (HOLDING_STAY, QUEUED_APPLICATION, ApplicationStatus, Bed,
                                   DormApplication, RoomStatus, Stay, StayStatus)
from services.dorms.operations.inventory import policy_for
from services.extensions import db


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def accept_offer(*, worker: User, stay: Stay) -> Stay:
    """The worker accepts the bed offered to them; the bed stays theirs (reserved)."""
    if stay.worker_id != worker.id:
        raise InvalidState(str(_l("This offer is not yours.")))
    if stay.status is not StayStatus.OFFERED:
        raise InvalidState(str(_l("This offer is no longer open.")))
    if _as_utc(stay.offer_expires_at) <= utcnow():
        raise InvalidState(str(_l("This offer has expired.")))
    stay.status, stay.answered_at = StayStatus.RESERVED, utcnow()
    if stay.application is not None:
        stay.application.status = ApplicationStatus.ACCEPTED
    record(action="dorms.offer_accepted", object_type="stay", object_id=stay.id,
           actor_id=worker.id, before={"status": "offered"}, after={"status": "reserved"})
    db.session.flush()
    return stay


def decline_offer(*, worker: User, stay: Stay) -> Stay:
    """The worker declines; the bed goes to the next eligible applicant."""
    if stay.worker_id != worker.id:
        raise InvalidState(str(_l("This offer is not yours.")))
    if stay.status is not StayStatus.OFFERED:
        raise InvalidState(str(_l("This offer is no longer open.")))
    stay.status, stay.answered_at = StayStatus.DECLINED, utcnow()
    if stay.application is not None:
        stay.application.status = ApplicationStatus.DECLINED
    record(action="dorms.offer_declined", object_type="stay", object_id=stay.id,
           actor_id=worker.id, before={"status": "offered"}, after={"status": "declined"})
    db.session.flush()
    cascade(bed=stay.bed, actor_id=None)
    return stay


def expire_offers(*, now: datetime | None = None) -> list[Stay]:
    """Offers past their time: the bed is released, the application queues again once, then closes."""
    now = now or utcnow()
    expired = list(db.session.scalars(select(Stay).where(
        Stay.status == StayStatus.OFFERED, Stay.offer_expires_at <= now).order_by(Stay.id)))
    for stay in expired:
        stay.status = StayStatus.EXPIRED
        app = stay.application
        if app is not None:
            app.expired_offers += 1
            app.status = (ApplicationStatus.WAITLISTED if app.expired_offers <= 1
                          else ApplicationStatus.EXPIRED)
            app.reason_code = "offer_expired"
        record(action="dorms.offer_expired", object_type="stay", object_id=stay.id, actor_id=None,
               before={"status": "offered"}, after={"status": "expired"})
        notify.send(user_id=stay.worker_id, kind="dorm_offer_expired",
                    title=str(_l("Your bed offer expired")),
                    body=str(_l("You are back in the queue.")) if app and app.status is ApplicationStatus.WAITLISTED
                    else str(_l("Your application is closed; you may apply again.")))
    db.session.flush()
    for stay in expired:
        cascade(bed=stay.bed, actor_id=None)
    return expired


def _bed_is_free(bed: Bed) -> bool:
    return db.session.scalar(select(Stay.id).where(Stay.bed_id == bed.id,
                                                   Stay.status.in_(HOLDING_STAY))) is None


def fits(bed: Bed, app: DormApplication, *, room: dict | None = None) -> bool:
    """Whether the hard rules let this applicant take a bed in this bed's room now."""
    policy = policy_for(bed.room.building.park_id)
    instance = {"policy": {"mix_shifts": policy.mix_shifts, "lottery_seed": "fit"},
                "rooms": [room or room_instance(bed.room)], "applicants": [applicant_entry(app)]}
    return bool(allocator.solve(instance)["assignments"])


def _offer(*, bed: Bed, app: DormApplication, actor_id: int | None, reason: str | None) -> Stay:
    hours = policy_for(bed.room.building.park_id).offer_hours
    stay = Stay(worker_id=app.worker_id, bed_id=bed.id, application_id=app.id,
                status=StayStatus.OFFERED, offer_expires_at=utcnow() + timedelta(hours=hours),
                assigned_by=actor_id, assign_reason=reason)
    try:
        with db.session.begin_nested():
            db.session.add(stay)
            db.session.flush()
    except IntegrityError:
        raise Conflict(str(_l("This bed was just given to someone else.")), code="bed_taken") from None
    app.status, app.reason_code, app.reason_detail = ApplicationStatus.OFFERED, "placed", {"room": str(bed.room_id)}
    notify.send(user_id=app.worker_id, kind="dorm_offer", title=str(_l("You have a bed offer")),
                body=str(_l("Please accept or decline before the offer expires.")),
                link=f"/dorms/applications/{app.id}", channels=("sms",))
    return stay


def assign_bed(*, actor_id: int, bed: Bed, application: DormApplication, reason: str) -> Stay:
    """A manager offers this bed to this applicant by hand, under the same hard rules."""
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 300:
        raise ValidationFailed(str(_l("Give a reason (2–300 characters).")),
                               fields={"reason": str(_l("Give a reason (2–300 characters)."))})
    if application.park_id != bed.room.building.park_id:
        raise InvalidState(str(_l("The application is for another park.")))
    if application.status not in QUEUED_APPLICATION:
        raise InvalidState(str(_l("Only a waiting application can get a bed.")))
    if bed.room.status is not RoomStatus.OPEN:
        raise InvalidState(str(_l("The room is not open.")))
    if not _bed_is_free(bed):
        raise Conflict(str(_l("This bed is occupied or already offered.")), code="bed_taken")
    if not fits(bed, application):
        raise InvalidState(str(_l("This applicant may not take this bed (gender, smoking, rent, "
                                  "shift, accessibility, reservation or capacity).")),
                           code="rule_broken")
    stay = _offer(bed=bed, app=application, actor_id=actor_id, reason=reason)
    record(action="dorms.bed_assigned", object_type="stay", object_id=stay.id, actor_id=actor_id,
           after={"bed_id": bed.id, "application_id": application.id, "reason": reason})
    db.session.flush()
    return stay


def cascade(*, bed: Bed, actor_id: int | None) -> Stay | None:
    """Offer a released bed to the best-ranked waiting applicant it fits, if any."""
    if bed.room.status is not RoomStatus.OPEN or not _bed_is_free(bed):
        return None
    waiting = db.session.scalars(select(DormApplication).where(
        DormApplication.park_id == bed.room.building.park_id,
        DormApplication.status.in_(QUEUED_APPLICATION), DormApplication.couple_with_id.is_(None))
        .order_by(DormApplication.points.desc(), DormApplication.lottery))
    room = room_instance(bed.room)
    for app in waiting:
        if fits(bed, app, room=room):
            stay = _offer(bed=bed, app=app, actor_id=actor_id, reason="cascade")
            record(action="dorms.offer_cascaded", object_type="stay", object_id=stay.id,
                   actor_id=actor_id, after={"bed_id": bed.id, "application_id": app.id})
            db.session.flush()
            return stay
    return None
