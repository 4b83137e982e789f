"""Transfers without HTTP: moves, swaps, every refusal, the hard rules on approval, the race."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.core.audit import AuditEvent
from services.core.errors import Conflict, InvalidState, ValidationFailed
from services.core.notify import Notification
from services.dorms.models import Bed, Building, Room, Stay, StayStatus
from services.dorms.operations import offers, stays
from services.dorms.operations import transfers as ops
from services.dorms.transfer_models import TransferKind, TransferRequest, TransferStatus
from services.extensions import db
from tests.concurrency import at_once
from tests.conftest import build_app
from tests.dorms.factories import apply, make_park
from tests.factories import make_user

ALL_OK = {key: "ok" for key in stays.CHECKLIST_ITEMS}
ROOMS = """A,101,1,F,2,standard,no,20,300,,
A,102,1,F,2,standard,no,20,300,,
A,103,1,M,2,standard,no,20,300,,
B,201,2,F,2,standard,yes,20,200,,
C,301,3,F,2,standard,no,20,900,,
D,401,4,F,2,standard,no,4,300,,"""


def bed(code: str) -> Bed:
    building, room, label = code.split("-")
    return db.session.scalar(select(Bed).join(Room).join(Building).where(
        Building.code == building, Room.number == room, Bed.label == label))


def live(park, employer, manager, bed_code: str, **overrides):
    """A worker living in (active stay) on the given bed."""
    worker = make_user("worker", org=employer)
    application = apply(worker, park, **overrides)
    stay = offers.assign_bed(actor_id=manager.id, bed=bed(bed_code), application=application,
                             reason="test")
    offers.accept_offer(worker=worker, stay=stay)
    stays.check_in(actor_id=manager.id, stay=stay, on=date.today(), inspection=ALL_OK,
                   key_card="K", deposit_fen=10000)
    db.session.commit()
    return worker, stay


def holder(bed_code: str) -> Stay | None:
    return db.session.scalar(select(Stay).where(Stay.bed_id == bed(bed_code).id,
                                                Stay.status == StayStatus.ACTIVE))


def test_only_a_worker_living_in_may_ask_and_only_once(app):
    park, employer, manager = make_park(ROOMS)
    stranger = make_user("worker", org=employer)
    with pytest.raises(InvalidState):
        ops.request_move(worker=stranger, reason="too noisy")
    worker, stay = live(park, employer, manager, "A-101-A")
    with pytest.raises(ValidationFailed) as error:
        ops.request_move(worker=worker, reason=" ")
    assert "reason" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        ops.request_move(worker=worker, reason="night shift now", wanted_building="Z")
    assert "wanted_building" in error.value.fields
    request = ops.request_move(worker=worker, reason="night shift now", wanted_building="b")
    db.session.commit()
    assert (request.kind, request.status, request.wanted_building) == (TransferKind.MOVE,
                                                                       TransferStatus.REQUESTED, "B")
    assert request.from_stay_id == stay.id and request.park_id == park.id
    with pytest.raises(Conflict) as error:
        ops.request_move(worker=worker, reason="again please")
    assert error.value.code == "open_request"
    with pytest.raises(Conflict):
        ops.request_swap(worker=worker, partner_bed="A-101-B")
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "dorms.transfer_requested")) == 1


def test_approve_move_checks_the_hard_rules_then_switches_stays(app):
    park, employer, manager = make_park(ROOMS)
    worker, old = live(park, employer, manager, "A-101-A")
    _, _ = live(park, employer, manager, "A-102-B")
    request = ops.request_move(worker=worker, reason="closer to the canteen")
    db.session.commit()
    refusals = {"A-103-A": "rule_broken",  # men's room
                "B-201-A": "rule_broken",  # smoking room, she does not smoke
                "C-301-A": "rule_broken",  # rent above her maximum
                "A-102-B": "bed_taken"}
    for code, expected in refusals.items():
        with pytest.raises(Conflict) as error:
            ops.approve_move(actor_id=manager.id, request=request, target_bed=bed(code))
        assert error.value.code == expected, code
        db.session.rollback()
    with pytest.raises(ValidationFailed):
        ops.approve_move(actor_id=manager.id, request=request, target_bed=bed("A-101-A"))
    other_park, _, other_manager = make_park("A,101,1,F,2,standard,no,20,300,,")
    with pytest.raises(InvalidState):
        ops.approve_move(actor_id=other_manager.id, request=request, target_bed=bed("A-102-A"))
    db.session.rollback()
    assert old.status is StayStatus.ACTIVE and request.status is TransferStatus.REQUESTED

    (new,) = ops.approve_move(actor_id=manager.id, request=request, target_bed=bed("A-102-A"))
    db.session.commit()
    assert old.status is StayStatus.ENDED and old.end_date == date.today()
    assert new.status is StayStatus.ACTIVE and new.start_date == date.today()
    assert new.bed_id == bed("A-102-A").id and new.worker_id == worker.id
    assert new.deposit_fen == old.deposit_fen and new.application_id == old.application_id
    assert request.status is TransferStatus.COMPLETED and request.target_bed_id == new.bed_id
    assert request.decided_by == manager.id
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == worker.id, Notification.kind == "dorm_transfer_done")) == 1
    with pytest.raises(InvalidState):
        ops.approve_move(actor_id=manager.id, request=request, target_bed=bed("A-101-B"))


def test_the_mover_is_taken_out_of_their_own_room(app):
    # D-401 has two beds but 4 m² allows one person: she may still move to the other bed.
    park, employer, manager = make_park(ROOMS)
    worker, _ = live(park, employer, manager, "D-401-A")
    request = ops.request_move(worker=worker, reason="the upper bunk is broken")
    assert [ops.bed_label(b) for b in ops.fitting_beds(request)][:3] == ["A-101-A", "A-101-B", "A-102-A"]
    assert "D-401-B" in [ops.bed_label(b) for b in ops.fitting_beds(request)]
    assert "A-103-A" not in [ops.bed_label(b) for b in ops.fitting_beds(request)]
    ops.approve_move(actor_id=manager.id, request=request, target_bed=bed("D-401-B"))
    db.session.commit()
    assert holder("D-401-B").worker_id == worker.id and holder("D-401-A") is None


def test_fitting_beds_put_the_wished_building_first(app):
    park, employer, manager = make_park(ROOMS)
    worker, _ = live(park, employer, manager, "A-101-A", smoker=True, max_rent_fen=100000)
    request = ops.request_move(worker=worker, reason="I smoke", wanted_building="C")
    labels = [ops.bed_label(b) for b in ops.fitting_beds(request)]
    assert labels[:2] == ["C-301-A", "C-301-B"] and "B-201-A" in labels


def test_swap_needs_the_partner_then_the_manager(app):
    park, employer, manager = make_park(ROOMS)
    anna, anna_stay = live(park, employer, manager, "A-101-A")
    _, _ = live(park, employer, manager, "A-101-B")
    bea, bea_stay = live(park, employer, manager, "A-102-A")
    _, _ = live(park, employer, manager, "A-102-B")
    nosy = make_user("worker", org=employer)
    for label in ("", "nonsense", "A-101", "A-103-A", "Z-101-A", "A-101-A"):
        with pytest.raises(ValidationFailed) as error:
            ops.request_swap(worker=anna, partner_bed=label)
        assert "partner_bed" in error.value.fields, label
    request = ops.request_swap(worker=anna, partner_bed=" a-102-a ", reason="friends")
    db.session.commit()
    assert request.partner_stay_id == bea_stay.id and request.status is TransferStatus.REQUESTED
    assert db.session.scalar(select(Notification.id).where(
        Notification.user_id == bea.id, Notification.kind == "dorm_swap_proposed")) is not None
    with pytest.raises(InvalidState):
        ops.approve_swap(actor_id=manager.id, request=request)
    for somebody in (anna, nosy):
        with pytest.raises(InvalidState):
            ops.confirm_swap(worker=somebody, request=request)
    ops.confirm_swap(worker=bea, request=request)
    db.session.commit()
    assert request.status is TransferStatus.CONFIRMED and request.confirmed_at is not None
    with pytest.raises(InvalidState):
        ops.confirm_swap(worker=bea, request=request)
    with pytest.raises(InvalidState):
        ops.approve_move(actor_id=manager.id, request=request, target_bed=bed("A-103-A"))

    # both rooms are full: each is checked with the leaving person taken out
    new_anna, new_bea = ops.approve_swap(actor_id=manager.id, request=request)
    db.session.commit()
    assert anna_stay.status is StayStatus.ENDED and bea_stay.status is StayStatus.ENDED
    assert (new_anna.worker_id, new_anna.bed_id) == (anna.id, bed("A-102-A").id)
    assert (new_bea.worker_id, new_bea.bed_id) == (bea.id, bed("A-101-A").id)
    assert request.status is TransferStatus.COMPLETED
    assert db.session.scalar(select(func.count(Stay.id)).where(Stay.status == StayStatus.ACTIVE)) == 4


def test_swap_refused_when_a_room_rule_breaks(app):
    park, employer, manager = make_park(ROOMS)
    day, _ = live(park, employer, manager, "A-101-A")
    _, _ = live(park, employer, manager, "A-101-B")
    night, _ = live(park, employer, manager, "A-102-A", shift="night")
    _, _ = live(park, employer, manager, "A-102-B", shift="night")
    request = ops.request_swap(worker=day, partner_bed="A-102-A")
    ops.confirm_swap(worker=night, request=request)
    db.session.commit()
    with pytest.raises(InvalidState) as error:
        ops.approve_swap(actor_id=manager.id, request=request)
    assert error.value.code == "rule_broken"
    db.session.rollback()
    assert holder("A-101-A").worker_id == day.id and request.status is TransferStatus.CONFIRMED


def test_swap_inside_one_room_needs_no_rule_check(app):
    park, employer, manager = make_park(ROOMS)
    upper, _ = live(park, employer, manager, "A-101-A")
    lower, _ = live(park, employer, manager, "A-101-B")
    request = ops.request_swap(worker=upper, partner_bed="A-101-B")
    ops.confirm_swap(worker=lower, request=request)
    ops.approve_swap(actor_id=manager.id, request=request)
    db.session.commit()
    assert holder("A-101-A").worker_id == lower.id and holder("A-101-B").worker_id == upper.id


def test_cancel_decline_and_reject(app):
    park, employer, manager = make_park(ROOMS)
    anna, _ = live(park, employer, manager, "A-101-A")
    bea, _ = live(park, employer, manager, "A-102-A")
    request = ops.request_swap(worker=anna, partner_bed="A-102-A")
    with pytest.raises(InvalidState):
        ops.cancel(worker=bea, request=request)
    ops.cancel(worker=anna, request=request)
    db.session.commit()
    assert request.status is TransferStatus.CANCELLED
    with pytest.raises(InvalidState):
        ops.cancel(worker=anna, request=request)
    with pytest.raises(InvalidState):
        ops.confirm_swap(worker=bea, request=request)

    second = ops.request_swap(worker=anna, partner_bed="A-102-A")  # the closed one does not block
    ops.decline_swap(worker=bea, request=second)
    db.session.commit()
    assert second.status is TransferStatus.REJECTED and second.decided_by == bea.id

    move = ops.request_move(worker=anna, reason="too noisy")
    with pytest.raises(ValidationFailed):
        ops.reject(actor_id=manager.id, request=move, reason="")
    _, _, other_manager = make_park()
    with pytest.raises(InvalidState):
        ops.reject(actor_id=other_manager.id, request=move, reason="not mine")
    ops.reject(actor_id=manager.id, request=move, reason="no bed free this month")
    db.session.commit()
    assert move.status is TransferStatus.REJECTED and move.decision_note == "no bed free this month"
    with pytest.raises(InvalidState):
        ops.approve_move(actor_id=manager.id, request=move, target_bed=bed("A-101-B"))
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.object_type == "transfer")) == 6


def test_completing_a_transfer_closes_other_requests_of_the_same_stays(app):
    park, employer, manager = make_park(ROOMS)
    anna, _ = live(park, employer, manager, "A-101-A")
    bea, _ = live(park, employer, manager, "A-102-A")
    cleo, _ = live(park, employer, manager, "A-102-B")
    bea_move = ops.request_move(worker=bea, reason="want building B")
    cleo_swap = ops.request_swap(worker=cleo, partner_bed="A-101-A")
    anna_move = ops.request_move(worker=anna, reason="closer to work")
    ops.approve_move(actor_id=manager.id, request=anna_move, target_bed=bed("A-101-B"))
    db.session.commit()
    assert cleo_swap.status is TransferStatus.CANCELLED
    assert bea_move.status is TransferStatus.REQUESTED
    # the partner's stay ended: a confirmation is refused
    with pytest.raises(InvalidState):
        ops.confirm_swap(worker=anna, request=cleo_swap)


def test_a_stay_that_ended_cannot_be_moved(app):
    park, employer, manager = make_park(ROOMS)
    worker, stay = live(park, employer, manager, "A-101-A")
    request = ops.request_move(worker=worker, reason="too noisy")
    stays.check_out(actor_id=manager.id, stay=stay, on=date.today(), inspection=ALL_OK, damages_fen=0)
    db.session.commit()
    assert ops.fitting_beds(request) == []
    with pytest.raises(InvalidState):
        ops.approve_move(actor_id=manager.id, request=request, target_bed=bed("A-102-A"))


def test_database_allows_one_open_request_per_stay(app):
    park, employer, manager = make_park(ROOMS)
    worker, stay = live(park, employer, manager, "A-101-A")
    _, other = live(park, employer, manager, "A-102-A")
    row = dict(park_id=park.id, worker_id=worker.id, from_stay_id=stay.id)
    db.session.add(TransferRequest(**row, kind=TransferKind.MOVE, status=TransferStatus.CANCELLED))
    db.session.add(TransferRequest(**row, kind=TransferKind.MOVE))
    db.session.flush()
    db.session.add(TransferRequest(**row, kind=TransferKind.SWAP, partner_stay_id=other.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    for broken in (dict(kind=TransferKind.SWAP), dict(kind=TransferKind.MOVE, partner_stay_id=other.id),
                   dict(kind=TransferKind.SWAP, partner_stay_id=stay.id),
                   dict(kind=TransferKind.MOVE, status=TransferStatus.CONFIRMED)):
        db.session.add(TransferRequest(**row, **broken))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def _race_two_managers_one_target(app):
    """Two managers approve, at the same moment, moves of two workers into one vacant bed."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        park, employer, manager = make_park("A,101,1,F,2,standard,no,20,300,,\n"
                                            "A,102,1,F,1,standard,no,20,300,,")
        second = make_user("park_manager", org=park)
        movers = [live(park, employer, manager, code)[0] for code in ("A-101-A", "A-101-B")]
        request_ids = [ops.request_move(worker=w, reason="race").id for w in movers]
        db.session.commit()
        bed_id = bed("A-102-A").id
        managers = (manager.id, second.id)
        db.session.remove()
    def approve(manager_id, request_id):
        ops.approve_move(actor_id=manager_id, request=db.session.get(TransferRequest, request_id),
                         target_bed=db.session.get(Bed, bed_id))

    outcomes = at_once(app, approve, zip(managers, request_ids))
    with app.app_context():
        holders = db.session.scalar(select(func.count(Stay.id)).where(
            Stay.bed_id == bed_id, Stay.status == StayStatus.ACTIVE))
        living = db.session.scalar(select(func.count(Stay.id)).where(Stay.status == StayStatus.ACTIVE))
        statuses = sorted(r.status.value for r in db.session.scalars(select(TransferRequest)))
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return outcomes, holders, living, statuses


def test_two_managers_one_target_bed_sqlite(tmp_path):
    result = _race_two_managers_one_target(
        build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/race.db"))
    assert result == (["bed_taken", "ok"], 1, 2, ["completed", "requested"])


@pytest.mark.postgres
def test_two_managers_one_target_bed_postgres(tmp_path, pg_url):
    result = _race_two_managers_one_target(build_app(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
    assert result == (["bed_taken", "ok"], 1, 2, ["completed", "requested"])
