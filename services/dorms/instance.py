"""The allocation engine's view of the database: rooms with their occupants, and applicants.

Allocation runs, hand assignment, the cascade of a freed bed and transfers all ask the engine;
they build its input here, so every one of them sees occupants the same way.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from services.accounts.models import Organisation, User
from services.dorms.models import (HOLDING_STAY, Bed, Building, DormApplication, DormPolicy, Room,
                                   Stay)
from services.dorms.operations.inventory import compliant_capacity, policy_for
from services.extensions import db


def holds(*conditions) -> list:
    """Holding stays (offered, reserved, active) with what the engine needs of their people."""
    return db.session.execute(
        select(Stay.id, Stay.bed_id, Bed.room_id, DormApplication.gender, DormApplication.shift,
               Organisation.code.label("employer"))
        .join(Bed, Bed.id == Stay.bed_id).join(Room, Room.id == Bed.room_id)
        .join(Building, Building.id == Room.building_id)
        .outerjoin(DormApplication, DormApplication.id == Stay.application_id)
        .join(User, User.id == Stay.worker_id).outerjoin(Organisation, Organisation.id == User.org_id)
        .where(Stay.status.in_(HOLDING_STAY), *conditions)).all()


def occupants_by_room(rows: list) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[row.room_id].append(row)
    return grouped


def _occupant(row, room: Room) -> dict:
    # Someone who moved in before the platform has no application: they have the room's gender.
    default = room.gender.value if room.gender.value in ("M", "F") else "M"
    return {"gender": row.gender or default, "shift": row.shift.value if row.shift else "day",
            "employer": row.employer}


def room_entry(room: Room, policy: DormPolicy, occupants: list, free_beds: int | None = None) -> dict:
    """The engine's room: never more new people than compliant beds (or free beds, when known)."""
    capacity = compliant_capacity(room, policy)
    if free_beds is not None:
        capacity = min(capacity, len(occupants) + free_beds)
    return {"id": str(room.id), "building": room.building.code, "gender": room.gender.value,
            "capacity": max(len(occupants), capacity), "kind": room.kind.value,
            "smoking": room.smoking, "rent_fen": room.rent_fen,
            "reserved_for": room.reserved_for.code if room.reserved_for else None,
            "occupants": [_occupant(row, room) for row in occupants]}


def room_instance(room: Room, *, leaving: tuple[int, ...] = ()) -> dict:
    """One room as the engine sees it now, without the holds of the stays in `leaving`."""
    rows = [row for row in holds(Bed.room_id == room.id) if row.id not in leaving]
    return room_entry(room, policy_for(room.building.park_id), rows)


def applicant_entry(app: DormApplication, *, group: str | None = None, couple: bool = False) -> dict:
    return {"id": str(app.id), "gender": app.gender, "shift": app.shift.value,
            "employer": app.worker.org.code if app.worker.org else None, "smoker": app.smoker,
            "needs_accessible": app.needs_accessible, "max_rent_fen": app.max_rent_fen,
            "points": app.points, "lottery": app.lottery,
            "preferred_buildings": list(app.preferred_buildings or []), "group": group,
            "couple": couple}
