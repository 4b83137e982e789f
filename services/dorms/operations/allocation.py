"""Allocation runs: the park's data → the engine's instance → a stored run → offers on commit.

A dry run stores the engine's answer for the preview. A commit runs the engine again on the
current data (same input, same seed, same engine → same answer) and turns each placement into an
offer: a stay in status `offered` holding a free bed of the room for the park's offer time.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from services.core import notify
from services.core.audit import record, utcnow
from services.core.errors import Conflict
from services.dorms import allocator
from services.dorms.models import (QUEUED_APPLICATION, AllocationRun,
                                   ApplicationStatus, Building, DormApplication, Room,
                                   RoomStatus, Stay, StayStatus)
from services.dorms.instance import applicant_entry, holds, occupants_by_room, room_entry
from services.dorms.operations.applications import current_seed, refresh_all_points
from services.dorms.operations.inventory import compliant_capacity, park_by_id, policy_for
from services.extensions import db


def _pairs(waiting: list[DormApplication]) -> tuple[set[int], set[int]]:
    """Applications forming complete couples, and those waiting for their spouse to apply."""
    by_worker = {a.worker_id: a for a in waiting}
    complete, incomplete = set(), set()
    for app in waiting:
        if app.couple_with_id is None:
            continue
        partner = by_worker.get(app.couple_with_id)
        if partner is not None and partner.couple_with_id == app.worker_id and partner.gender != app.gender:
            complete.add(app.id)
        else:
            incomplete.add(app.id)
    return complete, incomplete


def build_instance(park_id: int) -> tuple[dict, dict[str, list[int]], list[DormApplication]]:
    """The engine instance for a park, the free beds per room id, and applications left out."""
    policy = policy_for(park_id)
    rooms = list(db.session.scalars(
        select(Room).join(Building).where(Building.park_id == park_id, Room.status == RoomStatus.OPEN)
        .options(selectinload(Room.beds), selectinload(Room.building), selectinload(Room.reserved_for))
        .order_by(Room.id)))
    held = holds(Building.park_id == park_id)
    occupied_beds = {row.bed_id for row in held}
    occupants = occupants_by_room(held)
    instance_rooms, free_beds = [], {}
    for room in rooms:
        labels = {chr(ord("A") + i) for i in range(compliant_capacity(room, policy))}
        free = [bed.id for bed in room.beds if bed.id not in occupied_beds and bed.label in labels]
        free_beds[str(room.id)] = free
        instance_rooms.append(room_entry(room, policy, occupants.get(room.id, []), len(free)))
    waiting = list(db.session.scalars(
        select(DormApplication).where(DormApplication.park_id == park_id,
                                      DormApplication.status.in_(QUEUED_APPLICATION))
        .options(selectinload(DormApplication.worker)).order_by(DormApplication.id)))
    complete, incomplete = _pairs(waiting)
    applicants, left_out = [], []
    for app in waiting:
        if app.id in incomplete:
            left_out.append(app)
            continue
        applicants.append(applicant_entry(app, group=app.group_code, couple=app.id in complete))
    instance = {"policy": {"mix_shifts": policy.mix_shifts, "lottery_seed": current_seed(park_id)},
                "rooms": instance_rooms, "applicants": applicants}
    return instance, free_beds, left_out


def instance_hash(instance: dict) -> str:
    return hashlib.sha256(json.dumps(instance, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _summary(instance: dict, result: dict, left_out: list[DormApplication]) -> dict:
    rooms = {r["id"]: r for r in instance["rooms"]}
    fill: dict[str, dict[str, int]] = defaultdict(lambda: {"beds": 0, "occupied": 0, "placed": 0})
    for room in instance["rooms"]:
        fill[room["building"]]["beds"] += room["capacity"]
        fill[room["building"]]["occupied"] += len(room["occupants"])
    for item in result["assignments"]:
        fill[rooms[item["room"]]["building"]]["placed"] += 1
    reasons: dict[str, int] = defaultdict(int)
    for item in result["unassigned"]:
        reasons[item["reason"]] += 1
    if left_out:
        reasons["waiting_for_partner"] += len(left_out)
    return {"applicants": len(instance["applicants"]) + len(left_out),
            "placed": len(result["assignments"]),
            "unplaced": len(result["unassigned"]) + len(left_out),
            "by_building": dict(sorted(fill.items())), "reasons": dict(sorted(reasons.items())),
            "seconds": result.get("stats", {}).get("seconds")}


def run_allocation(*, actor_id: int | None, park_id: int, commit: bool,
                   run: AllocationRun | None = None,
                   progress: Callable[[int], None] = lambda percent: None) -> AllocationRun:
    """Solve the park's allocation; with commit, make the offers. Returns the stored run."""
    park_by_id(park_id)
    waiting = list(db.session.scalars(select(DormApplication).where(
        DormApplication.park_id == park_id, DormApplication.status.in_(QUEUED_APPLICATION))))
    refresh_all_points(waiting, park_id=park_id)  # frozen for this run (months waiting move them)
    db.session.flush()
    progress(20)
    instance, free_beds, left_out = build_instance(park_id)
    progress(40)
    result = allocator.solve(instance)
    progress(70)
    if run is None:
        run = AllocationRun(park_id=park_id, created_by=actor_id)
        db.session.add(run)
    run.status, run.committed = "done", commit
    run.input_hash, run.seed = instance_hash(instance), instance["policy"]["lottery_seed"]
    run.engine_version, run.instance, run.result = allocator.ENGINE_VERSION, instance, result
    run.summary = _summary(instance, result, left_out)
    db.session.flush()
    _record_reasons(result, left_out)
    if commit:
        run.committed_at = utcnow()
        _make_offers(run, result, free_beds, policy_for(park_id).offer_hours)
    record(action="dorms.allocation_committed" if commit else "dorms.allocation_previewed",
           object_type="allocation_run", object_id=run.id, actor_id=actor_id,
           after={"park_id": park_id, "placed": run.summary["placed"],
                  "unplaced": run.summary["unplaced"], "input_hash": run.input_hash})
    db.session.flush()
    return run


def _record_reasons(result: dict, left_out: list[DormApplication]) -> None:
    reasons = {int(item["applicant"]): item for item in result["unassigned"]}
    for app in db.session.scalars(select(DormApplication).where(DormApplication.id.in_(reasons))):
        item = reasons[app.id]
        app.reason_code = item["reason"]
        app.reason_detail = {k: v for k, v in item.items() if k not in ("applicant", "reason")}
    for app in left_out:
        app.reason_code, app.reason_detail = "waiting_for_partner", {}


def _make_offers(run: AllocationRun, result: dict, free_beds: dict[str, list[int]],
                 offer_hours: int) -> None:
    expires = utcnow() + timedelta(hours=offer_hours)
    apps = {a.id: a for a in db.session.scalars(select(DormApplication).where(
        DormApplication.id.in_([int(i["applicant"]) for i in result["assignments"]])))}
    beds_left = {room: list(beds) for room, beds in free_beds.items()}
    for item in result["assignments"]:
        app = apps[int(item["applicant"])]
        if not beds_left.get(item["room"]):
            raise Conflict(str(_l("The inventory changed during the run; run it again.")),
                           code="bed_taken")
        bed_id = beds_left[item["room"]].pop(0)
        db.session.add(Stay(worker_id=app.worker_id, bed_id=bed_id, application_id=app.id,
                            run_id=run.id, status=StayStatus.OFFERED, offer_expires_at=expires))
        app.status, app.reason_code, app.reason_detail = ApplicationStatus.OFFERED, "placed", {"room": item["room"]}
        notify.send(user_id=app.worker_id, kind="dorm_offer", title=str(_l("You have a bed offer")),
                    body=str(_l("Please accept or decline before the offer expires.")),
                    link=f"/dorms/applications/{app.id}", channels=("sms",))
    db.session.flush()
