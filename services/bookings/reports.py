"""Dashboard figures per service: bookings, attendance rate, no-shows, waitlist demand; exports.

Attendance rate = attended / (attended + no-shows + late cancellations), over slots that have
ended. Waitlist demand = people who asked for a seat and did not (yet) get one: on a waitlist,
whose waitlist expired, or not drawn in a lottery.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import case, func, select

from services.accounts.models import Organisation
from services.bookings.models import Booking, BookingStatus, Service
from services.core.tabular import csv_text, xlsx_bytes
from services.extensions import db

COLUMNS = ("service_id", "service", "provider", "bookings", "attended", "no_shows",
           "late_cancellations", "cancelled", "waitlist_demand", "attendance_rate")


@dataclass
class ServiceStats:
    service_id: int
    service: str
    provider: str
    bookings: int
    attended: int
    no_shows: int
    late_cancellations: int
    cancelled: int
    waitlist_demand: int

    @property
    def attendance_rate(self) -> float | None:
        judged = self.attended + self.no_shows + self.late_cancellations
        return round(self.attended / judged, 3) if judged else None

    def row(self) -> dict:
        return asdict(self) | {"attendance_rate": self.attendance_rate}


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def service_stats(*, provider_id: int | None = None) -> list[ServiceStats]:
    """One row per service (of one provider, or all), busiest first."""
    status = Booking.status
    seated = status.in_((BookingStatus.BOOKED, BookingStatus.ATTENDED, BookingStatus.NO_SHOW))
    query = (
        select(Service.id, Service.title, Organisation.name,
               _count(seated | Booking.late_cancel.is_(True)),
               _count(status == BookingStatus.ATTENDED), _count(status == BookingStatus.NO_SHOW),
               _count(Booking.late_cancel.is_(True)), _count(status == BookingStatus.CANCELLED),
               _count(status.in_((BookingStatus.WAITLISTED, BookingStatus.EXPIRED,
                                  BookingStatus.NOT_DRAWN))))
        .join(Organisation, Organisation.id == Service.provider_id)
        .outerjoin(Booking, Booking.service_id == Service.id)
        .group_by(Service.id, Service.title, Organisation.name)
    )
    if provider_id is not None:
        query = query.where(Service.provider_id == provider_id)
    rows = [ServiceStats(sid, title, provider, *map(int, counts))
            for sid, title, provider, *counts in db.session.execute(query)]
    return sorted(rows, key=lambda r: (-r.bookings, r.service))


def to_csv(rows: list[ServiceStats]) -> str:
    return csv_text(COLUMNS, ([row.row()[key] for key in COLUMNS] for row in rows))


def to_xlsx(rows: list[ServiceStats]) -> bytes:
    return xlsx_bytes(COLUMNS, ([row.row()[key] for key in COLUMNS] for row in rows), title="bookings")


def attendance_csv(slot, bookings) -> str:
    """The sign-in sheet of one slot: name, code, status, check-in time (Beijing time)."""
    from services.bookings.operations.common import local

    return csv_text(["name", "code", "status", "checked_in_at"], (
        [booking.worker.display_name, booking.check_in_code, booking.status.value,
         local(booking.attended_at).strftime("%Y-%m-%d %H:%M") if booking.attended_at else ""]
        for booking in bookings))
