"""Account operations: registration, staff accounts, sign-in, sessions, profile, organisations.

Each takes keyword-only arguments, checks the rule, changes the models, writes an AuditEvent,
flushes and returns what it changed. None commits: the view, API handler or CLI command does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.core.i18n import lazy_gettext as _l
from sqlalchemy import func, select

from services.accounts import passwords
from services.accounts.models import (ORG_KIND_LABELS, EmploymentForm, Honour, Organisation, OrgKind,
                                      User, WorkerFacts)
from services.core.access import SCOPED_ROLE_ORG_KIND, Role
from services.core.audit import log_access, record, utcnow
from services.core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from services.core.pii import is_valid_cn_mobile, is_valid_national_id, lookup_hash
from services.core.pii import normalise_national_id, normalise_phone
from services.core.web import LARGEST_ID
from services.extensions import db

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,39}$")
ORG_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(message), fields={field: str(message)})


def normalise_username(raw: str) -> str:
    username = (raw or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise _invalid(
            "username",
            _l("3–40 characters: lower-case letters, digits, and . _ - (start with a letter or digit)."),
        )
    return username


def phone_lookup(raw: str) -> tuple[str, str]:
    """The normalised phone number and its keyed hash; ValidationFailed if it is no mobile number."""
    phone = normalise_phone(raw or "")
    if not is_valid_cn_mobile(phone):
        raise _invalid("phone", _l("Enter an 11-digit mainland mobile number."))
    return phone, lookup_hash(phone, purpose="phone")


def _ensure_username_free(username: str) -> None:
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(str(_l("This username is taken.")), code="username_taken",
                       fields={"username": str(_l("This username is taken."))})


def _ensure_phone_free(phone_hash: str, *, except_user_id: int | None = None) -> None:
    query = select(User.id).where(User.phone_hash == phone_hash)
    if except_user_id is not None:
        query = query.where(User.id != except_user_id)
    if db.session.scalar(query):
        message = str(_l("This phone number already has an account."))
        raise Conflict(message, code="phone_taken", fields={"phone": message})


def _user_snapshot(user: User) -> dict:
    return {
        "username": user.username,
        "role": user.role,
        "org_id": user.org_id,
        "name": user.name,
        "phone": user.phone,
        "national_id": user.national_id,
        "employment_form": user.employment_form,
        "active": user.active,
    }


def _employer(employer_id: int | None) -> Organisation | None:
    if employer_id is None:
        return None
    if isinstance(employer_id, bool) or not isinstance(employer_id, int) \
            or not 1 <= employer_id <= LARGEST_ID:  # the database refuses to look it up
        raise _invalid("employer_id", _l("Choose an employer from the list."))
    employer = db.session.get(Organisation, employer_id)
    if employer is None or employer.kind is not OrgKind.EMPLOYER:
        raise _invalid("employer_id", _l("Choose an employer from the list."))
    return employer


def register_worker(
    *,
    username: str,
    password: str,
    phone: str,
    name: str,
    employer_id: int | None = None,
    employment_form: EmploymentForm = EmploymentForm.EMPLOYEE,
) -> User:
    """Create a worker's own account (self-registration with a phone number)."""
    username = normalise_username(username)
    passwords.check_policy(password, username=username)
    phone, phone_hash = phone_lookup(phone)
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise _invalid("name", _l("Enter your name (up to 80 characters)."))
    employer = _employer(employer_id)
    try:
        employment_form = EmploymentForm(employment_form)
    except ValueError:
        raise _invalid("employment_form", _l("Choose a value from the list.")) from None
    _ensure_username_free(username)
    _ensure_phone_free(phone_hash)
    user = User(
        username=username,
        password_hash=passwords.hash_password(password),
        role=Role.WORKER,
        org_id=employer.id if employer else None,
        name=name,
        phone=phone,
        phone_hash=phone_hash,
        employment_form=employment_form,
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    record(action="user.registered", object_type="user", object_id=user.id, actor_id=user.id,
           after=_user_snapshot(user))
    return user


def _org_by_code(code: str | None, *, field: str = "org_code") -> Organisation | None:
    if not code:
        return None
    org = db.session.scalar(select(Organisation).where(Organisation.code == code.strip().lower()))
    if org is None:
        raise _invalid(field, _l("No organisation has the code %(code)s.", code=code))
    return org


def create_user(
    *,
    actor_id: int | None,
    role: Role | str,
    username: str,
    password: str,
    name: str = "",
    phone: str | None = None,
    org_code: str | None = None,
) -> User:
    """Create an account of any role (admin pages and CLI only); staff roles need their organisation."""
    try:
        role = Role(role)
    except ValueError:
        raise _invalid("role", _l("Unknown role.")) from None
    username = normalise_username(username)
    passwords.check_policy(password, username=username)
    org = _org_by_code(org_code)
    wanted_kind = SCOPED_ROLE_ORG_KIND.get(role) or ("employer" if role is Role.WORKER else None)
    if role in SCOPED_ROLE_ORG_KIND and org is None:
        raise _invalid("org_code", _l("This role needs an organisation of kind %(kind)s.",
                                             kind=ORG_KIND_LABELS[OrgKind(wanted_kind)]))
    if org is not None and (wanted_kind is None or org.kind.value != wanted_kind):
        raise _invalid("org_code", _l("This role cannot belong to an organisation of kind %(kind)s.",
                                 kind=ORG_KIND_LABELS[org.kind]))
    phone_value = phone_hash = None
    if phone:
        phone_value, phone_hash = phone_lookup(phone)
    elif role is Role.WORKER:
        raise _invalid("phone", _l("A worker account needs a phone number."))
    _ensure_username_free(username)
    if phone_hash:
        _ensure_phone_free(phone_hash)
    user = User(
        username=username,
        password_hash=passwords.hash_password(password),
        role=role,
        org_id=org.id if org else None,
        name=(name or "").strip()[:80],
        phone=phone_value,
        phone_hash=phone_hash,
        employment_form=EmploymentForm.EMPLOYEE if role is Role.WORKER else None,
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    record(action="user.created", object_type="user", object_id=user.id, actor_id=actor_id,
           after=_user_snapshot(user))
    return user


def authenticate(*, username: str, password: str) -> User:
    """The active user with these credentials; Unauthorized with one message for every failure."""
    failure = Unauthorized(str(_l("Wrong username or password.")), code="bad_credentials")
    user = db.session.scalar(
        select(User).where(User.username == (username or "").strip().lower()[:40])
    )
    if user is None:
        passwords.burn_time()
        raise failure
    if not passwords.verify_password(user.password_hash, password or "") or not user.active:
        raise failure
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    record(action="user.signed_in", object_type="user", object_id=user.id, actor_id=user.id)
    db.session.flush()
    return user


def end_sessions(*, user: User, reason: str = "signed_out") -> User:
    """Invalidate every session and API token of the user (logout, password change, deactivation)."""
    user.session_version += 1
    record(action=f"user.{reason}", object_type="user", object_id=user.id, actor_id=user.id)
    db.session.flush()
    return user


def change_password(*, user: User, current_password: str, new_password: str) -> User:
    """Change the user's own password; every other session ends."""
    if not passwords.verify_password(user.password_hash, current_password or ""):
        raise _invalid("current_password", _l("The current password is wrong."))
    passwords.check_policy(new_password, username=user.username, field="new_password")
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    record(action="user.password_changed", object_type="user", object_id=user.id, actor_id=user.id,
           before={"password": "old"}, after={"password": "new"})
    db.session.flush()
    return user


def reset_password(*, actor_id: int, user: User, new_password: str) -> User:
    """An administrator sets a new password; the user's sessions end."""
    passwords.check_policy(new_password, username=user.username, field="new_password")
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    record(action="user.password_reset", object_type="user", object_id=user.id, actor_id=actor_id,
           before={"password": "old"}, after={"password": "new"})
    db.session.flush()
    return user


def update_profile(
    *, user: User, name: str, phone: str | None, national_id: str | None = None
) -> User:
    """Change the user's own name and, when given, phone and national ID number (blank keeps them)."""
    before = _user_snapshot(user)
    name = (name or "").strip()
    if not 1 <= len(name) <= 80:
        raise _invalid("name", _l("Enter your name (up to 80 characters)."))
    user.name = name
    if phone:
        phone_value, phone_hash = phone_lookup(phone)
        _ensure_phone_free(phone_hash, except_user_id=user.id)
        user.phone, user.phone_hash = phone_value, phone_hash
    if national_id:
        value = normalise_national_id(national_id)
        if not is_valid_national_id(value):
            raise _invalid("national_id", _l("This is not a valid 18-character ID number."))
        id_hash = lookup_hash(value, purpose="national_id")
        taken = db.session.scalar(
            select(User.id).where(User.national_id_hash == id_hash, User.id != user.id)
        )
        if taken:
            raise _invalid("national_id", _l("This ID number belongs to another account."))
        user.national_id, user.national_id_hash = value, id_hash
    record(action="user.profile_updated", object_type="user", object_id=user.id, actor_id=user.id,
           before=before, after=_user_snapshot(user))
    db.session.flush()
    return user


def set_active(*, actor_id: int, user: User, active: bool) -> User:
    """Suspend or restore an account; suspending ends its sessions."""
    if user.id == actor_id and not active:
        raise _invalid("active", _l("You cannot suspend your own account."))
    before = _user_snapshot(user)
    user.active = active
    if not active:
        user.session_version += 1
    record(action="user.activated" if active else "user.suspended", object_type="user",
           object_id=user.id, actor_id=actor_id, before=before, after=_user_snapshot(user))
    db.session.flush()
    return user


def reveal_personal_data(*, actor_id: int, user: User, field: str) -> str:
    """The full phone or ID number of a user, for a role that needs it; the read is logged."""
    if field not in {"phone", "national_id"}:
        raise _invalid("field", _l("Unknown field."))
    value = getattr(user, field)
    if not value:
        raise NotFound(str(_l("Nothing to reveal.")))
    log_access(action=f"reveal_{field}", object_type="user", object_id=user.id, actor_id=actor_id)
    db.session.flush()
    return value


@dataclass(frozen=True)
class OrgChange:
    org: Organisation
    created: bool


def upsert_org(
    *, actor_id: int | None, kind: OrgKind | str, code: str, name: str,
    park_code: str | None = None, is_platform: bool = False, must_be_new: bool = False,
) -> OrgChange:
    """Create or update an organisation, idempotent by code."""
    try:
        kind = OrgKind(kind)
    except ValueError:
        raise _invalid("kind", _l("Unknown kind of organisation.")) from None
    code = (code or "").strip().lower()
    if not ORG_CODE_RE.match(code):
        raise _invalid("code", _l("2–40 characters: lower-case letters, digits, - and _."))
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        raise _invalid("name", _l("Enter a name (up to 120 characters)."))
    park = None
    if park_code:
        if kind is OrgKind.PARK:
            raise _invalid("park_code", _l("A park does not belong to another park."))
        park = _org_by_code(park_code, field="park_code")
        if park.kind is not OrgKind.PARK:
            raise _invalid("park_code", _l("%(code)s is not a park.", code=park_code))
    org = db.session.scalar(select(Organisation).where(Organisation.code == code))
    created = org is None
    if org is not None and must_be_new:
        raise Conflict(str(_l("The code %(code)s is taken.", code=code)), code="code_taken",
                       fields={"code": str(_l("The code %(code)s is taken.", code=code))})
    if org is not None and org.kind is not kind:
        raise Conflict(str(_l("The code %(code)s already belongs to a %(kind)s.", code=code,
                              kind=ORG_KIND_LABELS[org.kind])), code="code_taken")
    before = {} if created else {"name": org.name, "park_id": org.park_id,
                                 "is_platform": org.is_platform}
    if created:
        org = Organisation(kind=kind, code=code)
        db.session.add(org)
    org.name = name
    org.park_id = park.id if park else None
    org.is_platform = bool(is_platform) and kind is OrgKind.EMPLOYER
    db.session.flush()
    after = {"name": org.name, "park_id": org.park_id, "is_platform": org.is_platform}
    if created or before != after:
        record(action="org.created" if created else "org.updated", object_type="organisation",
               object_id=org.id, actor_id=actor_id, before=before, after={"kind": kind, **after})
    return OrgChange(org=org, created=created)


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


USER_IMPORT_COLUMNS = ("role", "username", "password", "phone", "org")


def import_users(*, actor_id: int | None, rows: list[dict]) -> list[User]:
    """Create one account per row, or none at all: every bad row is reported with its line."""
    problems: list[str] = []
    created: list[User] = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        savepoint = db.session.begin_nested()
        try:
            created.append(create_user(
                actor_id=actor_id, role=(row.get("role") or "").strip(),
                username=row.get("username") or "", password=row.get("password") or "",
                phone=(row.get("phone") or "").strip() or None,
                org_code=(row.get("org") or "").strip() or None,
            ))
            savepoint.commit()
        except (ValidationFailed, Conflict) as error:
            savepoint.rollback()
            problems.append(f"line {line}: {error.message}")
    if problems:
        raise ValidationFailed("; ".join(problems), fields={"rows": problems})
    return created


def set_worker_facts(*, actor_id: int, worker: User, honour: str, hardship_registered: bool,
                     skill_grade: int, in_park_since: date | None) -> WorkerFacts:
    """Record the facts policies use about a worker (honours, hardship, skill grade, years)."""
    if worker.role is not Role.WORKER:
        raise _invalid("worker", _l("Facts are kept for workers only."))
    try:
        honour_value = Honour(honour)
    except ValueError:
        raise _invalid("honour", _l("Choose an honour from the list.")) from None
    if not 0 <= int(skill_grade) <= 5:
        raise _invalid("skill_grade", _l("The skill grade is 0 to 5."))
    if in_park_since is not None and not date(1960, 1, 1) <= in_park_since <= date.today():
        raise _invalid("in_park_since", _l("Choose a date in the past."))
    facts = db.session.get(WorkerFacts, worker.id)
    before = {} if facts is None else {"honour": facts.honour, "hardship_registered": facts.hardship_registered,
                                       "skill_grade": facts.skill_grade, "in_park_since": facts.in_park_since}
    if facts is None:
        facts = WorkerFacts(user_id=worker.id)
        db.session.add(facts)
    facts.honour, facts.hardship_registered = honour_value, bool(hardship_registered)
    facts.skill_grade, facts.in_park_since, facts.updated_by = int(skill_grade), in_park_since, actor_id
    record(action="user.facts_set", object_type="user", object_id=worker.id, actor_id=actor_id,
           before=before, after={"honour": facts.honour, "hardship_registered": facts.hardship_registered,
                                 "skill_grade": facts.skill_grade, "in_park_since": in_park_since})
    db.session.flush()
    return facts
