"""API authentication: tokens, worker registration, the caller's own account."""
from __future__ import annotations

from flask_login import current_user

from services.accounts import operations
from services.accounts.limits import login_per_account, login_per_address, registrations_per_address
from services.accounts.sessions import issue_token
from services.api import api_bp
from services.api.docs import documented
from services.api.io import load_body
from services.api.schemas import MeSchema, RegisterSchema, TokenRequestSchema, TokenSchema
from services.core.access import ALL_ROLES, public, roles_required
from services.core.exports import collect_all
from services.extensions import db


def _token_answer(user) -> dict:
    token, expires = issue_token(user)
    return {"token": token, "expires_at": expires.isoformat(),
            "user": {"id": user.id, "role": user.role.value}}


@api_bp.route("/auth/token", methods=["POST"])
@public
@documented(summary="Exchange a username and password for a bearer token", tag="auth",
            body=TokenRequestSchema, response=TokenSchema, public=True, errors=(401, 429))
@login_per_address
@login_per_account
def token():
    data = load_body(TokenRequestSchema)
    try:
        user = operations.authenticate(username=data["username"], password=data["password"])
    finally:
        db.session.commit()  # the sign-in audit event, or nothing
    return _token_answer(user)


@api_bp.route("/auth/register", methods=["POST"])
@public
@documented(summary="Register a worker account (self-registration with a phone number)",
            tag="auth", body=RegisterSchema, response=TokenSchema, status=201, public=True,
            errors=(409, 429))
@registrations_per_address
def register():
    data = load_body(RegisterSchema)
    user = operations.register_worker(**data)
    db.session.commit()
    return _token_answer(user), 201


@api_bp.route("/auth/logout", methods=["POST"])
@roles_required(*ALL_ROLES)
@documented(summary="End every session and token of the caller", tag="auth")
def logout():
    operations.end_sessions(user=current_user._get_current_object())
    db.session.commit()
    return {"status": "signed_out"}


@api_bp.route("/me", methods=["GET"])
@roles_required(*ALL_ROLES)
@documented(summary="The caller's own account", tag="auth", response=MeSchema)
def me():
    user = current_user
    org = {"id": user.org.id, "code": user.org.code, "name": user.org.name} if user.org else None
    return {"id": user.id, "username": user.username, "role": user.role.value, "name": user.name,
            "phone": user.phone_masked, "org": org}


@api_bp.route("/me/export", methods=["GET"])
@roles_required(*ALL_ROLES)
@documented(summary="Everything the platform holds about the caller (PIPL right of access)",
            tag="auth", response={"type": "object"})
def export_me():
    return collect_all(current_user._get_current_object())
