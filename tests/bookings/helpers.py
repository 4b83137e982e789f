"""Factories for booking tests: services, slots and bookings made through the operations."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.bookings import operations
from services.bookings.models import Service, Slot
from services.extensions import db
from tests.factories import make_user


def utc(hours: float = 0, *, days: float = 0) -> datetime:
    return (datetime.now(timezone.utc) + timedelta(hours=hours, days=days)).replace(microsecond=0)


def make_service(provider=None, **fields) -> Service:
    provider = provider or make_user("provider")
    values = {"title": "Legal consultation", "category": "legal", "location": "Union hall 2F"}
    values.update(fields)
    service = operations.create_service(actor=provider, **values)
    db.session.commit()
    return service


def make_slot(service: Service, *, capacity: int = 5, start_in_hours: float = 48,
              length_hours: float = 1, provider=None) -> Slot:
    from services.accounts.models import User
    from sqlalchemy import select

    provider = provider or db.session.scalar(
        select(User).where(User.org_id == service.provider_id, User.role == "provider").limit(1))
    starts = utc(start_in_hours)
    slot = operations.add_slot(actor=provider, service=service, starts_at=starts,
                               ends_at=starts + timedelta(hours=length_hours), capacity=capacity)
    db.session.commit()
    return slot


def book(worker, slot, **kwargs):
    outcome = operations.book(worker=worker, slot=slot, **kwargs)
    db.session.commit()
    return outcome.booking
