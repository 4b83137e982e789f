"""Booking pages: one blueprint, `bookings`, with the worker's, the provider's and the report pages.

Paths: `/services…` (catalogue), `/bookings…` (a worker's bookings), `/provider/…` (provider
staff), `/booking-reports…` (dashboard and exports).
"""
from flask import Blueprint

import services.bookings.models  # noqa: F401  (the domain's tables)

bookings_bp = Blueprint("bookings", __name__)


@bookings_bp.app_template_filter("utc_iso")
def utc_iso(value) -> str:
    """A stored time as ISO 8601 with its UTC offset (SQLite hands back naive UTC values)."""
    return services.bookings.models.as_utc(value).isoformat() if value else ""


from services.bookings import export, panels  # noqa: E402,F401  (register on import)
from services.bookings.views import provider, reports, worker  # noqa: E402,F401

__all__ = ["bookings_bp"]
