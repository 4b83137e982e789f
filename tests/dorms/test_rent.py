"""Rent: accrual arithmetic, the monthly statement with subsidies, payments and what is unpaid."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.core.audit import AuditEvent
from services.core.errors import Conflict, ValidationFailed
from services.dorms.models import Bed, Building, Room, Stay, StayStatus
from services.dorms.operations import rent as ops
from services.dorms.rent import (accrue, monthly_statement, nights_in_month, parse_month,
                                 split_subsidy, totals_by_employer)
from services.dorms.rent_models import RentPayment, RentSubsidy
from services.extensions import db
from tests.dorms.factories import make_park
from tests.factories import make_org, make_user

JAN, FEB, MAR, APR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)
RENT = 30000  # 300 yuan per bed per month


# --- accrual -------------------------------------------------------------------------------

def test_a_full_month_costs_the_rent_whatever_its_length():
    assert accrue(JAN, None, JAN, RENT) == RENT  # 31 days
    assert accrue(JAN, None, FEB, RENT) == RENT  # 28 days
    assert accrue(JAN, None, APR, RENT) == RENT  # 30 days
    assert accrue(date(2025, 6, 3), date(2026, 7, 1), FEB, RENT) == RENT


def test_moving_in_during_the_month_is_prorated_from_the_check_in_day():
    assert nights_in_month(date(2026, 1, 11), None, JAN) == 21
    assert accrue(date(2026, 1, 11), None, JAN, RENT) == 20323  # 30000 × 21 ÷ 31 = 20322.58
    assert accrue(date(2026, 1, 31), None, JAN, RENT) == 968  # one night: 967.74


def test_the_check_out_day_is_not_charged():
    assert nights_in_month(date(2025, 12, 1), date(2026, 1, 10), JAN) == 9
    assert accrue(date(2025, 12, 1), date(2026, 1, 10), JAN, RENT) == 8710  # 8709.68
    assert accrue(date(2025, 12, 1), date(2026, 1, 1), JAN, RENT) == 0
    assert accrue(date(2026, 1, 5), date(2026, 1, 5), JAN, RENT) == 0  # in and out the same day


def test_a_stay_within_one_month():
    assert nights_in_month(date(2026, 4, 5), date(2026, 4, 15), APR) == 10
    assert accrue(date(2026, 4, 5), date(2026, 4, 15), APR, RENT) == 10000
    assert accrue(date(2026, 4, 5), date(2026, 4, 15), MAR, RENT) == 0
    assert accrue(date(2026, 4, 5), date(2026, 4, 15), date(2026, 5, 1), RENT) == 0


def test_february_in_leap_and_common_years():
    assert accrue(date(2024, 2, 15), None, date(2024, 2, 1), RENT) == 15517  # 15 of 29 nights
    assert accrue(date(2024, 2, 1), date(2024, 3, 1), date(2024, 2, 1), RENT) == RENT
    assert nights_in_month(date(2024, 2, 28), date(2024, 3, 2), date(2024, 2, 1)) == 2
    assert accrue(date(2025, 2, 15), None, date(2025, 2, 1), RENT) == 15000  # 14 of 28 nights


def test_thirty_one_day_months():
    assert accrue(date(2026, 3, 1), date(2026, 3, 2), MAR, 31000) == 1000
    assert accrue(date(2026, 3, 1), date(2026, 3, 31), MAR, 31000) == 30000
    assert accrue(date(2026, 3, 1), date(2026, 4, 1), MAR, 31000) == 31000


def test_rounding_is_half_up_per_stay_month():
    # one night of a 30-day month: rent ÷ 30
    assert accrue(APR, date(2026, 4, 2), APR, 15) == 1  # 0.5 → 1
    assert accrue(APR, date(2026, 4, 2), APR, 45) == 2  # 1.5 → 2
    assert accrue(APR, date(2026, 4, 2), APR, 75) == 3  # 2.5 → 3 (not banker's 2)
    assert accrue(APR, date(2026, 4, 2), APR, 74) == 2  # 2.47 → 2
    assert accrue(APR, date(2026, 4, 2), APR, 0) == 0
    assert split_subsidy(333, 50) == (167, 166)  # 166.5 → 167 for the employer
    assert split_subsidy(30000, 30) == (9000, 21000)
    assert split_subsidy(30000, 0) == (0, 30000) and split_subsidy(30000, 100) == (30000, 0)


def test_a_stay_across_months_adds_up_to_its_nights():
    start, end = date(2026, 1, 20), date(2026, 3, 5)
    nights = [nights_in_month(start, end, month) for month in (JAN, FEB, MAR)]
    assert nights == [12, 28, 4] and sum(nights) == (end - start).days
    assert [accrue(start, end, month, RENT) for month in (JAN, FEB, MAR)] == [11613, RENT, 3871]
    assert accrue(start, end, date(2025, 12, 1), RENT) == accrue(start, end, APR, RENT) == 0


@pytest.mark.parametrize("text", ["", "2026", "2026-13", "2026-00", "26-01", "2026-1", "abcd-ef",
                                  "2026-01-01", "1999-12", "２０２６-01"])
def test_bad_months_are_refused_with_a_message(text):
    with pytest.raises(ValidationFailed) as caught:
        parse_month(text)
    assert "YYYY-MM" in caught.value.message


def test_parse_month():
    assert parse_month("2026-02") == FEB and parse_month(" 2024-12 ") == date(2024, 12, 1)


# --- statement, subsidies, payments -------------------------------------------------------

def beds(park) -> list[Bed]:
    return list(db.session.scalars(select(Bed).join(Room).join(Building)
                                   .where(Building.park_id == park.id).order_by(Bed.id)))


def stay(worker, bed, start, end=None) -> Stay:
    row = Stay(worker_id=worker.id, bed_id=bed.id, start_date=start, end_date=end,
               status=StayStatus.ENDED if end else StayStatus.ACTIVE)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def housed(app):
    """A park with rent 300 and 400 yuan rooms; two employers' workers and a gig worker in it."""
    park, employer, manager = make_park("A,101,1,F,2,standard,no,20,300,,\n"
                                        "A,102,1,F,4,standard,no,20,400,,")
    other = make_org("employer", park_code=park.code, name="Zeta Works")
    alice = make_user("worker", org=employer)
    bea = make_user("worker", org=employer)
    cai = make_user("worker", org=other)
    gig = make_user("worker")
    b = beds(park)
    stays = {"alice": stay(alice, b[0], date(2025, 12, 1)),  # whole month, 300
             "bea": stay(bea, b[1], date(2026, 1, 11), date(2026, 2, 1)),  # 21 nights of 300
             "cai": stay(cai, b[2], date(2026, 1, 1), date(2026, 1, 16)),  # 15 nights of 400
             "gig": stay(gig, b[3], date(2026, 1, 1))}
    stay(make_user("worker", org=employer), b[4], date(2025, 11, 1), date(2026, 1, 1))  # gone
    stay(make_user("worker", org=employer), b[5], date(2026, 2, 1))  # not yet there
    return park, employer, other, manager, stays


def test_statement_lists_each_stay_with_nights_in_the_month(housed):
    park, employer, other, manager, stays = housed
    rows = monthly_statement(park.id, "2026-01")
    assert {row.stay_id for row in rows} == {s.id for s in stays.values()}
    by_stay = {row.stay_id: row for row in rows}
    assert (by_stay[stays["alice"].id].nights, by_stay[stays["alice"].id].gross_fen) == (31, 30000)
    assert (by_stay[stays["bea"].id].nights, by_stay[stays["bea"].id].gross_fen) == (21, 20323)
    assert (by_stay[stays["cai"].id].nights, by_stay[stays["cai"].id].gross_fen) == (15, 19355)
    gig = by_stay[stays["gig"].id]
    assert gig.employer_id is None and gig.deduction_fen == gig.gross_fen == 40000
    alice = by_stay[stays["alice"].id]
    assert alice.bed_label.startswith("A-101-") and "*" in alice.phone_masked
    assert alice.deduction_fen == alice.unpaid_fen == 30000 and alice.paid_fen == 0
    assert [row.stay_id for row in monthly_statement(park.id, JAN, employer_id=other.id)] == [stays["cai"].id]


def test_subsidy_splits_the_rent_from_its_month_on(housed):
    park, employer, other, manager, stays = housed
    ops.set_subsidy(actor_id=manager.id, park_id=park.id, employer_id=employer.id,
                    share_percent=30, valid_from=JAN)
    ops.set_subsidy(actor_id=manager.id, park_id=park.id, employer_id=employer.id,
                    share_percent=50, valid_from=FEB)
    db.session.commit()
    december = {r.stay_id: r for r in monthly_statement(park.id, date(2025, 12, 1))}
    assert december[stays["alice"].id].subsidy_fen == 0
    january = {r.stay_id: r for r in monthly_statement(park.id, JAN)}
    alice, bea, cai = (january[stays[name].id] for name in ("alice", "bea", "cai"))
    assert (alice.share_percent, alice.subsidy_fen, alice.deduction_fen) == (30, 9000, 21000)
    assert (bea.subsidy_fen, bea.deduction_fen) == (6097, 14226)  # 20323 × 30% = 6096.9
    assert cai.subsidy_fen == 0 and cai.deduction_fen == cai.gross_fen
    february = {r.stay_id: r for r in monthly_statement(park.id, FEB)}
    assert february[stays["alice"].id].subsidy_fen == 15000
    totals, grand = totals_by_employer(list(january.values()))
    mine = next(t for t in totals if t.employer_id == employer.id)
    assert (mine.workers, mine.gross_fen, mine.subsidy_fen, mine.deduction_fen) == (2, 50323, 15097, 35226)
    assert grand.gross_fen == 30000 + 20323 + 19355 + 40000 == grand.subsidy_fen + grand.deduction_fen


def test_setting_a_subsidy_again_replaces_it_and_is_audited(housed):
    park, employer, other, manager, stays = housed
    first = ops.set_subsidy(actor_id=manager.id, park_id=park.id, employer_id=employer.id,
                            share_percent=20, valid_from=JAN)
    again = ops.set_subsidy(actor_id=manager.id, park_id=park.id, employer_id=employer.id,
                            share_percent=40, valid_from=JAN)
    db.session.commit()
    assert first.id == again.id and again.share_percent == 40
    assert db.session.scalar(select(RentSubsidy).where(RentSubsidy.id == first.id)).share_percent == 40
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dorms.rent_subsidy_set")
                                     .order_by(AuditEvent.id)))
    assert len(events) == 2 and events[1].changes["share_percent"] == [20, 40]


@pytest.mark.parametrize("kwargs, field", [
    ({"share_percent": 101}, "share_percent"), ({"share_percent": -1}, "share_percent"),
    ({"valid_from": date(2026, 1, 2)}, "valid_from"), ({"employer": "park"}, "employer")])
def test_bad_subsidies_are_refused(housed, kwargs, field):
    park, employer, other, manager, stays = housed
    data = {"share_percent": 10, "valid_from": JAN, "employer_id": employer.id}
    if kwargs.pop("employer", None):
        data["employer_id"] = park.id
    data.update(kwargs)
    with pytest.raises(ValidationFailed) as caught:
        ops.set_subsidy(actor_id=manager.id, park_id=park.id, **data)
    assert field in caught.value.fields


def test_the_database_keeps_the_share_in_range(housed):
    park, employer, other, manager, stays = housed
    db.session.add(RentSubsidy(employer_id=employer.id, park_id=park.id, share_percent=120,
                               valid_from=JAN))
    with pytest.raises(Exception):
        db.session.flush()
    db.session.rollback()


def test_payments_lower_what_is_unpaid_and_cannot_overpay(housed):
    park, employer, other, manager, stays = housed
    ops.set_subsidy(actor_id=manager.id, park_id=park.id, employer_id=employer.id,
                    share_percent=30, valid_from=JAN)
    alice = stays["alice"]
    ops.record_payment(actor_id=manager.id, stay=alice, month_first_day=JAN, amount_fen=20000,
                       paid_on=date(2026, 2, 5))
    db.session.commit()
    row = next(r for r in monthly_statement(park.id, JAN) if r.stay_id == alice.id)
    assert (row.deduction_fen, row.paid_fen, row.unpaid_fen) == (21000, 20000, 1000)
    with pytest.raises(Conflict) as caught:
        ops.record_payment(actor_id=manager.id, stay=alice, month_first_day=JAN, amount_fen=1001,
                           paid_on=date(2026, 2, 5))
    assert "10.00" in caught.value.message
    db.session.rollback()
    ops.record_payment(actor_id=manager.id, stay=alice, month_first_day=JAN, amount_fen=1000,
                       paid_on=date(2026, 2, 6))
    db.session.commit()
    row = next(r for r in monthly_statement(park.id, JAN) if r.stay_id == alice.id)
    assert row.unpaid_fen == 0 and row.paid_fen == 21000
    payments = list(db.session.scalars(select(RentPayment).order_by(RentPayment.id)))
    assert [(p.month, p.amount_fen, p.recorded_by) for p in payments] == [
        ("2026-01", 20000, manager.id), ("2026-01", 1000, manager.id)]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "dorms.rent_paid")) is not None
    # other months are untouched
    feb = next(r for r in monthly_statement(park.id, FEB) if r.stay_id == alice.id)
    assert feb.paid_fen == 0 and feb.unpaid_fen == 21000


def test_payment_rules(housed):
    park, employer, other, manager, stays = housed
    with pytest.raises(ValidationFailed) as caught:  # bea left on 1 Feb
        ops.record_payment(actor_id=manager.id, stay=stays["bea"], month_first_day=FEB,
                           amount_fen=100, paid_on=date(2026, 2, 1))
    assert "month" in caught.value.fields
    with pytest.raises(ValidationFailed):
        ops.record_payment(actor_id=manager.id, stay=stays["bea"], month_first_day=JAN,
                           amount_fen=0, paid_on=date(2026, 2, 1))
    with pytest.raises(ValidationFailed):
        ops.record_payment(actor_id=manager.id, stay=stays["bea"], month_first_day=JAN,
                           amount_fen=100, paid_on=date.today() + timedelta(days=1))


def test_a_back_dated_check_out_can_leave_a_credit(housed):
    park, employer, other, manager, stays = housed
    alice = stays["alice"]
    ops.record_payment(actor_id=manager.id, stay=alice, month_first_day=JAN, amount_fen=30000,
                       paid_on=date(2026, 1, 31))
    alice.status, alice.end_date = StayStatus.ENDED, date(2026, 1, 16)
    db.session.commit()
    row = next(r for r in monthly_statement(park.id, JAN) if r.stay_id == alice.id)
    assert row.gross_fen == 14516 and row.unpaid_fen == 14516 - 30000
