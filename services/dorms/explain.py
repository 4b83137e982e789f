"""Plain-language explanations for workers: status, and why a run placed them or not."""
from __future__ import annotations

from services.core.i18n import gettext as _
from services.core.i18n import lazy_gettext as _l

from services.dorms.models import ApplicationStatus

STATUS_LABELS = {
    ApplicationStatus.SUBMITTED: _l("Submitted"),
    ApplicationStatus.WAITLISTED: _l("In the queue"),
    ApplicationStatus.OFFERED: _l("Bed offered"),
    ApplicationStatus.ACCEPTED: _l("Bed accepted"),
    ApplicationStatus.HOUSED: _l("Housed"),
    ApplicationStatus.REJECTED: _l("Not eligible"),
    ApplicationStatus.DECLINED: _l("Offer declined"),
    ApplicationStatus.EXPIRED: _l("Closed (offer not answered)"),
    ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
}


def status_label(status: ApplicationStatus) -> str:
    return str(STATUS_LABELS[status])


def reason_text(application, room_label: str | None = None) -> str | None:
    """Why the last run placed this application or not, in words a worker understands."""
    code, detail = application.reason_code, application.reason_detail or {}
    if code is None:
        return None
    if code == "placed":
        return _("Placed in %(room)s.", room=room_label) if room_label else _("Placed.")
    if code == "outranked" and detail.get("cutoff_points") is not None:
        return _("Outranked: the last applicant placed in a room you could take had %(cut)s "
                 "points; you have %(mine)s.", cut=detail["cutoff_points"], mine=application.points)
    return str(_REASONS.get(code) or _("Not placed in the last run (%(code)s).", code=code))


_REASONS = {  # translated when shown, one at a time
    "outranked": _l("Outranked: the rooms you could take went to applicants with more points."),
    "no_feasible_room": _l("No room in this park matches your application now."),
    "no_room_within_rent": _l("No room within your maximum rent."),
    "no_accessible_room": _l("No accessible room is available."),
    "no_room_for_gender": _l("No room for your gender has space."),
    "no_room_for_shift": _l("No room with space has people on your shift."),
    "couple_shifts_differ": _l("You and your spouse work different shifts; couple rooms need one shift."),
    "no_non_smoking_room": _l("No non-smoking room has space."),
    "reserved_for_other_employers": _l("The rooms with space are reserved for other companies."),
    "no_free_bed": _l("There are no free beds in this park now."),
    "no_couple_room": _l("No couple room is free."),
    "waiting_for_partner": _l("Waiting for your spouse's application."),
    "offer_expired": _l("Your last offer expired without an answer."),
}
