"""Demo bookings data, called by `services.demo` after the small demo set (orgs and accounts).

- 劳动争议法律咨询 (legal consultation) of `yc-legal-aid`: weekday slots over the next two weeks,
  morning and afternoon, 3 seats each; the demo worker `worker` holds one booking.
- 劳动法律知识培训班 (a labour-law training course) of `yc-legal-aid`, by lottery: Saturday
  mornings, 20 seats, drawn 48 hours before.
- 爱心驿站 (rest station) of the union's outdoor-workers station `yc-union-station` (created
  here, with the staff account `station`), for gig workers: daily at noon, 15 seats.

Idempotent: a service that already exists (same provider and title) is left alone.
"""
from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from services.accounts import operations as accounts
from services.accounts.models import User
from services.bookings import operations
from services.bookings.models import Service, Slot
from services.extensions import db

STATION_ORG = ("yc-union-station", "盐城市总工会户外劳动者服务站")
STATION_ACCOUNT = ("station", "钱晓梅", "rest-station staff (yc-union-station)")


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def _exists(provider_id: int, title: str) -> bool:
    return db.session.scalar(select(Service.id).where(Service.provider_id == provider_id,
                                                      Service.title == title)) is not None


def _station_staff(password: str) -> User:
    accounts.upsert_org(actor_id=None, kind="provider", code=STATION_ORG[0], name=STATION_ORG[1])
    staff = _user(STATION_ACCOUNT[0])
    if staff is None:
        staff = accounts.create_user(actor_id=None, role="provider", username=STATION_ACCOUNT[0],
                                     password=password, name=STATION_ACCOUNT[1],
                                     org_code=STATION_ORG[0])
    return staff


def seed_demo(*, password: str | None = None, today: date | None = None) -> None:
    """Create the demo services, slots and a booking where missing (the caller commits)."""
    if password is None:
        from services.demo import DEMO_PASSWORD as password
    today = today or date.today()
    first, last = today + timedelta(days=1), today + timedelta(days=14)
    legal_staff = _user("provider")
    if legal_staff is None:
        return  # the small demo set (services.demo.seed_small) comes first
    title = "劳动争议法律咨询"
    if not _exists(legal_staff.org_id, title):
        legal = operations.create_service(
            actor=legal_staff, title=title, category="legal",
            description="律师一对一解答欠薪、工伤、劳动合同等问题。请带上劳动合同、工资条等材料。",
            location="盐城市开发区职工服务中心 2 楼 法律援助窗口", max_active_bookings=2,
            cancel_hours_before=12)
        for start, end in ((time(9, 0), time(10, 0)), (time(14, 30), time(15, 30))):
            operations.add_weekly_pattern(actor=legal_staff, service=legal,
                                          weekdays=[1, 2, 3, 4, 5], start_time=start,
                                          end_time=end, capacity=3, first_date=first,
                                          last_date=last)
        worker = _user("worker")
        slot = db.session.scalar(select(Slot).where(Slot.service_id == legal.id)
                                 .order_by(Slot.starts_at).limit(1))
        if worker is not None and slot is not None:
            operations.book(worker=worker, slot=slot, idempotency_key="demo-legal-booking")
    title = "劳动法律知识培训班"
    if not _exists(legal_staff.org_id, title):
        course = operations.create_service(
            actor=legal_staff, title=title, category="training", mode="lottery",
            description="半天课程：劳动合同、工资支付、工伤认定。名额有限，截止后公开摇号。",
            location="盐城市职工培训中心 302 教室", lottery_hours_before=48, max_active_bookings=1)
        operations.add_weekly_pattern(actor=legal_staff, service=course, weekdays=[6],
                                      start_time=time(9, 0), end_time=time(12, 0), capacity=20,
                                      first_date=first + timedelta(days=2), last_date=last)
    station_staff = _station_staff(password)
    title = "爱心驿站 午间休息与充电"
    if not _exists(station_staff.org_id, title):
        station = operations.create_service(
            actor=station_staff, title=title, category="rest_station", eligibility="platform",
            description="为骑手、快递员、司机提供休息、饮水、充电和微波炉加热。",
            location="开发区希望大道 88 号 工会户外劳动者服务站", max_active_bookings=3,
            cancel_hours_before=1, close_minutes_before=15, open_days_before=3)
        operations.add_weekly_pattern(actor=station_staff, service=station,
                                      weekdays=[1, 2, 3, 4, 5, 6, 7], start_time=time(11, 0),
                                      end_time=time(14, 0), capacity=15, first_date=first,
                                      last_date=last)
    db.session.flush()


DEMO_ACCOUNTS = [STATION_ACCOUNT]  # (username, name, what) for the README's accounts table
