"""Every state change of the bookings domain, by topic.

Each operation takes keyword-only arguments, checks its rule, changes the models, writes an
AuditEvent, flushes and returns what it changed. None commits: the view, API handler, CLI
command or job does, once.
"""
from services.bookings.operations.attendance import (apply_no_show_rule, booking_from_token,
                                                     check_in, check_in_by_code, check_in_token,
                                                     lift_suspension, mark_no_shows,
                                                     staff_may_handle)
from services.bookings.operations.booking import (BookingOutcome, book, cancel, expire_waitlists,
                                                  promote_waitlist, seat_count)
from services.bookings.operations.catalogue import (add_slot, add_weekly_pattern, create_service,
                                                    update_service)
from services.bookings.operations.lottery import draw, draw_due, lottery_value, send_reminders
from services.bookings.operations.sweep import sweep

__all__ = [
    "BookingOutcome", "add_slot", "add_weekly_pattern", "apply_no_show_rule",
    "booking_from_token", "book", "cancel", "check_in", "check_in_by_code", "check_in_token",
    "create_service", "draw", "draw_due", "expire_waitlists", "lift_suspension",
    "lottery_value", "mark_no_shows", "promote_waitlist", "seat_count", "send_reminders",
    "staff_may_handle", "sweep", "update_service",
]
