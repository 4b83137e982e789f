"""The catalogue at scale: a fixed number of statements, and a read cache that is never stale.

Without Redis every request reads the database (the statement budget is the same with 3 and
30 services); with Redis the catalogue, the worker's booked slots and the home panel come from
the process cache, and every booking, cancellation or service change shows on the next request
of anyone.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from services.accounts.sessions import issue_token
from services.bookings import operations, queries
from services.bookings.models import Booking
from services.core.audit import utcnow
from services.extensions import db
from tests.bookings.helpers import make_service, make_slot
from tests.conftest import counted_statements, login
from tests.factories import make_user

SEATS_RE = re.compile(r"(\d+) seats? free")




def signed_in(app, user):
    client = app.test_client()
    client.set_cookie("lang", "en")
    assert login(client, user.username).status_code == 302
    return client


def seats_on_list(client) -> list[int]:
    return [int(n) for n in SEATS_RE.findall(client.get("/services").get_data(as_text=True))]


def api_seats(app, user) -> int:
    body = app.test_client().get("/api/v1/services", headers={
        "Authorization": f"Bearer {issue_token(user)[0]}"}).get_json()
    return body["items"][0]["free_seats"]


def catalogue_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "booking_services" in s]


# --- with the cache ---------------------------------------------------------------------------

def test_a_booking_by_another_worker_shows_on_the_list_at_once(cached_app):
    provider = make_user("provider")
    slot = make_slot(make_service(provider), capacity=3, provider=provider)
    reader, booker = make_user("worker"), make_user("worker")
    client = signed_in(cached_app, reader)
    assert seats_on_list(client) == [3] and api_seats(cached_app, reader) == 3
    with counted_statements() as statements:
        assert seats_on_list(client) == [3]
    assert not catalogue_reads(statements)  # the list came from the cache

    answer = cached_app.test_client().post(
        "/api/v1/bookings", json={"slot_id": slot.id, "idempotency_key": "booker-key-1"},
        headers={"Authorization": f"Bearer {issue_token(booker)[0]}"})
    assert answer.status_code == 201
    assert seats_on_list(client) == [2] and api_seats(cached_app, reader) == 2

    operations.cancel(actor=booker, booking=db.session.get(Booking, answer.get_json()["id"]))
    db.session.commit()
    assert seats_on_list(client) == [3] and api_seats(cached_app, reader) == 3


def test_a_workers_own_booking_shows_to_them_only(cached_app):
    provider = make_user("provider")
    service = make_service(provider, title="Forklift training")
    slot = make_slot(service, capacity=3, provider=provider)
    first, second = make_user("worker"), make_user("worker")
    first_client, second_client = signed_in(cached_app, first), signed_in(cached_app, second)
    for client in (first_client, second_client):
        assert "Book the next slot" in client.get("/services").get_data(as_text=True)
        assert "Forklift training" not in client.get("/").get_data(as_text=True)

    operations.book(worker=first, slot=slot)
    db.session.commit()
    assert "Book the next slot" not in first_client.get("/services").get_data(as_text=True)
    assert "Forklift training" in first_client.get("/").get_data(as_text=True)
    assert "Book the next slot" in second_client.get("/services").get_data(as_text=True)
    assert "Forklift training" not in second_client.get("/").get_data(as_text=True)

    operations.update_service(actor=provider, service=service, title="Crane training",
                              category="training", location="Union hall 2F")
    db.session.commit()
    assert "Crane training" in first_client.get("/").get_data(as_text=True)
    assert "Crane training" in second_client.get("/services").get_data(as_text=True)


def test_a_renamed_provider_shows_on_the_list_at_once(cached_app):
    from services.accounts import operations as accounts

    provider = make_user("provider")
    make_slot(make_service(provider), capacity=2, provider=provider)
    client = signed_in(cached_app, make_user("worker"))
    assert provider.org.name in client.get("/services").get_data(as_text=True)
    accounts.upsert_org(actor_id=None, kind="provider", code=provider.org.code,
                        name="Renamed welfare centre")
    db.session.commit()
    assert "Renamed welfare centre" in client.get("/services").get_data(as_text=True)


def test_a_new_slot_shows_on_the_list_at_once(cached_app):
    provider = make_user("provider")
    service = make_service(provider)
    client = signed_in(cached_app, make_user("worker"))
    assert "No open slots at the moment." in client.get("/services").get_data(as_text=True)
    make_slot(service, capacity=4, provider=provider)
    assert seats_on_list(client) == [4]


def test_a_cached_page_is_not_used_after_a_slot_closes(cached_app):
    provider = make_user("provider")
    service = make_service(provider, close_minutes_before=60)
    soon = make_slot(service, capacity=2, start_in_hours=2, provider=provider)  # closes in 1 h
    later = make_slot(service, capacity=5, start_in_hours=30, provider=provider)
    now = utcnow()
    page = queries.catalogue(now=now)
    assert [s.id for s in page.items[0].next_slots] == [soon.id, later.id]
    assert page.items[0].free_seats == 7
    with counted_statements() as statements:
        assert queries.catalogue(now=now + timedelta(minutes=59)) is page  # cached, still right
    assert not statements
    after = queries.catalogue(now=now + timedelta(minutes=61))
    assert [s.id for s in after.items[0].next_slots] == [later.id]
    assert after.items[0].free_seats == 5


# --- statement budget (no cache: every request reads the database) ---------------------------

def _statements(app, n_services: int) -> dict[str, int]:
    provider = make_user("provider")
    worker = make_user("worker")
    slots = []
    for index in range(n_services):
        service = make_service(provider, title=f"Service {index}")
        slots += [make_slot(service, capacity=3, start_in_hours=48 + index, provider=provider),
                  make_slot(service, capacity=3, start_in_hours=200 + index, provider=provider)]
    for slot in slots[:4]:
        operations.book(worker=worker, slot=slot)
    db.session.commit()
    client, token = signed_in(app, worker), issue_token(worker)[0]
    counts = {}
    for name, path, headers in (("page", "/services", {}),
                                ("filtered", "/services?category=legal&free=1", {}),
                                ("search", "/services?q=Service", {}),
                                ("api", "/api/v1/services", {"Authorization": f"Bearer {token}"}),
                                ("home", "/", {})):
        getter = app.test_client() if headers else client
        assert getter.get(path, headers=headers).status_code == 200
        db.session.remove()
        with counted_statements() as statements:
            assert getter.get(path, headers=headers).status_code == 200, path
        # (not the BEGIN that SQLite's driver sends as a statement; PostgreSQL's is unseen)
        counts[name] = len([s for s in statements if not s.lstrip().upper().startswith("BEGIN")])
    return counts


def _same_with_3_and_30(app) -> None:
    small = _statements(app, 3)
    db.session.remove()
    db.drop_all()
    db.create_all()
    large = _statements(app, 30)
    assert small == large, (small, large)
    assert large["page"] <= 4 and large["api"] <= 2, large  # user, catalogue, booked slots, inbox


def test_list_statements_do_not_grow_with_the_catalogue(app):
    _same_with_3_and_30(app)


@pytest.mark.postgres
def test_list_statements_do_not_grow_with_the_catalogue_postgres(pg_app):
    _same_with_3_and_30(pg_app)
