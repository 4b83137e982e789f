"""Check-in and check-out: inspection, key/card, deposit and damages."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.core.errors import InvalidState, ValidationFailed
from services.dorms.models import ApplicationStatus, Stay, StayStatus
from services.dorms.operations import allocation, offers, stays
from services.extensions import db
from tests.conftest import csrf_token, login
from tests.dorms.factories import apply, make_park
from tests.factories import make_user

ALL_OK = {key: "ok" for key in stays.CHECKLIST_ITEMS}


def reserved_stay():
    park, employer, manager = make_park("A,101,1,F,2,standard,no,20,300,,")
    worker = make_user("worker", org=employer)
    application = apply(worker, park)
    allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
    stay = db.session.scalar(select(Stay))
    offers.accept_offer(worker=worker, stay=stay)
    db.session.commit()
    return stay, manager, application


def test_check_in_then_out_with_damages(app):
    stay, manager, application = reserved_stay()
    with pytest.raises(ValidationFailed):
        stays.check_in(actor_id=manager.id, stay=stay, on=date.today(), inspection={"bed": "ok"},
                       key_card="K1", deposit_fen=30000)
    with pytest.raises(ValidationFailed):
        stays.check_in(actor_id=manager.id, stay=stay, on=date.today() - timedelta(days=90),
                       inspection=ALL_OK, key_card="K1", deposit_fen=30000)
    stays.check_in(actor_id=manager.id, stay=stay, on=date.today(), inspection=ALL_OK,
                   key_card="K-0101-A", deposit_fen=30000)
    db.session.commit()
    assert stay.status is StayStatus.ACTIVE and application.status is ApplicationStatus.HOUSED
    with pytest.raises(InvalidState):
        stays.check_in(actor_id=manager.id, stay=stay, on=date.today(), inspection=ALL_OK,
                       key_card="K", deposit_fen=0)
    stays.check_out(actor_id=manager.id, stay=stay, on=date.today(),
                    inspection={**ALL_OK, "window": "damaged"}, damages_fen=12000)
    db.session.commit()
    assert stay.status is StayStatus.ENDED and stay.deposit_refund_fen == 18000
    assert stay.checkout_inspection["items"]["window"] == "damaged"


def test_damages_above_deposit_refund_nothing(app):
    stay, manager, _ = reserved_stay()
    stays.check_in(actor_id=manager.id, stay=stay, on=date.today(), inspection=ALL_OK,
                   key_card="K", deposit_fen=10000)
    stays.check_out(actor_id=manager.id, stay=stay, on=date.today(), inspection=ALL_OK,
                    damages_fen=50000)
    assert stay.deposit_refund_fen == 0


def test_check_in_page(app):
    stay, manager, _ = reserved_stay()
    client = app.test_client()
    login(client, manager.username)
    path = f"/dorms/manage/stays/{stay.id}/check-in"
    data = {f"item_{key}": "ok" for key in stays.CHECKLIST_ITEMS}
    data.update({"csrf_token": csrf_token(client, path), "on": date.today().isoformat(),
                 "key_card": "K-9", "deposit_yuan": "300"})
    response = client.post(path, data={**data, "item_bed": "exploded"})
    assert response.status_code == 200
    db.session.refresh(stay)
    assert stay.status is StayStatus.RESERVED
    response = client.post(path, data=data)
    assert response.status_code == 302
    db.session.refresh(stay)
    assert stay.status is StayStatus.ACTIVE and stay.deposit_fen == 30000
    other_park, _, other_manager = make_park()
    intruder = app.test_client()
    login(intruder, other_manager.username)
    assert intruder.get(f"/dorms/manage/stays/{stay.id}/check-out").status_code == 404


def test_check_in_with_photos_served_only_to_the_parks_manager(app):
    import io

    from tests.core.test_kernel import PNG

    stay, manager, _ = reserved_stay()
    client = app.test_client()
    login(client, manager.username)
    path = f"/dorms/manage/stays/{stay.id}/check-in"
    data = {f"item_{key}": "ok" for key in stays.CHECKLIST_ITEMS}
    data.update({"csrf_token": csrf_token(client, path), "on": date.today().isoformat(),
                 "key_card": "K-1", "deposit_yuan": "0"})
    fake = {**data, "photos": [(io.BytesIO(b"<html>not a photo</html>"), "room.png")]}
    assert client.post(path, data=fake, content_type="multipart/form-data").status_code == 200
    db.session.refresh(stay)
    assert stay.status is StayStatus.RESERVED
    real = {**data, "photos": [(io.BytesIO(PNG), "room.png"), (io.BytesIO(PNG), "door.png")]}
    assert client.post(path, data=real, content_type="multipart/form-data").status_code == 302
    db.session.refresh(stay)
    photo_ids = stay.checkin_inspection["photos"]
    assert len(photo_ids) == 2
    photo = client.get(f"/dorms/manage/stays/{stay.id}/photos/{photo_ids[0]}")
    assert photo.status_code == 200 and photo.data == PNG and "attachment" in photo.headers["Content-Disposition"]
    assert client.get(f"/dorms/manage/stays/{stay.id}/photos/999").status_code == 404
    _, _, other_manager = make_park()
    intruder = app.test_client()
    login(intruder, other_manager.username)
    assert intruder.get(f"/dorms/manage/stays/{stay.id}/photos/{photo_ids[0]}").status_code == 404
