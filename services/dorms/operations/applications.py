"""Applications: eligibility, submission, points, queue position, withdrawal."""
from __future__ import annotations

import re
from datetime import date, timedelta
from hashlib import sha256

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from services.accounts.models import EmploymentForm, User, WorkerFacts
from services.core.access import Role
from services.core.audit import record, utcnow
from services.core.errors import Conflict, InvalidState, ValidationFailed
from services.dorms import points
from services.dorms.models import (HOLDING_STAY, OPEN_APPLICATION, QUEUED_APPLICATION,
                                   ApplicationStatus, Building, DormApplication, Shift, Stay)
from services.dorms.operations.inventory import ensure_policy, park_by_id, policy_for
from services.extensions import db

GROUP_RE = re.compile(r"^[A-Za-z0-9_-]{3,40}$")
MAX_PREFERRED = 3
MAX_RENT_FEN = 10_000_000


def lottery_value(seed: str, applicant_id: str) -> float:
    """The published lottery recipe (design/dorms.md): lower goes first."""
    return int.from_bytes(sha256(f"{seed}:{applicant_id}".encode()).digest()[:8], "big") / 2**64


def current_seed(park_id: int) -> str:
    return policy_for(park_id).lottery_seed or f"park-{park_id}"


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(message), fields={field: str(message)})


def eligibility_problem(worker: User, park_id: int) -> str | None:
    """Why this worker may not apply to this park, or None."""
    if worker.role is not Role.WORKER or not worker.active:
        return str(_l("Only workers can apply for a dormitory bed."))
    employed_here = worker.org is not None and worker.org.park_id == park_id
    gig = worker.employment_form is EmploymentForm.PLATFORM
    if not employed_here and not (gig and policy_for(park_id).admits_gig_workers):
        return str(_l("Beds in this park are for workers of its companies. Set your employer "
                      "in your profile if it is in this park."))
    if db.session.scalar(select(Stay.id).where(Stay.worker_id == worker.id,
                                               Stay.status.in_(HOLDING_STAY))):
        return str(_l("You already have a bed or a bed offer."))
    if db.session.scalar(select(DormApplication.id).where(
            DormApplication.worker_id == worker.id, DormApplication.park_id == park_id,
            DormApplication.status.in_(OPEN_APPLICATION))):
        return str(_l("You already have an open application for this park."))
    return None


def refresh_all_points(applications: list[DormApplication], *, park_id: int,
                       today: date | None = None) -> None:
    """Recompute the points of many applications of one park (two queries, whatever their number)."""
    weights = policy_for(park_id).weights
    ids = [a.worker_id for a in applications]
    facts = {row.user_id: points.Facts(honour=row.honour.value, hardship_registered=row.hardship_registered,
                                       skill_grade=row.skill_grade, in_park_since=row.in_park_since)
             for row in db.session.scalars(select(WorkerFacts).where(WorkerFacts.user_id.in_(ids)))} if ids else {}
    today = today or date.today()
    for application in applications:
        application.points, application.points_breakdown = points.compute(
            facts.get(application.worker_id, points.Facts()),
            applied_on=application.submitted_at.date(), today=today, weights=weights)


def refresh_points(application: DormApplication, *, today: date | None = None) -> None:
    refresh_all_points([application], park_id=application.park_id, today=today)


def submit_application(
    *, worker: User, park_id: int, gender: str, move_in_date: date, shift: Shift | str,
    smoker: bool, needs_accessible: bool, max_rent_fen: int, preferred_buildings: list[str],
    group_code: str | None = None, couple_with_username: str | None = None,
) -> DormApplication:
    """File a worker's application for a bed in a park (eligibility checked, points computed)."""
    park_by_id(park_id)
    problem = eligibility_problem(worker, park_id)
    if problem:
        raise Conflict(problem, code="not_eligible")
    if gender not in ("M", "F"):
        raise _invalid("gender", _l("Choose male or female (rooms are single-sex)."))
    try:
        shift = Shift(shift)
    except ValueError:
        raise _invalid("shift", _l("Choose a value from the list.")) from None
    today = date.today()
    if not today <= move_in_date <= today + timedelta(days=365):
        raise _invalid("move_in_date", _l("Choose a date from today to one year ahead."))
    if not 0 <= int(max_rent_fen) <= MAX_RENT_FEN:
        raise _invalid("max_rent_fen", _l("Enter a rent between 0 and 100,000 yuan."))
    codes = [c.strip().upper() for c in preferred_buildings if c and c.strip()]
    if len(codes) > MAX_PREFERRED or len(set(codes)) != len(codes):
        raise _invalid("preferred_buildings", _l("Choose up to three different buildings."))
    known = set(db.session.scalars(select(Building.code).where(Building.park_id == park_id)))
    if set(codes) - known:
        raise _invalid("preferred_buildings", _l("Choose buildings of this park."))
    partner = None
    if couple_with_username:
        partner = db.session.scalar(select(User).where(
            User.username == couple_with_username.strip().lower(), User.role == Role.WORKER))
        if partner is None or partner.id == worker.id:
            raise _invalid("couple_with", _l("Enter your spouse's Anju username."))
        group_code = f"couple-{min(worker.id, partner.id)}-{max(worker.id, partner.id)}"
    elif group_code:
        if not GROUP_RE.match(group_code.strip()):
            raise _invalid("group_code", _l("A group code has 3–40 letters, digits, - or _."))
        group_code = group_code.strip().lower()
    application = DormApplication(
        worker_id=worker.id, park_id=park_id, status=ApplicationStatus.WAITLISTED, gender=gender,
        move_in_date=move_in_date, shift=shift, smoker=bool(smoker),
        needs_accessible=bool(needs_accessible), max_rent_fen=int(max_rent_fen),
        preferred_buildings=codes, group_code=group_code or None,
        couple_with_id=partner.id if partner else None, submitted_at=utcnow(),
    )
    db.session.add(application)
    db.session.flush()
    application.lottery = lottery_value(current_seed(park_id), str(application.id))
    refresh_points(application, today=today)
    record(action="dorms.application_submitted", object_type="dorm_application",
           object_id=application.id, actor_id=worker.id,
           after={"park_id": park_id, "points": application.points, "status": application.status})
    db.session.flush()
    return application


def withdraw_application(*, worker: User, application: DormApplication) -> DormApplication:
    """The worker withdraws a queued application (an offer is declined instead)."""
    if application.worker_id != worker.id:
        raise InvalidState(str(_l("This is not your application.")))
    if application.status not in QUEUED_APPLICATION:
        raise InvalidState(str(_l("Only a waiting application can be withdrawn.")))
    before = application.status
    application.status = ApplicationStatus.WITHDRAWN
    record(action="dorms.application_withdrawn", object_type="dorm_application",
           object_id=application.id, actor_id=worker.id, before={"status": before},
           after={"status": application.status})
    db.session.flush()
    return application


def queue_position(application: DormApplication) -> int | None:
    """1-based place among the park's waiting applications (points, then lottery)."""
    if application.status not in QUEUED_APPLICATION:
        return None
    ahead = db.session.scalar(select(func.count(DormApplication.id)).where(
        DormApplication.park_id == application.park_id,
        DormApplication.status.in_(QUEUED_APPLICATION),
        DormApplication.id != application.id,
        or_(DormApplication.points > application.points,
            and_(DormApplication.points == application.points,
                 DormApplication.lottery < application.lottery)),
    )) or 0
    return ahead + 1


def publish_seed(*, actor_id: int, park_id: int, seed: str) -> int:
    """Publish the lottery seed for the next draw; every waiting application's tie-break changes."""
    seed = (seed or "").strip()
    if not 4 <= len(seed) <= 120:
        raise _invalid("seed", _l("The seed is 4–120 characters, e.g. the draw's date and place."))
    policy = ensure_policy(park_id)
    before = policy.lottery_seed
    policy.lottery_seed, policy.seed_published_at = seed, utcnow()
    waiting = list(db.session.scalars(select(DormApplication).where(
        DormApplication.park_id == park_id, DormApplication.status.in_(QUEUED_APPLICATION))))
    for application in waiting:
        application.lottery = lottery_value(seed, str(application.id))
    record(action="dorms.seed_published", object_type="park", object_id=park_id,
           actor_id=actor_id, before={"seed": before}, after={"seed": seed})
    db.session.flush()
    return len(waiting)
