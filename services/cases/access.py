"""Loading cases, handoffs and attachments for the signed-in user, with the access log.

Everything is loaded through these helpers: they answer 404 (never 403) when the caller may not
see the object, so nobody learns that a case exists. Every view of a case's details by someone
other than the worker it belongs to goes to the access log — the owning caseworker included,
because ownership changes and the log must answer "who has seen this worker's data".
"""
from __future__ import annotations

from flask_login import current_user

from services.cases.models import Case, CaseFile, Handoff, agency_of, can_view
from services.core.access import visible_or_404
from services.core.audit import log_access
from services.extensions import db


def _user(user):
    return user if user is not None else current_user._get_current_object()


def log_case_view(case: Case, user, action: str = "case.viewed") -> None:
    if user.id != case.worker_id:
        log_access(action=action, object_type="case", object_id=case.id, actor_id=user.id)


def case_or_404(case_id: int, *, user=None, viewed: bool = False) -> Case:
    """The case if the user may see it; `viewed` writes the read to the access log."""
    user = _user(user)
    case = visible_or_404(db.session.get(Case, case_id), lambda c: can_view(user, c))
    if viewed:
        log_case_view(case, user)
    return case


def own_case_or_404(case_id: int, *, user=None) -> Case:
    """A worker's own request (and nobody else's)."""
    user = _user(user)
    return visible_or_404(db.session.get(Case, case_id), lambda c: c.worker_id == user.id)


def handoff_or_404(handoff_id: int, *, user=None) -> Handoff:
    """A handoff of a case the user may see, addressed to or sent by the user's agency."""
    user = _user(user)
    agency = agency_of(user)
    return visible_or_404(db.session.get(Handoff, handoff_id),
                          lambda h: agency in (h.to_agency, h.from_agency) and can_view(user, h.case))


def case_file_or_404(case_id: int, file_id: int, *, user=None) -> CaseFile:
    """An attachment of a case the user may see (the worker's own, or an agency's within consent)."""
    user = _user(user)
    case = visible_or_404(db.session.get(Case, case_id), lambda c: can_view(user, c))
    attached = visible_or_404(db.session.get(CaseFile, file_id), lambda f: f.case_id == case.id)
    log_case_view(case, user, action="case.file_downloaded")
    return attached
