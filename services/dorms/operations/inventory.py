"""Inventory: park policy, import of buildings/rooms/beds (idempotent upsert), room status."""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from decimal import Decimal

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import func, select

from services.accounts.models import Organisation, OrgKind
from services.core.audit import record
from services.core.errors import Conflict, NotFound, ValidationFailed
from services.core.web import LARGEST_ID
from services.dorms.inventory_file import RoomRow
from services.dorms.models import (HOLDING_STAY, Bed, Building, DormPolicy, Room, RoomGender,
                                   RoomKind, RoomStatus, Stay)
from services.dorms.points import DEFAULT_WEIGHTS
from services.dorms.standard import (DEFAULT_MAX_BEDS_PER_ROOM, DEFAULT_MIN_AREA_PER_PERSON,
                                     compliant_beds)
from services.extensions import db

BED_LABELS = string.ascii_uppercase


def park_by_id(park_id: int) -> Organisation:
    if isinstance(park_id, bool) or not isinstance(park_id, int) or not 1 <= park_id <= LARGEST_ID:
        raise NotFound(str(_l("No such park.")))  # the database refuses to look it up
    park = db.session.get(Organisation, park_id)
    if park is None or park.kind is not OrgKind.PARK:
        raise NotFound(str(_l("No such park.")))
    return park


def _default_policy(park_id: int) -> DormPolicy:
    return DormPolicy(park_id=park_id, min_area_per_person=DEFAULT_MIN_AREA_PER_PERSON,
                      max_beds_per_room=DEFAULT_MAX_BEDS_PER_ROOM,
                      offer_hours=48, mix_shifts=False, admits_gig_workers=True,
                      weights=dict(DEFAULT_WEIGHTS))


def policy_for(park_id: int) -> DormPolicy:
    """The park's policy; the defaults (not saved) when the park has none yet."""
    return db.session.get(DormPolicy, park_id) or _default_policy(park_id)


def ensure_policy(park_id: int) -> DormPolicy:
    """The park's stored policy, saved with the defaults the first time it is changed."""
    policy = db.session.get(DormPolicy, park_id)
    if policy is None:
        policy = _default_policy(park_id)
        db.session.add(policy)
        db.session.flush()
    return policy


def compliant_capacity(room: Room, policy: DormPolicy) -> int:
    """Beds the room may hold under the dormitory standard (area per person, beds per room)."""
    return compliant_beds(area_m2=room.area_m2, capacity=room.capacity,
                          min_area_per_person=policy.min_area_per_person,
                          max_beds_per_room=policy.max_beds_per_room)


def update_policy(*, actor_id: int, park_id: int, min_area_per_person: Decimal,
                  max_beds_per_room: int, offer_hours: int, mix_shifts: bool,
                  admits_gig_workers: bool, weights: dict[str, float]) -> DormPolicy:
    """Change a park's dormitory rules and points weights."""
    policy = ensure_policy(park_id)
    if not (Decimal("1") <= Decimal(min_area_per_person) <= Decimal("50")):
        raise ValidationFailed(str(_l("Area per person must be 1–50 m².")),
                               fields={"min_area_per_person": str(_l("Area per person must be 1–50 m²."))})
    if not 1 <= max_beds_per_room <= 20 or not 1 <= offer_hours <= 720:
        raise ValidationFailed(str(_l("Beds per room 1–20; offer time 1–720 hours.")))
    unknown = set(weights) - set(DEFAULT_WEIGHTS)
    if unknown or any(not 0 <= float(v) <= 1000 for v in weights.values()):
        raise ValidationFailed(str(_l("Weights must be between 0 and 1000.")))
    before = _policy_snapshot(policy)
    policy.min_area_per_person = Decimal(min_area_per_person)
    policy.max_beds_per_room = max_beds_per_room
    policy.offer_hours = offer_hours
    policy.mix_shifts = mix_shifts
    policy.admits_gig_workers = admits_gig_workers
    policy.weights = {k: float(weights.get(k, DEFAULT_WEIGHTS[k])) for k in DEFAULT_WEIGHTS}
    record(action="dorms.policy_updated", object_type="park", object_id=park_id,
           actor_id=actor_id, before=before, after=_policy_snapshot(policy))
    db.session.flush()
    return policy


def _policy_snapshot(policy: DormPolicy) -> dict:
    return {"min_area_per_person": str(policy.min_area_per_person),
            "max_beds_per_room": policy.max_beds_per_room, "offer_hours": policy.offer_hours,
            "mix_shifts": policy.mix_shifts, "admits_gig_workers": policy.admits_gig_workers,
            "weights": str(sorted((policy.weights or {}).items()))}


@dataclass
class ImportReport:
    created_rooms: int = 0
    updated_rooms: int = 0
    unchanged_rooms: int = 0
    created_beds: int = 0
    removed_beds: int = 0
    created_buildings: int = 0
    problems: list[str] = field(default_factory=list)


def _room_values(row: RoomRow, reserved_ids: dict[str, int]) -> dict:
    return {
        "floor": row.floor, "gender": RoomGender(row.gender), "capacity": row.capacity,
        "kind": RoomKind(row.kind), "smoking": row.smoking, "area_m2": row.area_m2,
        "rent_fen": row.rent_fen, "reserved_for_id": reserved_ids.get(row.reserved_for or ""),
        "status": RoomStatus(row.status),
    }


def import_inventory(*, actor_id: int, park_id: int, rows: list[RoomRow]) -> ImportReport:
    """Upsert buildings, rooms and beds by park + building + room number (re-import is harmless)."""
    park_by_id(park_id)
    ensure_policy(park_id)
    report = ImportReport()
    reserved_ids = dict(db.session.execute(
        select(Organisation.code, Organisation.id).where(Organisation.kind == OrgKind.EMPLOYER)
    ).all())
    buildings = {b.code: b for b in db.session.scalars(select(Building).where(Building.park_id == park_id))}
    rooms = {(r.building.code, r.number): r for r in db.session.scalars(
        select(Room).join(Building).where(Building.park_id == park_id))}
    for row in rows:
        building = buildings.get(row.building)
        if building is None:
            building = buildings[row.building] = Building(park_id=park_id, code=row.building,
                                                          name=row.building)
            db.session.add(building)
            db.session.flush()
            report.created_buildings += 1
        values = _room_values(row, reserved_ids)
        room = rooms.get((row.building, row.room))
        if room is None:
            room = Room(building_id=building.id, number=row.room, **values)
            db.session.add(room)
            db.session.flush()
            report.created_rooms += 1
            record(action="dorms.room_created", object_type="room", object_id=room.id,
                   actor_id=actor_id, after={k: v for k, v in values.items()})
        else:
            before = {k: getattr(room, k) for k in values}
            changed = {k: v for k, v in values.items() if _differs(before[k], v)}
            if not changed:
                report.unchanged_rooms += 1
            else:
                if "capacity" in changed and changed["capacity"] < room.capacity:
                    _ensure_free_beds_beyond(room, changed["capacity"])
                for key, value in changed.items():
                    setattr(room, key, value)
                report.updated_rooms += 1
                record(action="dorms.room_updated", object_type="room", object_id=room.id,
                       actor_id=actor_id, before={k: before[k] for k in changed}, after=changed)
        created, removed = _sync_beds(room)
        report.created_beds += created
        report.removed_beds += removed
    db.session.flush()
    return report


def _differs(old, new) -> bool:
    if isinstance(new, Decimal):
        return Decimal(str(old)) != new
    return old != new


def _ensure_free_beds_beyond(room: Room, capacity: int) -> None:
    labels = list(BED_LABELS[capacity:room.capacity])
    held = db.session.scalar(
        select(func.count(Stay.id)).join(Bed).where(
            Bed.room_id == room.id, Bed.label.in_(labels), Stay.status.in_(HOLDING_STAY))
    )
    if held:
        raise Conflict(str(_l("Room %(room)s: beds to remove are occupied or offered.",
                              room=room.number)), code="bed_taken")


def _sync_beds(room: Room) -> tuple[int, int]:
    existing = {bed.label: bed for bed in db.session.scalars(select(Bed).where(Bed.room_id == room.id))}
    wanted = set(BED_LABELS[:room.capacity])
    created = removed = 0
    for label in sorted(wanted - set(existing)):
        db.session.add(Bed(room_id=room.id, label=label))
        created += 1
    for label in sorted(set(existing) - wanted):
        used = db.session.scalar(select(func.count(Stay.id)).where(Stay.bed_id == existing[label].id))
        if used:
            continue  # history refers to it; it simply stops being offered (beyond capacity)
        db.session.delete(existing[label])
        removed += 1
    return created, removed


def set_room_status(*, actor_id: int, room: Room, status: RoomStatus) -> Room:
    """Open a room, or take it out of use for maintenance or closure."""
    before = room.status
    if before is status:
        return room
    room.status = status
    record(action="dorms.room_status", object_type="room", object_id=room.id, actor_id=actor_id,
           before={"status": before}, after={"status": status})
    db.session.flush()
    return room
