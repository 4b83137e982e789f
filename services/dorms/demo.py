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
    _residents(park, manager)


RESIDENTS = [  # username, name, gender, shift, employer — housed through a real allocation run
    ("demo-li", "李静", "F", "day", "hengda-auto"), ("demo-wang", "王芳", "F", "day", "ruixin-pv"),
    ("demo-zhao", "赵丽", "F", "night", "hengda-auto"), ("demo-chen", "陈强", "M", "day", "ruixin-pv"),
    ("demo-zhou", "周勇", "M", "night", "hengda-auto"), ("demo-wu", "吴军", "M", "day", "hengda-auto"),
]


def _residents(park: Organisation, manager: User | None) -> None:
    """A few workers already living in the park, so the manager's pages are not empty."""
    from datetime import timedelta

    from services.accounts import operations as accounts
    from services.demo import DEMO_PASSWORD
    from services.dorms.models import Stay, StayStatus
    from services.dorms.operations import allocation, applications, offers, stays

    if db.session.scalar(select(User.id).where(User.username == RESIDENTS[0][0])):
        return
    created = []
    for n, (username, name, gender, shift, employer) in enumerate(RESIDENTS, start=1):
        user = accounts.create_user(actor_id=None, role="worker", username=username,
                                    password=DEMO_PASSWORD, name=name, phone=f"1370000{n:04d}",
                                    org_code=employer)
        applications.submit_application(worker=user, park_id=park.id, gender=gender,
                                        move_in_date=date.today() + timedelta(days=1), shift=shift,
                                        smoker=False, needs_accessible=False, max_rent_fen=30000,
                                        preferred_buildings=["A"])
        created.append(user)
    allocation.run_allocation(actor_id=manager.id if manager else None, park_id=park.id, commit=True)
    checklist = {key: "ok" for key in stays.CHECKLIST_ITEMS}
    for n, user in enumerate(created):
        stay = db.session.scalar(select(Stay).where(Stay.worker_id == user.id,
                                                    Stay.status == StayStatus.OFFERED))
        if stay is None:
            continue
        offers.accept_offer(worker=user, stay=stay)
        if n % 3 != 2:  # two in three have moved in; the others arrive soon
            stays.check_in(actor_id=manager.id if manager else None, stay=stay, on=date.today(),
                           inspection=checklist, key_card=f"K-{n + 1:03d}", deposit_fen=30000)
    db.session.flush()
