"""Inventory import: preview with line-numbered errors, idempotent upsert, standards, status."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

import services.dorms.models  # noqa: F401  (tables for create_all)
from services.core.audit import AuditEvent
from services.dorms.inventory_file import InventoryFileError, check_rows, read_table
from services.dorms.models import Bed, Room, RoomStatus
from services.dorms.operations import inventory
from services.extensions import db
from tests.dorms.factories import HEADER, csv_rows, make_park

GOOD = """A,101,1,F,4,standard,no,20,300,,
A,102,1,M,6,standard,yes,18,250,,
B,201,2,any,2,couple,no,16,500,,
B,202,2,F,2,accessible,no,16,300,,maintenance"""


def test_check_rows_reports_each_bad_row_with_its_line(app):
    bad = GOOD + """
A,103,1,X,4,standard,no,20,300,,
A,104,1,F,four,standard,no,20,300,,
A,105,1,F,4,couple,no,20,300,,
A,106,1,F,4,standard,maybe,20,300,,
A,107,1,F,4,standard,no,-3,300,,
A,108,1,F,4,standard,no,20,300,ghost,
A,101,1,F,4,standard,no,20,300,,
A,109,1,F,25,standard,no,20,300,,"""
    rows, errors = check_rows(csv_rows(HEADER + "\n" + bad), employer_codes=set())
    assert len(rows) == 4
    assert [line for line, _ in errors] == [6, 7, 8, 9, 10, 11, 12, 13]
    assert "ghost" in errors[5][1]


def test_missing_columns_and_bad_files_are_refused():
    with pytest.raises(InventoryFileError):
        check_rows([{"building": "A", "room": "1"}], employer_codes=set())
    with pytest.raises(InventoryFileError):
        read_table(b"\xff\xfe\x00garbage", "rooms.csv")
    with pytest.raises(InventoryFileError):
        read_table(b"PK\x03\x04broken", "rooms.xlsx")


def test_xlsx_is_read_like_csv(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in (HEADER + "\n" + GOOD).splitlines():
        sheet.append(line.split(","))
    path = tmp_path / "rooms.xlsx"
    book.save(path)
    table = read_table(path.read_bytes(), "rooms.xlsx")
    rows, errors = check_rows(table, employer_codes=set())
    assert errors == [] and [r.room for r in rows] == ["101", "102", "201", "202"]


def test_import_is_idempotent_and_audited(app):
    park, employer, manager = make_park(GOOD)
    assert db.session.scalar(select(func.count(Room.id))) == 4
    assert db.session.scalar(select(func.count(Bed.id))) == 14
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    rows, _ = check_rows(csv_rows(HEADER + "\n" + GOOD), employer_codes=set())
    report = inventory.import_inventory(actor_id=manager.id, park_id=park.id, rows=rows)
    assert (report.created_rooms, report.updated_rooms, report.unchanged_rooms) == (0, 0, 4)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
    changed = GOOD.replace("A,101,1,F,4,standard,no,20,300", "A,101,1,F,2,standard,no,20,320")
    rows, _ = check_rows(csv_rows(HEADER + "\n" + changed), employer_codes=set())
    report = inventory.import_inventory(actor_id=manager.id, park_id=park.id, rows=rows)
    assert (report.updated_rooms, report.removed_beds) == (1, 2)
    room = db.session.scalar(select(Room).where(Room.number == "101"))
    assert room.capacity == 2 and room.rent_fen == 32000 and [b.label for b in room.beds] == ["A", "B"]


def test_database_refuses_inconsistent_rooms(app):
    from sqlalchemy.exc import IntegrityError

    park, _, _ = make_park("A,101,1,F,4,standard,no,20,300,,")
    room = db.session.scalar(select(Room))
    room.kind = services.dorms.models.RoomKind.COUPLE  # a couple room must be 'any' and 2 beds
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_compliant_capacity_follows_the_standard(app):
    park, _, manager = make_park("A,101,1,F,8,standard,no,20,300,,\nA,102,1,F,10,standard,no,60,300,,")
    policy = inventory.policy_for(park.id)
    rooms = {r.number: r for r in db.session.scalars(select(Room))}
    assert inventory.compliant_capacity(rooms["101"], policy) == 5  # 20 m² / 4 m² per person
    assert inventory.compliant_capacity(rooms["102"], policy) == 8  # at most 8 beds per room
    inventory.update_policy(actor_id=manager.id, park_id=park.id, min_area_per_person=Decimal("2"),
                            max_beds_per_room=10, offer_hours=24, mix_shifts=False,
                            admits_gig_workers=True, weights={})
    assert inventory.compliant_capacity(rooms["101"], policy) == 8


def test_room_status_change_is_audited(app):
    park, _, manager = make_park("A,101,1,F,4,standard,no,20,300,,")
    room = db.session.scalar(select(Room))
    inventory.set_room_status(actor_id=manager.id, room=room, status=RoomStatus.MAINTENANCE)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "dorms.room_status"))
    assert event.changes == {"status": ["open", "maintenance"]}
