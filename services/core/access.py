"""Roles and access checks.

Every route declares who may use it: `@roles_required(...)` or `@public`. A test walks the URL
map and fails for any route that declares neither. Objects are loaded through `visible_or_404`,
which answers 404 (not 403) when the caller may not see the object, so that nothing leaks.
"""
from __future__ import annotations

import enum
from functools import wraps
from typing import Any, Callable, TypeVar

from flask_login import current_user

from services.core.errors import Forbidden, NotFound, Unauthorized
from services.core.i18n import gettext as _

F = TypeVar("F", bound=Callable[..., Any])


class Role(str, enum.Enum):
    WORKER = "worker"
    PARK_MANAGER = "park_manager"
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    COORDINATOR = "coordinator"
    PROVIDER = "provider"
    ADMIN = "admin"


ALL_ROLES = tuple(Role)
STAFF_ROLES = tuple(role for role in Role if role is not Role.WORKER)
AGENCY_ROLES = (Role.CASEWORKER, Role.SUPERVISOR)
# Staff roles that act for one organisation, and the kind of organisation they belong to.
SCOPED_ROLE_ORG_KIND = {
    Role.PARK_MANAGER: "park",
    Role.CASEWORKER: "agency",
    Role.SUPERVISOR: "agency",
    Role.PROVIDER: "provider",
}


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Allow the view only to signed-in users holding one of `roles`."""
    allowed = frozenset(Role(r) for r in roles)
    if not allowed:
        raise ValueError("roles_required needs at least one role")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                raise Unauthorized(_("Please sign in first."))
            if Role(current_user.role) not in allowed:
                raise Forbidden(_("Your account may not use this page."))
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def public(view: F) -> F:
    """Mark a view as open to everyone, signed in or not."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def has_role(*roles: Role) -> bool:
    return current_user.is_authenticated and Role(current_user.role) in roles


def visible_or_404(obj: Any, can_see: Callable[[Any], bool]) -> Any:
    """Return obj if it exists and the caller may see it; otherwise NotFound (no hint it exists)."""
    if obj is None or not can_see(obj):
        raise NotFound(_("Not found."))
    return obj
