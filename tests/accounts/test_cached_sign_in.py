"""With the read cache on (Redis): the signed-in user and the inbox come from cached rows,
and every change shows on the very next request."""
from __future__ import annotations

import pytest

from services.accounts import operations
from services.accounts.sessions import _live_user
from services.core import notify
from services.extensions import db
from tests.conftest import counted_statements, login
from tests.factories import make_org, make_user


@pytest.fixture
def app(cached_app):
    return cached_app


def test_a_signed_in_request_reads_neither_the_user_nor_the_inbox_again(app):
    user = make_user("worker", username="wang")
    client = app.test_client()
    login(client, "wang")
    assert client.get("/services").status_code == 200
    with counted_statements() as statements:
        client.get("/services")
    assert not [s for s in statements if "FROM users" in s]
    assert not [s for s in statements if "FROM notifications" in s]
    assert user.id


def test_signing_out_elsewhere_ends_a_copied_cookie_at_once(app):
    user = make_user("worker", username="wang")
    client = app.test_client()
    login(client, "wang")
    assert client.get("/").status_code == 200
    operations.end_sessions(user=db.session.get(type(user), user.id))
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_suspended_user_is_signed_out_on_the_next_request(app):
    admin = make_user("admin", username="root")
    user = make_user("worker", username="wang")
    client = app.test_client()
    login(client, "wang")
    assert client.get("/").status_code == 200
    operations.set_active(actor_id=admin.id, user=db.session.get(type(user), user.id), active=False)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_a_renamed_user_and_organisation_show_at_once(app):
    org = make_org("park", name="Old park")
    manager = make_user("park_manager", username="mgr", org=org)
    manager_id, version, User = manager.id, manager.session_version, type(manager)
    with app.test_request_context("/"):
        assert _live_user(manager_id, version).org.name == "Old park"
    operations.upsert_org(actor_id=None, kind="park", code=org.code, name="New park")
    db.session.commit()
    db.session.expunge_all()
    with app.test_request_context("/"):
        assert _live_user(manager_id, version).org.name == "New park"
    db.session.get(User, manager_id).name = "Renamed"
    db.session.commit()
    db.session.expunge_all()
    with app.test_request_context("/"):
        assert _live_user(manager_id, version).name == "Renamed"


def test_the_unread_badge_follows_new_and_read_messages(app):
    user = make_user("worker", username="wang")
    with app.test_request_context("/"):
        assert notify.unread_count(user.id) == 0
        notify.send(user_id=user.id, kind="test", title="Hello")
        db.session.commit()
    with app.test_request_context("/"):
        assert notify.unread_count(user.id) == 1
        assert [n.title for n in notify.inbox(user.id).recent] == ["Hello"]
        notify.mark_read(user_id=user.id)
        db.session.commit()
    with app.test_request_context("/"):
        assert notify.unread_count(user.id) == 0


# --- the User built from the cached row, reused by the process's next requests ---------------

def test_the_built_user_is_reused_only_while_it_is_as_built(app):
    employer = make_org("employer")
    user_id = make_user("worker", org=employer).id
    db.session.remove()
    with app.app_context():
        first = _live_user(user_id, 1)
        db.session.remove()
    with app.app_context():
        again = _live_user(user_id, 1)
        assert again is first and again.org.name == employer.name
        with counted_statements() as statements:
            assert again.password_hash  # loaded on access: no longer as built
        assert statements
        db.session.remove()
    with app.app_context():
        rebuilt = _live_user(user_id, 1)
        assert rebuilt is not first
        rebuilt.name = "Changed but not saved"
        db.session.remove()  # the change is dropped with the session
    with app.app_context():
        fresh = _live_user(user_id, 1)
        assert fresh is not rebuilt and fresh.name != "Changed but not saved"
        db.session.remove()


def test_a_change_to_the_user_builds_them_again(app):
    user_id = make_user("worker", username="lili").id
    db.session.remove()
    with app.app_context():
        first = _live_user(user_id, 1)
        db.session.remove()
    user = db.session.get(type(first), user_id)
    user.name = "Li Renamed"
    db.session.commit()
    db.session.remove()
    with app.app_context():
        after = _live_user(user_id, 1)
        assert after is not first and after.name == "Li Renamed"
        db.session.remove()


def test_a_user_expired_by_a_commit_is_built_again(app):
    """A request that commits expires the signed-in user; the next request must not touch the
    expired (detached) instance's attributes."""
    employer = make_org("employer")
    user_id = make_user("worker", org=employer).id
    db.session.remove()
    with app.app_context():
        first = _live_user(user_id, 1)
        db.session.commit()  # expires every loaded instance, the user and its organisation
        db.session.remove()
    with app.app_context():
        again = _live_user(user_id, 1)
        assert again is not first and again.org.name == employer.name
        db.session.remove()
