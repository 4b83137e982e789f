"""Account operations, without HTTP."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from services.accounts import operations
from services.accounts.models import EmploymentForm, User
from services.core.access import Role
from services.core.audit import AccessLogEntry, AuditEvent
from services.core.errors import Conflict, Unauthorized, ValidationFailed
from services.core.pii import lookup_hash
from services.extensions import db
from tests.factories import PASSWORD, make_org, make_user


def register(**overrides):
    data = {"username": "zhangwei", "password": "anju-test-pass-1", "phone": "13812345678",
            "name": "张伟"}
    data.update(overrides)
    return operations.register_worker(**data)


def test_register_worker_stores_phone_encrypted_and_audits(app):
    user = register(employment_form=EmploymentForm.PLATFORM)
    db.session.commit()
    raw = db.session.execute(db.text("SELECT phone_enc, password_hash FROM users")).one()
    assert "13812345678" not in raw.phone_enc
    assert raw.password_hash.startswith("$argon2id$")
    assert user.phone == "13812345678" and user.phone_masked == "138****5678"
    assert user.phone_hash == lookup_hash("13812345678", purpose="phone")
    assert user.role is Role.WORKER and user.employment_form is EmploymentForm.PLATFORM
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.registered"))
    assert event.object_id == str(user.id)
    assert event.changes["phone"] == [None, "***"]
    assert "13812345678" not in str(event.changes)


@pytest.mark.parametrize("field,value", [
    ("username", "ab"), ("username", "Bad Name!"), ("password", "short"),
    ("password", "password123"), ("password", "zhangwei"), ("phone", "12345"),
    ("phone", "23812345678"), ("name", ""), ("name", "x" * 81),
])
def test_register_rejects_bad_input_and_writes_nothing(app, field, value):
    with pytest.raises(ValidationFailed) as caught:
        register(**{field: value})
    assert field in caught.value.fields
    db.session.rollback()
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_register_refuses_taken_username_and_phone(app):
    register()
    db.session.commit()
    with pytest.raises(Conflict):
        register(phone="13900000000")
    with pytest.raises(Conflict) as caught:
        register(username="other", phone="+86 138-1234-5678")
    assert "phone" in caught.value.fields


def test_register_employer_must_be_an_employer(app):
    park = make_org("park")
    with pytest.raises(ValidationFailed):
        register(employer_id=park.id)
    employer = make_org("employer", park_code=park.code)
    assert register(employer_id=employer.id).org_id == employer.id


def test_staff_roles_need_an_organisation_of_the_right_kind(app):
    park, agency = make_org("park"), make_org("agency", code="union")
    with pytest.raises(ValidationFailed):
        operations.create_user(actor_id=None, role="caseworker", username="cw1", password=PASSWORD)
    with pytest.raises(ValidationFailed):
        operations.create_user(actor_id=None, role="caseworker", username="cw1",
                               password=PASSWORD, org_code=park.code)
    user = operations.create_user(actor_id=None, role="caseworker", username="cw1",
                                  password=PASSWORD, org_code="union")
    assert user.org_id == agency.id and user.is_staff
    with pytest.raises(ValidationFailed):
        operations.create_user(actor_id=None, role="admin", username="adm", password=PASSWORD,
                               org_code="union")
    with pytest.raises(ValidationFailed):
        operations.create_user(actor_id=None, role="wizard", username="x1", password=PASSWORD)


def test_database_refuses_scoped_role_without_org(app):
    from sqlalchemy.exc import IntegrityError

    db.session.add(User(username="nope", password_hash="x", role=Role.CASEWORKER, name=""))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_authenticate_same_message_for_unknown_user_and_wrong_password(app):
    make_user("worker", username="liming")
    with pytest.raises(Unauthorized) as wrong_password:
        operations.authenticate(username="liming", password="not-the-password")
    with pytest.raises(Unauthorized) as unknown:
        operations.authenticate(username="nobody", password="not-the-password")
    assert wrong_password.value.message == unknown.value.message
    user = operations.authenticate(username=" LiMing ", password=PASSWORD)
    assert user.last_login_at is not None


def test_suspended_user_cannot_authenticate_and_sessions_end(app):
    admin, user = make_user("admin"), make_user("worker")
    version = user.session_version
    operations.set_active(actor_id=admin.id, user=user, active=False)
    assert user.session_version == version + 1
    with pytest.raises(Unauthorized):
        operations.authenticate(username=user.username, password=PASSWORD)
    with pytest.raises(ValidationFailed):
        operations.set_active(actor_id=admin.id, user=admin, active=False)


def test_change_password_checks_current_and_policy(app):
    user = make_user("worker")
    with pytest.raises(ValidationFailed):
        operations.change_password(user=user, current_password="wrong", new_password="brand-new-77")
    with pytest.raises(ValidationFailed):
        operations.change_password(user=user, current_password=PASSWORD, new_password="12345678")
    version = user.session_version
    operations.change_password(user=user, current_password=PASSWORD, new_password="brand-new-77")
    assert user.session_version == version + 1
    assert operations.authenticate(username=user.username, password="brand-new-77") == user


def test_update_profile_validates_national_id_and_keeps_blank_fields(app):
    user = make_user("worker", phone="13700000001")
    with pytest.raises(ValidationFailed):
        operations.update_profile(user=user, name="A", phone="", national_id="110105194912310021")
    operations.update_profile(user=user, name="新名字", phone="", national_id="11010519491231002x")
    assert user.phone == "13700000001"
    assert user.national_id == "11010519491231002X"
    assert user.national_id_masked == "1101**********002X"
    other = make_user("worker")
    with pytest.raises(ValidationFailed):
        operations.update_profile(user=other, name="B", phone=None, national_id="11010519491231002X")


def test_reveal_writes_access_log(app):
    admin, user = make_user("admin"), make_user("worker", phone="13700000002")
    assert operations.reveal_personal_data(actor_id=admin.id, user=user, field="phone") == "13700000002"
    entry = db.session.scalar(select(AccessLogEntry))
    assert (entry.actor_id, entry.action, entry.object_id) == (admin.id, "reveal_phone", str(user.id))


def test_upsert_org_is_idempotent_and_checks_park(app):
    first = operations.upsert_org(actor_id=None, kind="park", code="YC-ETDZ", name="开发区")
    again = operations.upsert_org(actor_id=None, kind="park", code="yc-etdz", name="开发区")
    assert first.created and not again.created and first.org.id == again.org.id
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "organisation"))
    assert len(list(events)) == 1
    with pytest.raises(Conflict):
        operations.upsert_org(actor_id=None, kind="employer", code="yc-etdz", name="x")
    with pytest.raises(ValidationFailed):
        operations.upsert_org(actor_id=None, kind="employer", code="e1", name="x", park_code="nope")


def test_import_users_creates_all_or_none(app):
    make_org("agency", code="hrss")
    rows = [
        {"role": "caseworker", "username": "cw-a", "password": PASSWORD, "phone": "", "org": "hrss"},
        {"role": "worker", "username": "w-a", "password": "123", "phone": "13600000001", "org": ""},
        {"role": "caseworker", "username": "cw-a", "password": PASSWORD, "phone": "", "org": "hrss"},
    ]
    with pytest.raises(ValidationFailed) as caught:
        operations.import_users(actor_id=None, rows=rows)
    db.session.rollback()
    assert [p.split(":")[0] for p in caught.value.fields["rows"]] == ["line 3", "line 4"]
    assert db.session.scalar(select(db.func.count(User.id))) == 0
    created = operations.import_users(actor_id=None, rows=rows[:1])
    assert [u.username for u in created] == ["cw-a"]
