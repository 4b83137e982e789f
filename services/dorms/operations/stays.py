"""Check-in and check-out: inspection checklist, key/card, damages and the deposit."""
from __future__ import annotations

from datetime import date, timedelta

from services.core.i18n import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from services.core import notify
from services.core.audit import record
from services.core.errors import InvalidState, ValidationFailed
from services.core.uploads import save_upload
from services.dorms.models import ApplicationStatus, Stay, StayStatus
from services.extensions import db

CHECKLIST_ITEMS = {
    "bed": _l("Bed frame and mattress"),
    "wardrobe": _l("Wardrobe"),
    "desk": _l("Desk and chair"),
    "air_conditioner": _l("Air conditioner"),
    "water_heater": _l("Water heater"),
    "lock": _l("Door lock"),
    "window": _l("Window and screen"),
    "lights": _l("Lights and sockets"),
}
CONDITIONS = ("ok", "worn", "damaged", "missing")
MAX_FEN = 10_000_000
IMAGES = frozenset({"image/jpeg", "image/png", "image/webp"})


def _checked(inspection: dict[str, str], note: str) -> dict:
    unknown = set(inspection) - set(CHECKLIST_ITEMS)
    if unknown or set(CHECKLIST_ITEMS) - set(inspection) or any(v not in CONDITIONS for v in inspection.values()):
        message = str(_l("Record the condition of every item on the checklist."))
        raise ValidationFailed(message, fields={"inspection": message})
    if len(note or "") > 500:
        raise ValidationFailed(str(_l("The note is too long (500 characters at most).")))
    return {"items": dict(sorted(inspection.items())), "note": (note or "").strip()}


MAX_PHOTOS = 6


def _save_photos(photos, actor_id: int) -> list[int]:
    """Store the inspection photos (type checked by content); their ids go with the inspection."""
    files = [f for f in photos if f and f.filename]
    if len(files) > MAX_PHOTOS:
        message = str(_l("At most %(n)d photos.", n=MAX_PHOTOS))
        raise ValidationFailed(message, fields={"photos": message})
    return [save_upload(file=f, uploaded_by=actor_id, allowed=IMAGES, field="photos").id for f in files]


def inspection_photo_ids(stay: Stay) -> set[int]:
    return {pid for part in (stay.checkin_inspection, stay.checkout_inspection) if part
            for pid in part.get("photos", [])}


def _date_near_today(day: date, field: str) -> date:
    if not date.today() - timedelta(days=60) <= day <= date.today() + timedelta(days=1):
        message = str(_l("Use a date within the last 60 days."))
        raise ValidationFailed(message, fields={field: message})
    return day


def check_in(*, actor_id: int, stay: Stay, on: date, inspection: dict[str, str], key_card: str,
             deposit_fen: int, note: str = "", photos: list[FileStorage] = ()) -> Stay:
    """The worker moves in: the inspection and the key/card handed over are recorded."""
    if stay.status is not StayStatus.RESERVED:
        raise InvalidState(str(_l("Only an accepted bed can be checked in.")))
    key_card = (key_card or "").strip()
    if not 1 <= len(key_card) <= 40:
        raise ValidationFailed(str(_l("Enter the key or card number handed over.")),
                               fields={"key_card": str(_l("Enter the key or card number handed over."))})
    if not 0 <= deposit_fen <= MAX_FEN:
        raise ValidationFailed(str(_l("The deposit is out of range.")))
    stay.checkin_inspection = {**_checked(inspection, note), "photos": _save_photos(photos, actor_id)}
    stay.start_date = _date_near_today(on, "on")
    stay.status, stay.key_card, stay.deposit_fen = StayStatus.ACTIVE, key_card, deposit_fen
    stay.checked_in_by = actor_id
    if stay.application is not None:
        stay.application.status = ApplicationStatus.HOUSED
    record(action="dorms.checked_in", object_type="stay", object_id=stay.id, actor_id=actor_id,
           before={"status": "reserved"},
           after={"status": "active", "start_date": stay.start_date.isoformat(), "key_card": key_card,
                  "deposit_fen": deposit_fen})
    notify.send(user_id=stay.worker_id, kind="dorm_checked_in", title=str(_l("Welcome to your dormitory")),
                body=str(_l("You are checked in to bed %(bed)s.", bed=f"{stay.bed.room.label}-{stay.bed.label}")))
    db.session.flush()
    return stay


def check_out(*, actor_id: int, stay: Stay, on: date, inspection: dict[str, str], damages_fen: int,
              note: str = "", photos: list[FileStorage] = ()) -> Stay:
    """The worker leaves: the inspection, damages and the deposit refund are recorded."""
    if stay.status is not StayStatus.ACTIVE:
        raise InvalidState(str(_l("Only someone living in can be checked out.")))
    if not 0 <= damages_fen <= MAX_FEN:
        raise ValidationFailed(str(_l("Damages are out of range.")),
                               fields={"damages_yuan": str(_l("Damages are out of range."))})
    end = _date_near_today(on, "on")
    if end < stay.start_date:
        raise ValidationFailed(str(_l("The check-out date is before the check-in date.")),
                               fields={"on": str(_l("The check-out date is before the check-in date."))})
    stay.checkout_inspection = {**_checked(inspection, note), "photos": _save_photos(photos, actor_id)}
    stay.status, stay.end_date, stay.damages_fen = StayStatus.ENDED, end, damages_fen
    stay.deposit_refund_fen = max(0, stay.deposit_fen - damages_fen)
    stay.checked_out_by = actor_id
    record(action="dorms.checked_out", object_type="stay", object_id=stay.id, actor_id=actor_id,
           before={"status": "active"},
           after={"status": "ended", "end_date": end.isoformat(), "damages_fen": damages_fen,
                  "deposit_refund_fen": stay.deposit_refund_fen})
    notify.send(user_id=stay.worker_id, kind="dorm_checked_out", title=str(_l("You have checked out")),
                body=str(_l("Deposit refunded: %(yuan)s yuan.", yuan=f"{stay.deposit_refund_fen / 100:.2f}")))
    db.session.flush()
    return stay


def lives_in_park(*, worker_id: int, park_id: int) -> bool:
    """Whether the worker has a bed (accepted or moved in) in the park's dormitories."""
    from sqlalchemy import select

    from services.dorms.models import Bed, Building, Room

    return db.session.scalar(
        select(Stay.id).join(Bed, Bed.id == Stay.bed_id).join(Room).join(Building)
        .where(Stay.worker_id == worker_id, Building.park_id == park_id,
               Stay.status.in_((StayStatus.RESERVED, StayStatus.ACTIVE))).limit(1)
    ) is not None
