"""The busy dormitory reads: a fixed number of statements whatever the park's size, and, with
the read cache on (Redis), no statement at all until a change, which shows on the next request.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.accounts import operations as accounts
from services.core.audit import utcnow
from services.dorms import caching
from services.dorms.models import Bed, Building, Room, RoomStatus, Stay, StayStatus
from services.dorms.operations import allocation, applications, inventory, offers, stays
from services.dorms.operations import transfers
from services.extensions import db
from tests.conftest import counted_statements, login
from tests.dorms.factories import HEADER, apply, csv_rows, make_park
from tests.dorms.test_stays import ALL_OK
from tests.factories import PASSWORD, make_org, make_user

VACANT = '/assign">'  # an open room's free bed links to the assignment form
ROOM_LIST_PATHS = ("/dorms/manage/rooms", "/dorms/manage/rooms?vacant=1",
                   "/dorms/manage/rooms?building=a", "/dorms/manage/rooms?building=B&vacant=1",
                   "/dorms/manage/rooms?page=99")




def dormitory_statements(statements: list[str]) -> list[str]:
    return [s for s in statements if "dorm_" in s]


def client_for(app, user):
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def bearer(client, user) -> dict:
    token = client.post("/api/v1/auth/token", json={"username": user.username,
                                                    "password": PASSWORD}).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def park_of_size(rooms: int) -> dict:
    """Rooms of two beds in buildings A and B, one bed of each held (offered, reserved or
    active in turn, by named workers of two employers, one room reserved for one of them),
    one waiting application per room; and a worker with each kind of application."""
    lines = "\n".join(f"{'AB'[i % 2]},{100 + i},1,F,2,standard,no,{6 if i % 3 == 0 else 20},300,"
                      f"{'EMP' if i == 1 else ''}," for i in range(rooms))
    park, employer, manager = make_park()
    reserved_for = make_org("employer", code="EMP", park_code=park.code)
    rows, errors = inventory_rows(lines, {employer.code, reserved_for.code})
    inventory.import_inventory(actor_id=manager.id, park_id=park.id, rows=rows)
    db.session.commit()
    beds = list(db.session.scalars(select(Bed).order_by(Bed.id)))[::2]
    statuses = (StayStatus.OFFERED, StayStatus.RESERVED, StayStatus.ACTIVE)
    for index, bed in enumerate(beds):
        worker = make_user("worker", org=(employer, reserved_for)[index % 2])
        status = statuses[index % 3]
        db.session.add(Stay(worker_id=worker.id, bed_id=bed.id, status=status,
                            offer_expires_at=utcnow() + timedelta(hours=5),
                            start_date=date.today() if status is StayStatus.ACTIVE else None))
    db.session.commit()
    waiting = [apply(make_user("worker", org=employer), park) for _ in range(rooms)]
    offered_worker = make_user("worker", org=employer)
    offered = apply(offered_worker, park)
    free_bed = db.session.scalars(select(Bed).order_by(Bed.id.desc())).first()
    offers.assign_bed(actor_id=manager.id, bed=free_bed, application=offered, reason="by hand")
    db.session.commit()
    return {"park": park, "manager": manager, "waiting": waiting[-1], "offered": offered,
            "employer": employer}


def inventory_rows(lines: str, codes: set[str]):
    from services.dorms.inventory_file import check_rows

    rows, errors = check_rows(csv_rows(HEADER + "\n" + lines), employer_codes=codes)
    assert errors == []
    return rows, errors


def statements_per_read(app, rooms: int) -> dict[str, tuple[int, int]]:
    """(all statements, dormitory statements) of each read, after a warm-up request."""
    world = park_of_size(rooms)
    manager_client = client_for(app, world["manager"])
    api = app.test_client()
    reads = {path: (manager_client, path, {}) for path in ROOM_LIST_PATHS}
    for name in ("waiting", "offered"):
        application = world[name]
        reads[f"api {name}"] = (api, f"/api/v1/dorm-applications/{application.id}",
                                bearer(api, application.worker))
    reads["api manager"] = (api, f"/api/v1/dorm-applications/{world['waiting'].id}",
                            bearer(api, world["manager"]))
    reads["worker home"] = (client_for(app, world["offered"].worker), "/", {})
    counts = {}
    for name, (client, path, headers) in reads.items():
        assert client.get(path, headers=headers).status_code == 200, name
        db.session.remove()  # nothing left from the set-up: the request loads what it needs
        with counted_statements() as statements:
            assert client.get(path, headers=headers).status_code == 200, name
        counts[name] = (len(statements), len(dormitory_statements(statements)))
    return counts


def compare_sizes(app) -> None:
    small = statements_per_read(app, 5)
    db.session.remove()
    db.drop_all()
    db.create_all()
    large = statements_per_read(app, 50)
    assert small == large, (small, large)
    own = {name: dorms for name, (_, dorms) in large.items()}
    # The room list: its rooms with beds and holders, and the building filter's codes; a page
    # past the last counts the rooms apart. The API read and the home panel: one statement each.
    assert own == {"/dorms/manage/rooms": 2, "/dorms/manage/rooms?vacant=1": 2,
                   "/dorms/manage/rooms?building=a": 2,
                   "/dorms/manage/rooms?building=B&vacant=1": 2, "/dorms/manage/rooms?page=99": 3,
                   "api waiting": 1, "api offered": 1, "api manager": 1, "worker home": 2}, own


def test_reads_send_the_same_statements_for_5_and_50_rooms(app):
    compare_sizes(app)


@pytest.mark.postgres
def test_reads_send_the_same_statements_for_5_and_50_rooms_on_postgresql(pg_app):
    compare_sizes(pg_app)


def test_room_list_shows_every_room_of_the_filter_with_an_exact_count(app):
    world = park_of_size(45)
    client = client_for(app, world["manager"])
    first = client.get("/dorms/manage/rooms").get_data(as_text=True)
    assert room_count(first) == "45" and "A-100" in first and "B-101" not in first  # by code
    labels = set()
    for page in (1, 2, 3):
        html = client.get(f"/dorms/manage/rooms?page={page}").get_data(as_text=True)
        labels |= {f"{b}-{100 + i}" for i in range(45) for b in "AB"
                   if f'">{b}-{100 + i}\n' in html}
    assert len(labels) == 45
    vacant = client.get("/dorms/manage/rooms?vacant=1").get_data(as_text=True)
    assert "A-100" in vacant  # one of two beds held: still a free bed
    html = client.get("/dorms/manage/rooms?building=b").get_data(as_text=True)
    assert "A-100" not in html and "B-101" in html and room_count(html) == "22"


# --- with the read cache on ------------------------------------------------------------------



class Pages:
    """The manager's room list, the API read of two applications and a worker's home page."""

    def __init__(self, app, world: dict, worker) -> None:
        self.world, self.worker = world, worker
        self.manager = client_for(app, world["manager"])
        self.home_client = client_for(app, worker)
        self.api = app.test_client()
        self.tokens = {}

    def rooms(self, path: str = "/dorms/manage/rooms") -> str:
        return self.manager.get(path).get_data(as_text=True)

    def application(self, application) -> dict:
        worker = db.session.get(type(self.worker), application.worker_id)
        if worker.id not in self.tokens:
            self.tokens[worker.id] = bearer(self.api, worker)
        return self.api.get(f"/api/v1/dorm-applications/{application.id}",
                            headers=self.tokens[worker.id]).get_json()

    def home(self) -> str:
        return self.home_client.get("/").get_data(as_text=True)


def room(park, label: str) -> Room:
    code, number = label.split("-")
    return db.session.scalar(select(Room).join(Building).where(
        Building.park_id == park.id, Building.code == code, Room.number == number))


def room_count(html: str) -> str:
    """The number in "N rooms" above the list."""
    text = html.split('<p class="result-count">', 1)[1].split("</p>", 1)[0]
    return "".join(ch for ch in text if ch.isdigit())


def bed_line(html: str, label: str) -> str:
    """The <li> of one bed, e.g. "A-101-B" (room label, bed label)."""
    room_label, bed_label = label.rsplit("-", 1)
    section = html.split(f'">{room_label}\n', 1)[1].split("</section>", 1)[0]
    return section.split(f"<li>{bed_label}:", 1)[1].split("</li>", 1)[0]


@pytest.mark.redis
def test_cached_reads_send_no_statement_until_a_change(cached_app):
    world = park_of_size(5)
    pages = Pages(cached_app, world, world["offered"].worker)
    for path in ROOM_LIST_PATHS:
        pages.rooms(path)
    pages.application(world["waiting"])
    pages.home()
    with counted_statements() as statements:
        for path in ROOM_LIST_PATHS:
            pages.rooms(path)
        pages.application(world["waiting"])
        pages.home()
    assert dormitory_statements(statements) == []


@pytest.mark.redis
def test_every_change_shows_on_the_next_request(cached_app):
    lines = "\n".join(["A,101,1,F,2,standard,no,20,300,,", "A,102,1,F,2,standard,no,20,300,,",
                       "B,201,1,F,2,standard,no,20,300,EMP,"])
    park, employer, manager = make_park()
    company = make_org("employer", code="EMP", name="Old company", park_code=park.code)
    rows, _ = inventory_rows(lines, {employer.code, company.code})
    inventory.import_inventory(actor_id=manager.id, park_id=park.id, rows=rows)
    db.session.commit()
    anna = make_user("worker", org=employer)
    bea = make_user("worker", org=employer)
    application = apply(anna, park)
    second = apply(bea, park)
    world = {"park": park, "manager": manager}
    pages = Pages(cached_app, world, anna)
    assert VACANT in bed_line(pages.rooms(), "A-101-A")
    assert {pages.application(a)["queue_position"] for a in (application, second)} == {1, 2}
    assert "A-101" not in pages.home()

    # an allocation run offers beds
    allocation.run_allocation(actor_id=manager.id, park_id=park.id, commit=True)
    db.session.commit()
    body = pages.application(application)
    assert body["status"] == "offered" and body["offer"]["status"] == "offered"
    label = body["offer"]["bed"]
    assert anna.name in bed_line(pages.rooms(), label)
    assert label in pages.home()

    # the worker declines; the manager offers the bed again by hand; the worker accepts
    stay = db.session.get(Stay, body["offer"]["id"])
    offers.decline_offer(worker=anna, stay=stay)
    db.session.commit()
    assert VACANT in bed_line(pages.rooms(), label)
    assert pages.application(application)["offer"]["status"] == "declined"
    assert label not in pages.home()
    third = apply(make_user("worker", org=employer), park)
    bed = db.session.get(Bed, stay.bed_id)
    stay = offers.assign_bed(actor_id=manager.id, bed=bed, application=third, reason="by hand")
    db.session.commit()
    assert "offered" in bed_line(pages.rooms(), label)
    assert pages.application(third)["offer"]["status"] == "offered"
    offers.accept_offer(worker=third.worker, stay=stay)
    db.session.commit()
    assert "reserved" in bed_line(pages.rooms(), label)

    # check-in, a holder's new name, a move to another bed, check-out
    stays.check_in(actor_id=manager.id, stay=stay, on=date.today(), inspection=ALL_OK,
                   key_card="K1", deposit_fen=0)
    db.session.commit()
    assert "active" in bed_line(pages.rooms(), label)
    accounts.update_profile(user=third.worker, name="Renamed Holder", phone=None)
    db.session.commit()
    assert "Renamed Holder" in bed_line(pages.rooms(), label)
    request = transfers.request_move(worker=third.worker, reason="closer to the canteen")
    db.session.commit()
    target = next(b for b in transfers.fitting_beds(request)
                  if f"{b.room.label}-{b.label}" != label)
    target_label = f"{target.room.label}-{target.label}"
    transfers.approve_move(actor_id=manager.id, request=request, target_bed=target)
    db.session.commit()
    html = pages.rooms()
    assert VACANT in bed_line(html, label) and "Renamed Holder" in bed_line(html, target_label)
    moved = db.session.scalar(select(Stay).where(Stay.worker_id == third.worker_id,
                                                 Stay.status == StayStatus.ACTIVE))
    stays.check_out(actor_id=manager.id, stay=moved, on=date.today(), inspection=ALL_OK,
                    damages_fen=0)
    db.session.commit()
    assert VACANT in bed_line(pages.rooms(), target_label)

    # room status, inventory import (rent, a new room), policy, the reserved-for company's name
    inventory.set_room_status(actor_id=manager.id, room=room(park, "A-102"),
                              status=RoomStatus.MAINTENANCE)
    db.session.commit()
    assert 'value="maintenance" selected' in pages.rooms().split('">A-102\n', 1)[1]
    rows, _ = inventory_rows(lines.replace("A,101,1,F,2,standard,no,20,300", "A,101,1,F,2,standard,no,20,450")
                             + "\nC,301,3,F,2,standard,no,20,300,,", {employer.code, company.code})
    inventory.import_inventory(actor_id=manager.id, park_id=park.id, rows=rows)
    db.session.commit()
    html = pages.rooms()
    assert "C-301" in html and "450 " in html.split('">A-101\n', 1)[1].split("</section>")[0]
    assert room_count(html) == "4"
    inventory.update_policy(actor_id=manager.id, park_id=park.id, min_area_per_person=15,
                            max_beds_per_room=8, offer_hours=48, mix_shifts=False,
                            admits_gig_workers=True, weights={})
    db.session.commit()
    assert pages.rooms().count("tag-warn") >= 4  # 20 m² / 15 m² per person: one bed allowed
    accounts.upsert_org(actor_id=None, kind="employer", code="EMP", name="New company",
                        park_code=park.code)
    db.session.commit()
    assert "New company" in pages.rooms()

    # applications: a withdrawal moves the queue; an expired offer shows on the API read
    fourth, fifth = (apply(make_user("worker", org=employer), park) for _ in range(2))
    first, later = sorted((fourth, fifth), key=lambda a: pages.application(a)["queue_position"])
    assert pages.application(later)["queue_position"] == 2
    applications.withdraw_application(worker=first.worker, application=first)
    db.session.commit()
    assert pages.application(later)["queue_position"] == 1
    offered = db.session.scalar(select(Stay).where(Stay.application_id == second.id))
    assert pages.application(second)["offer"]["status"] == "offered"
    offered.offer_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    offers.expire_offers()  # the freed bed goes to the head of the queue, maybe `second` again
    db.session.commit()
    latest = db.session.scalar(select(Stay).where(Stay.application_id == second.id)
                               .order_by(Stay.id.desc()).limit(1))
    body = pages.application(second)
    assert offered.status is StayStatus.EXPIRED and body["status"] == second.status.value
    assert (body["offer"]["id"], body["offer"]["status"]) == (latest.id, latest.status.value)


# --- what the flush hook touches -------------------------------------------------------------

@pytest.fixture
def touched(monkeypatch):
    """The namespaces the dormitory flush hook touches (cache on or off)."""
    seen: set[str] = set()
    monkeypatch.setattr(caching.cache, "touch", lambda *names, session=None: seen.update(names))
    return seen


def test_a_change_to_a_row_the_session_did_not_load_is_looked_up(app, touched):
    world = park_of_size(3)
    park_id, worker_id = world["park"].id, world["offered"].worker_id
    stay_id = db.session.scalar(select(Stay.id).where(Stay.application_id == world["offered"].id))
    db.session.remove()
    stay = db.session.get(Stay, stay_id)
    db.session.expire(stay)  # nothing loaded: its bed, worker and application are read back
    stay.status = StayStatus.DECLINED
    touched.clear()
    db.session.flush()
    assert touched == {caching.ANY, caching.park(park_id), caching.worker(worker_id)}


def test_rooms_beds_policy_and_names_touch_what_shows_them(app, touched):
    world = park_of_size(3)
    park, manager = world["park"], world["manager"]
    touched.clear()
    inventory.set_room_status(actor_id=manager.id, room=room(park, "A-100"),
                              status=RoomStatus.CLOSED)
    assert touched == {caching.ANY, caching.park(park.id)}
    touched.clear()
    rows, _ = inventory_rows("A,100,1,F,1,standard,no,20,300,,", {world["employer"].code})
    inventory.import_inventory(actor_id=manager.id, park_id=park.id, rows=rows)  # a bed goes
    assert caching.park(park.id) in touched and caching.UNRESOLVED not in touched
    touched.clear()
    inventory.update_policy(actor_id=manager.id, park_id=park.id, min_area_per_person=5,
                            max_beds_per_room=8, offer_hours=48, mix_shifts=False,
                            admits_gig_workers=True, weights={})
    assert caching.park(park.id) in touched
    touched.clear()
    worker = world["waiting"].worker
    worker.last_login_at = utcnow()
    db.session.flush()
    assert caching.NAMES not in touched
    accounts.update_profile(user=worker, name="Someone else", phone=None)
    db.session.flush()
    assert caching.NAMES in touched
