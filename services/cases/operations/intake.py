"""Intake: a submitted request becomes a numbered case, dispatched to its lead at once.

The resolve clock starts at dispatch (the moment of submission), never at signing for it. The
co-handling agencies of the routing rule get a referral handoff each, but only those the worker
consented to. Three or more wage-arrears requests against one employer (normalised name) within
30 days open, or join, a collective case for labour inspection led by HRSS.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.accounts.models import User
from services.cases import routing
from services.cases.labels import CATEGORY_LABELS, agency_label, label
from services.cases.models import (CASE_NO_PREFIX, OPEN_STATUSES, Case, CaseCounter, CaseEvent,
                                   CaseFile, CaseLeadPeriod, ContactPreference, Handoff, HandoffKind,
                                   HandoffStatus)
from services.core import notify
from services.core.access import Role
from services.core.audit import record, utcnow
from services.core.calendar import DEFAULT_TZ, BusinessCalendar, load_calendar
from services.core.errors import Forbidden, ValidationFailed
from services.core.uploads import StoredFile, save_upload, upload_dir
from services.extensions import db

COLLECTIVE_THRESHOLD = 3
COLLECTIVE_WINDOW = timedelta(days=30)
COLLECTIVE_LEAD = "hrss"
MAX_FILES = 6
DESCRIPTION_MAX = 4000
EARLIEST_INCIDENT = date(2000, 1, 1)
_NOT_NAME = re.compile(r"[\W_]+", re.UNICODE)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def add_event(case: Case, key: str, **params) -> CaseEvent:
    """A line in the worker's status feed (rendered in plain Chinese by the aid pages)."""
    event = CaseEvent(case=case, key=key, params=params, at=utcnow())
    db.session.add(event)
    return event


def start_lead(case: Case, agency: str, now: datetime) -> None:
    """The case is now led by `agency`: end the running lead period and start the next one."""
    end_lead(case, now)
    db.session.add(CaseLeadPeriod(case_id=case.id, agency=agency, started_at=now))
    case.lead_agency = agency


def end_lead(case: Case, now: datetime) -> None:
    """Nobody holds the case any more (resolved, withdrawn, refused) or it changes hands."""
    db.session.flush()
    db.session.execute(update(CaseLeadPeriod).where(
        CaseLeadPeriod.case_id == case.id, CaseLeadPeriod.ended_at.is_(None))
        .values(ended_at=now).execution_options(synchronize_session=False))


def tell_worker(case: Case, title: str, body: str = "") -> None:
    if case.worker_id is not None:
        notify.send(user_id=case.worker_id, kind="case_update", title=title, body=body,
                    link=f"/aid/cases/{case.id}")


def staff_of(agency: str, *roles: Role) -> list[User]:
    from services.accounts.models import Organisation

    return list(db.session.scalars(
        select(User).join(Organisation, Organisation.id == User.org_id)
        .where(Organisation.code == agency, User.role.in_(roles), User.active.is_(True))
        .order_by(User.id)))


def tell_agency(agency: str, title: str, body: str = "", *, case: Case) -> None:
    for user in staff_of(agency, Role.SUPERVISOR, Role.CASEWORKER):
        notify.send(user_id=user.id, kind="case_agency", title=title, body=body,
                    link=f"/cases/{case.id}")


def normalise_employer(name: str) -> str:
    """One key for the ways people write one company: width, case, spaces and punctuation."""
    return _NOT_NAME.sub("", unicodedata.normalize("NFKC", name or "")).lower()[:200]


def next_case_no(year: int) -> str:
    """Take the next number of the year; the conditional UPDATE serialises concurrent takers."""
    for _ in range(2):
        bumped = db.session.execute(
            update(CaseCounter).where(CaseCounter.year == year)
            .values(last_no=CaseCounter.last_no + 1)
            .execution_options(synchronize_session=False)).rowcount
        if bumped:
            number = db.session.scalar(select(CaseCounter.last_no).where(CaseCounter.year == year))
            return f"{CASE_NO_PREFIX}-{year}-{number:06d}"
        try:
            with db.session.begin_nested():
                db.session.execute(insert(CaseCounter).values(year=year, last_no=0))
        except IntegrityError:
            pass  # another submission created the year's row first: bump it
    raise RuntimeError("could not allocate a case number")


def deadlines(calendar: BusinessCalendar, dispatched_at: datetime, *, ack_days: float,
              resolve_days: float) -> tuple[datetime, datetime]:
    """Acknowledge and resolve due instants, counted in working days from dispatch."""
    return (calendar.add_business_days(dispatched_at, ack_days),
            calendar.add_business_days(dispatched_at, resolve_days))


def submit_request(
    *, actor: User, worker: User, category: str, description: str, consent: list[str],
    amount_fen: int | None = None, employer_name: str = "", incident_start: date | None = None,
    incident_end: date | None = None, contact_preference: ContactPreference | str = "phone",
    now: datetime | None = None,
) -> Case:
    """File a request (the worker, or staff on their behalf): number it, route it, start the clock."""
    now = now or utcnow()
    if worker.role is not Role.WORKER:
        raise ValidationFailed(str(_l("A request is filed for a worker.")))
    if actor.id != worker.id and actor.role not in (Role.CASEWORKER, Role.SUPERVISOR,
                                                    Role.PROVIDER):
        raise Forbidden(str(_l("Only the worker or intake staff may file this request.")))
    errors = {}
    if category not in routing.CATEGORIES:
        errors["category"] = str(_l("Choose a category."))
    description = (description or "").strip()
    if not 5 <= len(description) <= DESCRIPTION_MAX:
        errors["description"] = str(_l("Describe what happened (5–4000 characters)."))
    if amount_fen is not None and amount_fen < 0:
        errors["amount_fen"] = str(_l("The amount cannot be negative."))
    today = now.astimezone(ZoneInfo(DEFAULT_TZ)).date()
    for name, value in (("incident_start", incident_start), ("incident_end", incident_end)):
        if value is not None and not EARLIEST_INCIDENT <= value <= today:
            errors[name] = str(_l("Enter a date between 2000 and today."))
    if incident_start and incident_end and incident_end < incident_start:
        errors["incident_end"] = str(_l("The end date is before the start date."))
    if len(employer_name or "") > 200:
        errors["employer_name"] = str(_l("At most 200 characters."))
    unknown = [a for a in consent if a not in routing.AGENCIES]
    if unknown:
        errors["consent"] = str(_l("Unknown agency in the consent."))
    try:
        contact_preference = ContactPreference(contact_preference)
    except ValueError:
        errors["contact_preference"] = str(_l("Choose how we should contact you."))
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    screen = routing.prescreen(category, consent)
    if not screen.lead_consented:
        message = str(_l("The agency that decides this request must be allowed to see it; "
                         "please tick it in the consent."))
        raise ValidationFailed(message, fields={"consent": message})

    calendar = load_calendar()
    ack_due, resolve_due = deadlines(calendar, now, ack_days=screen.ack_days,
                                     resolve_days=screen.resolve_days)
    case = Case(
        case_no=next_case_no(now.astimezone(calendar.tz).year), category=category,
        description=description, amount_fen=amount_fen,
        employer_name=(employer_name or "").strip(),
        employer_key=normalise_employer(employer_name), incident_start=incident_start,
        incident_end=incident_end, contact_preference=contact_preference,
        consented_agencies=sorted(set(consent)), worker_id=worker.id,
        filed_by=None if actor.id == worker.id else actor.id, lead_agency=screen.lead_agency,
        dispatched_at=now, ack_due_at=ack_due, resolve_due_at=resolve_due, created_at=now)
    db.session.add(case)
    db.session.flush()
    start_lead(case, screen.lead_agency, now)
    for agency in screen.co_agencies:
        db.session.add(Handoff(
            case=case, kind=HandoffKind.REFERRAL, from_agency=screen.lead_agency,
            to_agency=agency, requested_by=actor.id, due_at=ack_due, created_at=now,
            reason=str(_l("Co-handling under the routing rule for %(category)s.",
                          category=label(CATEGORY_LABELS, category)))))
    add_event(case, "submitted", case_no=case.case_no, lead=screen.lead_agency,
              co=list(screen.co_agencies), ack_due=ack_due.isoformat(),
              resolve_due=resolve_due.isoformat())
    record(action="cases.submitted", object_type="case", object_id=case.id, actor_id=actor.id,
           after={"case_no": case.case_no, "category": category, "lead": screen.lead_agency,
                  "co": ",".join(screen.co_agencies), "filed_by": case.filed_by})
    db.session.flush()
    tell_worker(case, str(_l("Your request %(no)s was received", no=case.case_no)),
                str(_l("It is with %(lead)s; you will hear back within one working day.",
                       lead=agency_label(screen.lead_agency))))
    tell_agency(screen.lead_agency, str(_l("New case %(no)s", no=case.case_no)), case=case)
    if category == "wage_arrears" and case.employer_key:
        link_collective(case=case, now=now)
    return case


def attach_files(*, actor: User, case: Case, files: list) -> list[CaseFile]:
    """Attach photos or PDFs (checked by content) to a case; all of them or none."""
    files = [f for f in files if f is not None and getattr(f, "filename", "")]
    if len(files) + len(case.files) > MAX_FILES:
        message = str(_l("At most %(n)d files per request.", n=MAX_FILES))
        raise ValidationFailed(message, fields={"files": message})
    stored: list[StoredFile] = []
    try:
        for upload in files:
            stored.append(save_upload(file=upload, uploaded_by=actor.id, field="files"))
    except ValidationFailed:
        for done in stored:  # the transaction rolls back; leave no file behind either
            (upload_dir() / done.stored_name).unlink(missing_ok=True)
        raise
    attached = [CaseFile(case_id=case.id, file_id=s.id, added_by=actor.id) for s in stored]
    db.session.add_all(attached)
    db.session.flush()
    db.session.expire(case, ["files"])
    for item in attached:
        record(action="cases.file_attached", object_type="case", object_id=case.id,
               actor_id=actor.id, after={"file_id": item.file_id})
    return attached


def link_collective(*, case: Case, now: datetime) -> Case | None:
    """Open or join the collective case of this employer when enough requests name it."""
    since = now - COLLECTIVE_WINDOW
    siblings = list(db.session.scalars(select(Case).where(
        Case.category == "wage_arrears", Case.employer_key == case.employer_key,
        Case.is_collective.is_(False), Case.created_at >= since).order_by(Case.id)))
    collective = db.session.scalar(select(Case).where(
        Case.is_collective.is_(True), Case.employer_key == case.employer_key,
        Case.status.in_(OPEN_STATUSES)))
    if collective is None:
        if len(siblings) < COLLECTIVE_THRESHOLD:
            return None
        calendar = load_calendar()
        _, _, days, ack_days, _ = routing._rule_fields("wage_arrears")
        ack_due, resolve_due = deadlines(calendar, now, ack_days=ack_days, resolve_days=days)
        collective = Case(
            case_no=next_case_no(now.astimezone(calendar.tz).year), category="wage_arrears",
            description=str(_l("Collective wage arrears: %(n)d requests against %(employer)s "
                               "within 30 days.", n=len(siblings), employer=case.employer_name)),
            employer_name=case.employer_name, employer_key=case.employer_key,
            consented_agencies=[COLLECTIVE_LEAD], lead_agency=COLLECTIVE_LEAD, is_collective=True,
            dispatched_at=now, ack_due_at=ack_due, resolve_due_at=resolve_due, created_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(collective)
                db.session.flush()
                start_lead(collective, COLLECTIVE_LEAD, now)
        except IntegrityError:  # a parallel submission opened it first
            collective = db.session.scalar(select(Case).where(
                Case.is_collective.is_(True), Case.employer_key == case.employer_key,
                Case.status.in_(OPEN_STATUSES)))
        else:
            record(action="cases.collective_opened", object_type="case", object_id=collective.id,
                   actor_id=None, after={"case_no": collective.case_no,
                                         "employer_key": case.employer_key,
                                         "members": len(siblings)})
            tell_agency(COLLECTIVE_LEAD, str(_l("Collective wage-arrears case %(no)s",
                                               no=collective.case_no)), case=collective)
    for member in siblings:
        if member.collective_case_id is None:
            member.collective_case_id = collective.id
            add_event(member, "linked_to_collective", case_no=collective.case_no)
    db.session.flush()
    return collective


def count_open(agency: str) -> int:
    return db.session.scalar(select(func.count(Case.id)).where(
        Case.lead_agency == agency, Case.status.in_(OPEN_STATUSES))) or 0


__all__ = ["start_lead", "end_lead", "submit_request", "attach_files", "link_collective", "next_case_no", "normalise_employer",
           "deadlines", "add_event", "as_utc", "HandoffStatus"]
