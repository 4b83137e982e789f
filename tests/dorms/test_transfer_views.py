"""Transfer pages: permission for every role and for other workers and parks, redirects, what was
saved, bad input answered with a message (never a 500)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from services.core.access import Role
from services.dorms.transfer_models import TransferKind, TransferRequest, TransferStatus
from services.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.dorms.factories import make_park
from tests.dorms.test_transfers import ROOMS, bed, holder, live
from tests.factories import make_user


def client_for(app, user):
    client = app.test_client()
    assert login(client, user.username).status_code == 302
    return client


def only_request() -> TransferRequest:
    return db.session.scalar(select(TransferRequest))


def test_worker_asks_for_a_move_and_the_manager_moves_her(app):
    park, employer, manager = make_park(ROOMS)
    worker, _ = live(park, employer, manager, "A-101-A")
    client = client_for(app, worker)
    assert "/dorms/transfer" in client.get("/dorms/").get_data(as_text=True)
    token = csrf_token(client, "/dorms/transfer")
    response = client.post("/dorms/transfer", data={"csrf_token": token, "kind": "move", "reason": ""})
    assert response.status_code == 200 and 'id="reason-error"' in response.get_data(as_text=True)
    response = client.post("/dorms/transfer", data={"csrf_token": token, "kind": "teleport"})
    assert response.status_code == 200 and only_request() is None
    response = client.post("/dorms/transfer", data={"csrf_token": token, "kind": "move",
                                                    "reason": "night shift now", "wanted_building": "B"})
    assert response.status_code == 302 and response.location == "/dorms/transfer"
    request = only_request()
    assert (request.kind, request.reason, request.wanted_building) == (TransferKind.MOVE,
                                                                       "night shift now", "B")
    page = client.get("/dorms/transfer").get_data(as_text=True)
    assert f"/dorms/transfer/{request.id}/cancel" in page

    boss = client_for(app, manager)
    listing = boss.get("/dorms/manage/transfers").get_data(as_text=True)
    assert worker.display_name in listing and f"/dorms/manage/transfers/{request.id}" in listing
    path = f"/dorms/manage/transfers/{request.id}"
    page = boss.get(path).get_data(as_text=True)
    assert "A-102-A" in page and "A-103-A" not in page  # the men's room does not fit her
    token = csrf_token(boss, path)
    for bad in ("", "abc", str(bed("A-103-A").id), "999999"):
        response = boss.post(path, data={"csrf_token": token, "action": "approve", "target_bed_id": bad})
        assert response.status_code == 200, bad
    response = boss.post(path, data={"csrf_token": token, "action": "explode"})
    assert response.status_code == 200
    db.session.refresh(request)
    assert request.status is TransferStatus.REQUESTED and holder("A-101-A").worker_id == worker.id
    response = boss.post(path, data={"csrf_token": token, "action": "approve",
                                     "target_bed_id": str(bed("A-102-A").id)})
    assert response.status_code == 302 and response.location == "/dorms/manage/transfers"
    db.session.expire_all()
    assert only_request().status is TransferStatus.COMPLETED
    assert holder("A-102-A").worker_id == worker.id and holder("A-101-A") is None


def test_swap_through_the_pages(app):
    park, employer, manager = make_park(ROOMS)
    anna, _ = live(park, employer, manager, "A-101-A")
    bea, _ = live(park, employer, manager, "A-102-A")
    client = client_for(app, anna)
    token = csrf_token(client, "/dorms/transfer")
    response = client.post("/dorms/transfer", data={"csrf_token": token, "kind": "swap",
                                                    "partner_bed": "Q-1-Z"})
    assert response.status_code == 200 and 'id="partner_bed-error"' in response.get_data(as_text=True)
    response = client.post("/dorms/transfer", data={"csrf_token": token, "kind": "swap",
                                                    "partner_bed": "A-102-A", "reason": "friends"})
    assert response.status_code == 302 and response.location == "/dorms/transfer"
    request = only_request()
    assert request.kind is TransferKind.SWAP and request.status is TransferStatus.REQUESTED

    boss = client_for(app, manager)
    path = f"/dorms/manage/transfers/{request.id}"
    response = post_form(boss, path, {"action": "approve"}, token_from=path)
    assert response.status_code == 200  # not confirmed yet: a message, no change
    db.session.refresh(request)
    assert request.status is TransferStatus.REQUESTED

    partner = client_for(app, bea)
    page = partner.get("/dorms/transfer").get_data(as_text=True)
    assert anna.display_name in page and f"/dorms/transfer/{request.id}/confirm" in page
    response = post_form(partner, f"/dorms/transfer/{request.id}/confirm", {})
    assert response.status_code == 302 and response.location == "/dorms/transfer"
    db.session.refresh(request)
    assert request.status is TransferStatus.CONFIRMED

    response = post_form(boss, path, {"action": "approve"}, token_from=path)
    assert response.status_code == 302 and response.location == "/dorms/manage/transfers"
    db.session.expire_all()
    assert holder("A-101-A").worker_id == bea.id and holder("A-102-A").worker_id == anna.id


def test_cancel_decline_and_reject_through_the_pages(app):
    park, employer, manager = make_park(ROOMS)
    anna, _ = live(park, employer, manager, "A-101-A")
    bea, _ = live(park, employer, manager, "A-102-A")
    anna_client, bea_client = client_for(app, anna), client_for(app, bea)
    post_form(anna_client, "/dorms/transfer", {"kind": "swap", "partner_bed": "A-102-A"},
              token_from="/dorms/transfer")
    swap = only_request()
    response = post_form(bea_client, f"/dorms/transfer/{swap.id}/decline", {})
    assert response.status_code == 302
    db.session.refresh(swap)
    assert swap.status is TransferStatus.REJECTED
    response = post_form(bea_client, f"/dorms/transfer/{swap.id}/confirm", {})
    assert response.status_code == 302  # closed: a flashed message, not a 500
    db.session.refresh(swap)
    assert swap.status is TransferStatus.REJECTED

    post_form(anna_client, "/dorms/transfer", {"kind": "move", "reason": "too noisy"},
              token_from="/dorms/transfer")
    move = db.session.scalar(select(TransferRequest).where(TransferRequest.kind == TransferKind.MOVE))
    response = post_form(anna_client, f"/dorms/transfer/{move.id}/cancel", {})
    assert response.status_code == 302 and response.location == "/dorms/transfer"
    db.session.refresh(move)
    assert move.status is TransferStatus.CANCELLED

    post_form(anna_client, "/dorms/transfer", {"kind": "move", "reason": "still too noisy"},
              token_from="/dorms/transfer")
    again = db.session.scalar(select(TransferRequest).where(
        TransferRequest.status == TransferStatus.REQUESTED))
    boss = client_for(app, manager)
    path = f"/dorms/manage/transfers/{again.id}"
    response = post_form(boss, path, {"action": "reject", "reason": ""}, token_from=path)
    assert response.status_code == 200 and 'id="reason-error"' in response.get_data(as_text=True)
    response = post_form(boss, path, {"action": "reject", "reason": "no bed this month"}, token_from=path)
    assert response.status_code == 302 and response.location == "/dorms/manage/transfers"
    db.session.refresh(again)
    assert again.status is TransferStatus.REJECTED and again.decided_by == manager.id
    assert "no bed this month" in anna_client.get("/dorms/transfer").get_data(as_text=True)


def test_other_workers_and_other_parks_cannot_see_or_touch(app):
    park, employer, manager = make_park(ROOMS)
    anna, _ = live(park, employer, manager, "A-101-A")
    bea, _ = live(park, employer, manager, "A-102-A")
    cleo, _ = live(park, employer, manager, "A-102-B")
    post_form(client_for(app, anna), "/dorms/transfer", {"kind": "swap", "partner_bed": "A-102-A"},
              token_from="/dorms/transfer")
    request = only_request()
    _, _, other_manager = make_park(ROOMS)
    intruders = [cleo, make_user("worker", org=employer), other_manager, make_user("caseworker"),
                 make_user("supervisor"), make_user("provider"), make_user("admin"),
                 make_user("coordinator")]
    for intruder in intruders:
        client = client_for(app, intruder)
        for answer in ("cancel", "confirm", "decline"):
            response = post_form(client, f"/dorms/transfer/{request.id}/{answer}", {})
            assert response.status_code in (403, 404), (intruder.role, answer)
        decision = client.get(f"/dorms/manage/transfers/{request.id}")
        assert decision.status_code in (403, 404) and anna.display_name not in decision.get_data(as_text=True)
        assert anna.display_name not in client.get("/dorms/manage/transfers").get_data(as_text=True)
    # a worker only ever sees their own requests and swaps addressed to them
    page = client_for(app, cleo).get("/dorms/transfer").get_data(as_text=True)
    assert anna.display_name not in page
    db.session.refresh(request)
    assert request.status is TransferStatus.REQUESTED
    # the partner may not withdraw the requester's request
    response = post_form(client_for(app, bea), f"/dorms/transfer/{request.id}/cancel", {})
    assert response.status_code == 302
    db.session.refresh(request)
    assert request.status is TransferStatus.REQUESTED


def test_worker_without_a_bed_sees_a_message_and_can_save_nothing(app):
    park, employer, _ = make_park(ROOMS)
    worker = make_user("worker", org=employer)
    client = client_for(app, worker)
    response = client.get("/dorms/transfer")
    assert response.status_code == 200
    response = post_form(client, "/dorms/transfer", {"kind": "move", "reason": "I want a bed"})
    assert response.status_code == 200 and only_request() is None


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_page_is_for_one_role(app, role):
    user = make_user(role)
    client = client_for(app, user)
    worker_page = client.get("/dorms/transfer").status_code
    manager_pages = [client.get(p).status_code for p in ("/dorms/manage/transfers",
                                                         "/dorms/manage/transfers/1")]
    if role == "worker":
        assert worker_page == 200 and manager_pages == [403, 403]
    elif role == "park_manager":
        assert worker_page == 403 and manager_pages == [200, 404]
    else:
        assert worker_page == 403 and manager_pages == [403, 403]


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/dorms/transfer", "/dorms/manage/transfers", "/dorms/manage/transfers/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location, path
    token = csrf_token(client, "/login")
    response = client.post("/dorms/transfer/1/cancel", data={"csrf_token": token})
    assert response.status_code == 302 and "/login" in response.location
