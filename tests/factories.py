"""Factories: real objects made through the operations, committed."""
from __future__ import annotations

import itertools

from services.accounts import operations
from services.accounts.models import Organisation, User
from services.extensions import db

PASSWORD = "correct-horse-42"
_numbers = itertools.count(1)


def make_org(kind: str = "employer", code: str | None = None, name: str | None = None,
             park_code: str | None = None) -> Organisation:
    n = next(_numbers)
    change = operations.upsert_org(actor_id=None, kind=kind, code=code or f"{kind}-{n}",
                                   name=name or f"{kind} {n}", park_code=park_code)
    db.session.commit()
    return change.org


def make_user(role: str = "worker", username: str | None = None, org: Organisation | None = None,
              password: str = PASSWORD, phone: str | None = None) -> User:
    n = next(_numbers)
    if role == "worker" and phone is None:
        phone = f"139{n:08d}"
    if org is None and role in ("park_manager", "caseworker", "supervisor", "provider"):
        kind = {"park_manager": "park", "caseworker": "agency", "supervisor": "agency",
                "provider": "provider"}[role]
        org = make_org(kind)
    user = operations.create_user(actor_id=None, role=role, username=username or f"{role}{n}",
                                  password=password, phone=phone,
                                  org_code=org.code if org else None, name=f"Test {role} {n}")
    db.session.commit()
    return user
