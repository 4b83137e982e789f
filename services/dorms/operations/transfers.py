"""Transfers: a worker living in asks to move to another bed, or two workers swap beds.

Decisions written down here:
- Only a worker with an `active` stay may ask; a swap partner is named by their bed label
  ("A-101-B", as printed on the door) and must live (active stay) in the same park. Their name
  is not shown to the requester before they confirm.
- The same hard rules as allocation (gender, smoking, rent, shift, accessibility, reservation,
  capacity) are checked by `offers.fits` for each person in the target room, with the people who
  leave that room taken out of it first. A swap inside one room changes nobody's room-mates, so
  it needs no rule check.
- Approval performs the change in the caller's transaction: old stays end today, new `active`
  stays start today on the other bed, and the request is `completed`. The deposit moves with the
  worker (held on the new stay; the old stay's refund stays empty); no new inspection or key is
  recorded — the manager checks the bed when handing over the new key.
- Requests of the same stays that are still open when a transfer completes are cancelled.
- The partial unique indexes of dorm_stays make two approvals into one bed end in one success
  and one `Conflict` (code `bed_taken`), whichever manager is first.
"""
from __future__ import annotations

from datetime import date

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from services.accounts.models import User
from services.core import notify
from services.core.audit import record, utcnow
from services.core.errors import Conflict, InvalidState, ValidationFailed
from services.dorms.instance import room_instance
from services.dorms.models import (HOLDING_STAY, Bed, Building, Room, RoomStatus, Stay,
                                   StayStatus)
from services.dorms.operations import offers
from services.dorms.transfer_models import (OPEN_TRANSFER, TransferKind, TransferRequest,
                                            TransferStatus)
from services.extensions import db

LINK = "/dorms/transfer"
MAX_ROOMS_CHECKED = 300


def bed_label(bed: Bed) -> str:
    return f"{bed.room.label}-{bed.label}"


def _park_of(stay: Stay) -> int:
    return stay.bed.room.building.park_id


def _reason(text: str | None, *, required: bool) -> str:
    text = (text or "").strip()
    if (required and len(text) < 2) or len(text) > 300:
        message = str(_l("Give a reason (2–300 characters).")) if required else \
            str(_l("The reason is too long (300 characters at most)."))
        raise ValidationFailed(message, fields={"reason": message})
    return text


def active_stay(worker_id: int) -> Stay | None:
    """The worker's stay while living in, or None."""
    return db.session.scalar(select(Stay).where(Stay.worker_id == worker_id,
                                                Stay.status == StayStatus.ACTIVE))


def _requester_stay(worker: User) -> Stay:
    stay = active_stay(worker.id)
    if stay is None:
        raise InvalidState(str(_l("Only a worker living in a dormitory can ask for a transfer.")))
    if _open_request_of(stay.id) is not None:
        raise Conflict(str(_l("You already have an open transfer request.")), code="open_request")
    return stay


def _open_request_of(stay_id: int) -> TransferRequest | None:
    return db.session.scalar(select(TransferRequest).where(
        TransferRequest.from_stay_id == stay_id, TransferRequest.status.in_(OPEN_TRANSFER)))


def _save_new(request: TransferRequest) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        raise Conflict(str(_l("You already have an open transfer request.")),
                       code="open_request") from None


def request_move(*, worker: User, reason: str, wanted_building: str | None = None) -> TransferRequest:
    """The worker asks the park manager for another bed, with a reason and a wished building."""
    stay = _requester_stay(worker)
    reason = _reason(reason, required=True)
    park_id = _park_of(stay)
    building = (wanted_building or "").strip().upper() or None
    if building and db.session.scalar(select(Building.id).where(
            Building.park_id == park_id, Building.code == building)) is None:
        message = str(_l("There is no such building in your park."))
        raise ValidationFailed(message, fields={"wanted_building": message})
    request = TransferRequest(park_id=park_id, worker_id=worker.id, from_stay_id=stay.id,
                              kind=TransferKind.MOVE, status=TransferStatus.REQUESTED,
                              reason=reason, wanted_building=building)
    _save_new(request)
    record(action="dorms.transfer_requested", object_type="transfer", object_id=request.id,
           actor_id=worker.id, after={"kind": "move", "from_stay_id": stay.id, "reason": reason,
                                      "wanted_building": building})
    db.session.flush()
    return request


def _bed_by_label(park_id: int, label: str) -> Bed | None:
    """A bed of the park from its printed label "<building>-<room>-<bed>" (room may hold '-')."""
    parts = (label or "").strip().upper().split("-")
    if len(parts) < 3 or not all(parts):
        return None
    building, room, bed = parts[0], "-".join(parts[1:-1]), parts[-1]
    return db.session.scalar(
        select(Bed).join(Room, Room.id == Bed.room_id).join(Building, Building.id == Room.building_id)
        .where(Building.park_id == park_id, Building.code == building, Room.number == room,
               Bed.label == bed))


def request_swap(*, worker: User, partner_bed: str, reason: str = "") -> TransferRequest:
    """The worker proposes to swap beds with the worker living in `partner_bed` (same park)."""
    stay = _requester_stay(worker)
    reason = _reason(reason, required=False)
    park_id = _park_of(stay)
    bed = _bed_by_label(park_id, partner_bed)
    partner = active_stay_on(bed.id) if bed is not None else None
    if partner is None:
        message = str(_l("Nobody lives in bed %(bed)s in your park. Write it as on the door, "
                         "e.g. A-101-B.", bed=(partner_bed or "").strip()[:20]))
        raise ValidationFailed(message, fields={"partner_bed": message})
    if partner.id == stay.id:
        message = str(_l("That is your own bed."))
        raise ValidationFailed(message, fields={"partner_bed": message})
    request = TransferRequest(park_id=park_id, worker_id=worker.id, from_stay_id=stay.id,
                              kind=TransferKind.SWAP, partner_stay_id=partner.id,
                              status=TransferStatus.REQUESTED, reason=reason)
    _save_new(request)
    record(action="dorms.transfer_requested", object_type="transfer", object_id=request.id,
           actor_id=worker.id, after={"kind": "swap", "from_stay_id": stay.id,
                                      "partner_stay_id": partner.id, "reason": reason})
    notify.send(user_id=partner.worker_id, kind="dorm_swap_proposed",
                title=str(_l("A bed swap is proposed to you")),
                body=str(_l("%(name)s in bed %(bed)s proposes to swap beds with you. Confirm or "
                            "decline it.", name=worker.display_name, bed=bed_label(stay.bed))),
                link=LINK)
    db.session.flush()
    return request


def active_stay_on(bed_id: int) -> Stay | None:
    return db.session.scalar(select(Stay).where(Stay.bed_id == bed_id,
                                                Stay.status == StayStatus.ACTIVE))


def _partner_check(worker: User, request: TransferRequest) -> None:
    if request.kind is not TransferKind.SWAP or request.partner_stay.worker_id != worker.id:
        raise InvalidState(str(_l("This swap is not addressed to you.")))
    if request.status is not TransferStatus.REQUESTED:
        raise InvalidState(str(_l("This request is no longer waiting for your answer.")))
    if request.partner_stay.status is not StayStatus.ACTIVE:
        raise InvalidState(str(_l("Your stay has ended; you cannot swap this bed.")))


def confirm_swap(*, worker: User, request: TransferRequest) -> TransferRequest:
    """The partner agrees to the swap; it now waits for the park manager."""
    _partner_check(worker, request)
    request.status, request.confirmed_at = TransferStatus.CONFIRMED, utcnow()
    record(action="dorms.swap_confirmed", object_type="transfer", object_id=request.id,
           actor_id=worker.id, before={"status": "requested"}, after={"status": "confirmed"})
    notify.send(user_id=request.worker_id, kind="dorm_swap_confirmed",
                title=str(_l("Your bed swap was confirmed")),
                body=str(_l("The park manager will now decide on it.")), link=LINK)
    db.session.flush()
    return request


def decline_swap(*, worker: User, request: TransferRequest) -> TransferRequest:
    """The partner does not want the swap; the request closes."""
    _partner_check(worker, request)
    request.status, request.decided_by, request.decided_at = TransferStatus.REJECTED, worker.id, utcnow()
    record(action="dorms.swap_declined", object_type="transfer", object_id=request.id,
           actor_id=worker.id, before={"status": "requested"}, after={"status": "rejected"})
    notify.send(user_id=request.worker_id, kind="dorm_swap_declined",
                title=str(_l("Your bed swap was declined")), link=LINK)
    db.session.flush()
    return request


def cancel(*, worker: User, request: TransferRequest) -> TransferRequest:
    """The requester withdraws their open request."""
    if request.worker_id != worker.id:
        raise InvalidState(str(_l("This request is not yours.")))
    if not request.is_open:
        raise InvalidState(str(_l("This request is already closed.")))
    before = request.status.value
    request.status = TransferStatus.CANCELLED
    record(action="dorms.transfer_cancelled", object_type="transfer", object_id=request.id,
           actor_id=worker.id, before={"status": before}, after={"status": "cancelled"})
    if request.kind is TransferKind.SWAP:
        notify.send(user_id=request.partner_stay.worker_id, kind="dorm_swap_cancelled",
                    title=str(_l("A proposed bed swap was withdrawn")), link=LINK)
    db.session.flush()
    return request


def _decidable(request: TransferRequest, *, actor_id: int) -> None:
    if not request.is_open:
        raise InvalidState(str(_l("This request is already closed.")))
    actor = db.session.get(User, actor_id)
    if actor is None or actor.org_id != request.park_id:
        raise InvalidState(str(_l("This request is for another park.")))


def reject(*, actor_id: int, request: TransferRequest, reason: str) -> TransferRequest:
    """The park manager turns the request down, saying why."""
    _decidable(request, actor_id=actor_id)
    reason = _reason(reason, required=True)
    before = request.status.value
    request.status, request.decision_note = TransferStatus.REJECTED, reason
    request.decided_by, request.decided_at = actor_id, utcnow()
    record(action="dorms.transfer_rejected", object_type="transfer", object_id=request.id,
           actor_id=actor_id, before={"status": before}, after={"status": "rejected", "reason": reason})
    for worker_id in _people(request):
        notify.send(user_id=worker_id, kind="dorm_transfer_rejected",
                    title=str(_l("Your transfer request was turned down")), body=reason, link=LINK)
    db.session.flush()
    return request


def _people(request: TransferRequest) -> list[int]:
    people = [request.worker_id]
    if request.partner_stay is not None:
        people.append(request.partner_stay.worker_id)
    return people


def room_without(bed: Bed, leaving: list[Stay]) -> dict:
    """The allocator's view of the bed's room, with the leaving people's holds taken out."""
    return room_instance(bed.room, leaving=tuple(stay.id for stay in leaving))


def _fits(stay: Stay, bed: Bed, leaving: list[Stay]) -> bool:
    if stay.application is None:  # without an application nothing says who may live where
        return False
    return offers.fits(bed, stay.application, room=room_without(bed, leaving))


def _check_live(stay: Stay, today: date) -> None:
    if stay.status is not StayStatus.ACTIVE:
        raise InvalidState(str(_l("%(name)s no longer lives in bed %(bed)s.",
                                  name=stay.worker.display_name, bed=bed_label(stay.bed))))
    if stay.start_date and stay.start_date > today:
        raise InvalidState(str(_l("%(name)s moved in with a later date; decide after it.",
                                  name=stay.worker.display_name)))


def _switch(*, actor_id: int, request: TransferRequest, moves: list[tuple[Stay, Bed]]) -> list[Stay]:
    """End each old stay today and start an active stay on its new bed, in this transaction."""
    today = date.today()
    for old, _bed in moves:
        old.status, old.end_date = StayStatus.ENDED, today
        record(action="dorms.stay_ended_by_transfer", object_type="stay", object_id=old.id,
               actor_id=actor_id, before={"status": "active"},
               after={"status": "ended", "end_date": today.isoformat(), "transfer_id": request.id})
    db.session.flush()  # free the old holds first: the unique indexes see one holder at a time
    new_stays = [Stay(worker_id=old.worker_id, bed_id=bed.id, application_id=old.application_id,
                      status=StayStatus.ACTIVE, start_date=today, answered_at=utcnow(),
                      assigned_by=actor_id, assign_reason=f"transfer {request.id}",
                      deposit_fen=old.deposit_fen, checked_in_by=actor_id)
                 for old, bed in moves]
    try:
        with db.session.begin_nested():
            db.session.add_all(new_stays)
            db.session.flush()
    except IntegrityError:
        raise Conflict(str(_l("This bed was just given to someone else.")), code="bed_taken") from None
    for stay, (old, bed) in zip(new_stays, moves):
        record(action="dorms.stay_started_by_transfer", object_type="stay", object_id=stay.id,
               actor_id=actor_id, after={"status": "active", "bed_id": bed.id,
                                         "start_date": today.isoformat(), "from_stay_id": old.id,
                                         "transfer_id": request.id})
        notify.send(user_id=stay.worker_id, kind="dorm_transfer_done",
                    title=str(_l("Your bed has changed")),
                    body=str(_l("From today your bed is %(bed)s. Collect the new key from the park "
                                "office.", bed=bed_label(bed))), link=LINK, channels=("sms",))
    request.status, request.decided_by, request.decided_at = TransferStatus.COMPLETED, actor_id, utcnow()
    _cancel_others(actor_id=actor_id, request=request, stay_ids=[old.id for old, _bed in moves])
    return new_stays


def _cancel_others(*, actor_id: int, request: TransferRequest, stay_ids: list[int]) -> None:
    others = db.session.scalars(select(TransferRequest).where(
        TransferRequest.id != request.id, TransferRequest.status.in_(OPEN_TRANSFER),
        or_(TransferRequest.from_stay_id.in_(stay_ids), TransferRequest.partner_stay_id.in_(stay_ids))))
    for other in others:
        before = other.status.value
        other.status, other.decision_note = TransferStatus.CANCELLED, str(_l("The bed changed."))
        record(action="dorms.transfer_cancelled", object_type="transfer", object_id=other.id,
               actor_id=actor_id, before={"status": before},
               after={"status": "cancelled", "by_transfer_id": request.id})
        notify.send(user_id=other.worker_id, kind="dorm_transfer_cancelled",
                    title=str(_l("Your transfer request was closed because a bed changed")), link=LINK)


def approve_move(*, actor_id: int, request: TransferRequest, target_bed: Bed) -> list[Stay]:
    """The park manager moves the worker to a vacant bed that fits them, from today."""
    _decidable(request, actor_id=actor_id)
    if request.kind is not TransferKind.MOVE:
        raise InvalidState(str(_l("This is not a move request.")))
    old = request.from_stay
    _check_live(old, date.today())
    if target_bed.room.building.park_id != request.park_id:
        raise InvalidState(str(_l("The bed is in another park.")))
    if target_bed.id == old.bed_id:
        message = str(_l("Choose a bed other than the current one."))
        raise ValidationFailed(message, fields={"target_bed_id": message})
    if target_bed.room.status is not RoomStatus.OPEN:
        raise InvalidState(str(_l("The room is not open.")))
    if not offers._bed_is_free(target_bed):
        raise Conflict(str(_l("This bed is occupied or already offered.")), code="bed_taken")
    if not _fits(old, target_bed, [old]):
        raise InvalidState(str(_l("This worker may not take this bed (gender, smoking, rent, "
                                  "shift, accessibility, reservation or capacity).")),
                           code="rule_broken")
    request.target_bed_id = target_bed.id
    new_stays = _switch(actor_id=actor_id, request=request, moves=[(old, target_bed)])
    record(action="dorms.transfer_approved", object_type="transfer", object_id=request.id,
           actor_id=actor_id, before={"status": "requested"},
           after={"status": "completed", "target_bed_id": target_bed.id})
    db.session.flush()
    return new_stays


def approve_swap(*, actor_id: int, request: TransferRequest) -> list[Stay]:
    """The park manager approves a confirmed swap: the two workers exchange beds from today."""
    _decidable(request, actor_id=actor_id)
    if request.kind is not TransferKind.SWAP:
        raise InvalidState(str(_l("This is not a swap request.")))
    if request.status is not TransferStatus.CONFIRMED:
        raise InvalidState(str(_l("Both workers must confirm the swap first.")))
    mine, theirs = request.from_stay, request.partner_stay
    today = date.today()
    _check_live(mine, today)
    _check_live(theirs, today)
    same_room = mine.bed.room_id == theirs.bed.room_id
    if not same_room and not (_fits(mine, theirs.bed, [mine, theirs])
                              and _fits(theirs, mine.bed, [mine, theirs])):
        raise InvalidState(str(_l("The swap breaks a room rule (gender, smoking, rent, shift, "
                                  "accessibility, reservation or capacity).")), code="rule_broken")
    new_stays = _switch(actor_id=actor_id, request=request,
                        moves=[(mine, theirs.bed), (theirs, mine.bed)])
    record(action="dorms.transfer_approved", object_type="transfer", object_id=request.id,
           actor_id=actor_id, before={"status": "confirmed"}, after={"status": "completed"})
    db.session.flush()
    return new_stays


# --- read side for the pages ------------------------------------------------------------------

def fitting_beds(request: TransferRequest, *, limit: int = 200) -> list[Bed]:
    """Vacant beds of open rooms in the park that the mover may take, wished building first."""
    if request.kind is not TransferKind.MOVE or request.from_stay.status is not StayStatus.ACTIVE:
        return []
    held = exists().where(Stay.bed_id == Bed.id, Stay.status.in_(HOLDING_STAY))
    beds = db.session.scalars(
        select(Bed).join(Room, Room.id == Bed.room_id).join(Building, Building.id == Room.building_id)
        .where(Building.park_id == request.park_id, Room.status == RoomStatus.OPEN, ~held)
        .options(selectinload(Bed.room).selectinload(Room.building))
        .order_by((Building.code != (request.wanted_building or "")), Building.code, Room.number,
                  Bed.label)).all()
    verdict: dict[int, bool] = {}
    found: list[Bed] = []
    for bed in beds:
        if bed.room_id not in verdict:
            if len(verdict) >= MAX_ROOMS_CHECKED:
                break
            verdict[bed.room_id] = _fits(request.from_stay, bed, [request.from_stay])
        if verdict[bed.room_id]:
            found.append(bed)
            if len(found) >= limit:
                break
    return found


def open_requests(park_id: int) -> list[TransferRequest]:
    return list(db.session.scalars(
        select(TransferRequest).where(TransferRequest.park_id == park_id,
                                      TransferRequest.status.in_(OPEN_TRANSFER))
        .options(selectinload(TransferRequest.worker),
                 selectinload(TransferRequest.from_stay).selectinload(Stay.bed)
                 .selectinload(Bed.room).selectinload(Room.building),
                 selectinload(TransferRequest.partner_stay).selectinload(Stay.bed)
                 .selectinload(Bed.room).selectinload(Room.building))
        .order_by(TransferRequest.created_at, TransferRequest.id)))


def my_open_request(worker_id: int) -> TransferRequest | None:
    return db.session.scalar(select(TransferRequest).where(
        TransferRequest.worker_id == worker_id, TransferRequest.status.in_(OPEN_TRANSFER)))


def swaps_addressed_to(worker_id: int) -> list[TransferRequest]:
    return list(db.session.scalars(
        select(TransferRequest).join(Stay, Stay.id == TransferRequest.partner_stay_id)
        .where(Stay.worker_id == worker_id, Stay.status == StayStatus.ACTIVE,
               TransferRequest.status == TransferStatus.REQUESTED)
        .order_by(TransferRequest.id)))


def recent_requests(worker_id: int, limit: int = 5) -> list[TransferRequest]:
    return list(db.session.scalars(
        select(TransferRequest).where(TransferRequest.worker_id == worker_id,
                                      TransferRequest.status.notin_(OPEN_TRANSFER))
        .order_by(TransferRequest.id.desc()).limit(limit)))

