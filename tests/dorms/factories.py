"""Dormitory test data: a park with an employer, a policy and rooms made through the import."""
from __future__ import annotations

from datetime import date, timedelta

from services.dorms.inventory_file import check_rows
from services.dorms.operations import applications, inventory
from services.extensions import db
from tests.factories import make_org, make_user

HEADER = "building,room,floor,gender,capacity,kind,smoking,area_m2,rent_yuan,reserved_for,status"


def csv_rows(text: str) -> list[dict]:
    import csv
    import io

    return [{k: v.strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def make_park(rooms: str = "") -> tuple:
    """A park, one employer in it, and the rooms given as CSV lines (without header)."""
    park = make_org("park")
    employer = make_org("employer", park_code=park.code)
    manager = make_user("park_manager", org=park)
    if rooms:
        rows, errors = check_rows(csv_rows(HEADER + "\n" + rooms), employer_codes={employer.code})
        assert errors == []
        inventory.import_inventory(actor_id=manager.id, park_id=park.id, rows=rows)
    db.session.commit()
    return park, employer, manager


def apply(worker, park, **overrides):
    data = dict(gender="F", move_in_date=date.today() + timedelta(days=3), shift="day",
                smoker=False, needs_accessible=False, max_rent_fen=50000, preferred_buildings=[])
    data.update(overrides)
    app = applications.submit_application(worker=worker, park_id=park.id, **data)
    db.session.commit()
    return app
