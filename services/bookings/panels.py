"""Home-page panels of the bookings domain."""
from __future__ import annotations

from services.bookings import queries
from services.core.access import Role
from services.core.panels import register_panel


def _worker_context(user) -> dict:
    return {"upcoming": queries.next_bookings(user.id)}


def _provider_context(user) -> dict:
    return {"slots": queries.todays_slots(user.org_id)}


register_panel("bookings_worker", roles=(Role.WORKER,), template="bookings/_panel_worker.html",
               context=_worker_context, order=40)
register_panel("bookings_provider", roles=(Role.PROVIDER,),
               template="bookings/_panel_provider.html", context=_provider_context, order=40)
register_panel("bookings_reports", roles=(Role.COORDINATOR, Role.ADMIN),
               template="bookings/_panel_reports.html", order=60)
