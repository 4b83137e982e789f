"""Who may see which dormitory object: a worker their own; a park manager their park's."""
from __future__ import annotations

from flask_login import current_user

from services.core.access import Role, visible_or_404
from services.dorms.models import Bed, DormApplication, Room, Stay
from services.extensions import db


def managed_park_id() -> int:
    """The park of the signed-in park manager."""
    return current_user.org_id


def _sees_park(park_id: int) -> bool:
    return current_user.role is Role.PARK_MANAGER and current_user.org_id == park_id


def application_or_404(application_id: int) -> DormApplication:
    app = db.session.get(DormApplication, application_id)
    return visible_or_404(app, lambda a: a.worker_id == current_user.id or _sees_park(a.park_id))


def visible_application_or_404(app):
    """An application read (plain row) the signed-in worker or park manager may see."""
    return visible_or_404(app, lambda a: a.worker_id == current_user.id or _sees_park(a.park_id))


def own_offer_or_404(stay_id: int) -> Stay:
    stay = db.session.get(Stay, stay_id)
    return visible_or_404(stay, lambda s: s.worker_id == current_user.id)


def managed_bed_or_404(bed_id: int) -> Bed:
    bed = db.session.get(Bed, bed_id)
    return visible_or_404(bed, lambda b: _sees_park(b.room.building.park_id))


def managed_room_or_404(room_id: int) -> Room:
    room = db.session.get(Room, room_id)
    return visible_or_404(room, lambda r: _sees_park(r.building.park_id))


def managed_stay_or_404(stay_id: int) -> Stay:
    stay = db.session.get(Stay, stay_id)
    return visible_or_404(stay, lambda s: _sees_park(s.bed.room.building.park_id))
