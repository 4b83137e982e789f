"""Demo dormitory data: three buildings in park yc-etdz, a reserved floor, couple and accessible rooms."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from services.accounts.models import Honour, Organisation, User, WorkerFacts
from services.dorms.inventory_file import check_rows
from services.dorms.operations.inventory import import_inventory
from services.extensions import db


def _rows() -> list[dict]:
    rows = []
    for floor in (1, 2, 3):
        for n in range(1, 7):
            rows.append({"building": "A", "room": f"{floor}0{n}", "floor": str(floor),
                         "gender": "F" if floor < 3 else "M", "capacity": "4", "kind": "standard",
                         "smoking": "no", "area_m2": "20", "rent_yuan": "300",
                         "reserved_for": "hengda-auto" if floor == 2 and n <= 2 else "", "status": "open"})
    for n in range(1, 9):
        rows.append({"building": "B", "room": f"10{n}", "floor": "1", "gender": "M",
                     "capacity": "6", "kind": "standard", "smoking": "yes" if n > 6 else "no",
                     "area_m2": "26" if n != 8 else "20", "rent_yuan": "220", "reserved_for": "",
                     "status": "open"})
    for n in range(1, 5):
        rows.append({"building": "C", "room": f"10{n}", "floor": "1", "gender": "any", "capacity": "2",
                     "kind": "couple", "smoking": "no", "area_m2": "18", "rent_yuan": "600",
                     "reserved_for": "", "status": "open"})
    rows.append({"building": "C", "room": "105", "floor": "1", "gender": "F", "capacity": "2",
                 "kind": "accessible", "smoking": "no", "area_m2": "22", "rent_yuan": "300",
                 "reserved_for": "", "status": "open"})
    return rows


def seed_demo() -> None:
    park = db.session.scalar(select(Organisation).where(Organisation.code == "yc-etdz"))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    employers = set(db.session.scalars(select(Organisation.code)))
    rows, errors = check_rows(_rows(), employer_codes=employers)
    assert not errors, errors
    import_inventory(actor_id=manager.id if manager else None, park_id=park.id, rows=rows)
    worker = db.session.scalar(select(User).where(User.username == "worker"))
    if worker is not None and db.session.get(WorkerFacts, worker.id) is None:
        db.session.add(WorkerFacts(user_id=worker.id, honour=Honour.CRAFTSMAN, skill_grade=3,
                                   in_park_since=date(2022, 3, 1)))
    db.session.flush()
