"""Schema fuzzing of the JSON API: schemathesis against /api/v1/openapi.json, in-process.

Every documented operation is called by every role allowed to use it, with cases generated from
the OpenAPI document (valid data and data that breaks it), on a SQLite file seeded with the small
demo set (ids in paths and bodies are swapped for existing ones three times in four). The run
fails on any 5xx, any status code, content type or body the document does not describe, and any
invalid request that is accepted. Roles that may not use an operation (and callers without a
token) must get 401/403 (or 404 for an id no row can have) and nothing else. While it runs, a flush that PostgreSQL would refuse
(NUL in text, a string longer than its column, an integer beyond INTEGER) fails too
(tests/fuzzing.py `like_postgres`).

Bounded for the suite: FUZZ_EXAMPLES (default 3) examples per operation, role and mode, the same
examples every run; FUZZ_RANDOM=1 draws new ones. The longer run is `bench/fuzz_api.py`.
The cases at the end are the regressions of what the fuzzing found.
"""
from __future__ import annotations

import os

import pytest

from app import create_app
from tests.fuzzing import ROLE_ACCOUNTS, FuzzEnv, api_operations, examples_from_env, like_postgres

EXAMPLES = examples_from_env(3)
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"
PUBLIC_CALLERS = ("anonymous", "worker")
REFUSED = frozenset({401, 403, 404})  # 404: an id no row can have matches no route
OPERATIONS = api_operations(create_app({"NOTIFY_ADAPTER": "memory"}))


def _allowed_pairs() -> list:
    pairs = []
    for method, path, roles in OPERATIONS:
        callers = PUBLIC_CALLERS if set(roles) == set(ROLE_ACCOUNTS) else roles
        pairs += [pytest.param(method, path, role, id=f"{method} {path} as {role}")
                  for role in callers]
    return pairs


def _refused() -> list:
    return [pytest.param(method, path, [r for r in ROLE_ACCOUNTS if r not in roles],
                         id=f"{method} {path}")
            for method, path, roles in OPERATIONS if set(roles) != set(ROLE_ACCOUNTS)]


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory):
    env = FuzzEnv.create(tmp_path_factory.mktemp("fuzz"))
    yield env
    env.close()


@pytest.mark.parametrize("method,path,role", _allowed_pairs())
def test_operation_answers_as_documented(fuzz_env, method, path, role):
    fuzz_env.reset()
    with like_postgres():
        made = fuzz_env.fuzz(method, path, role, examples=EXAMPLES, derandomize=DERANDOMIZE)
    assert made > 0


@pytest.mark.parametrize("method,path,refused", _refused())
def test_roles_that_may_not_call_are_refused(fuzz_env, method, path, refused):
    fuzz_env.reset()
    with like_postgres():
        for role in refused:
            fuzz_env.fuzz(method, path, role, examples=2, modes=("positive",),
                          derandomize=DERANDOMIZE, only_statuses=REFUSED)


# --- regressions of what the fuzzing found ------------------------------------------------

def test_an_id_beyond_any_database_integer_is_404_not_500(client, app):
    from tests.api.test_auth import bearer, get_token
    from tests.factories import make_user

    make_user("worker", username="bigids")
    token = get_token(client, "bigids").get_json()["token"]
    for huge in (2**31, 2**64):  # beyond PostgreSQL's INTEGER, and beyond SQLite's
        for path in (f"/api/v1/aid-requests/{huge}/withdraw", f"/api/v1/bookings/{huge}/cancel"):
            response = client.post(path, json={}, headers=bearer(token))
            assert response.status_code == 404, path
            assert response.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/bookings/{2**31 - 1}", headers=bearer(token)).status_code == 404
    assert client.get(f"/cases/{2**31}").status_code == 404  # a page: no such route


@pytest.mark.parametrize("path,body,field", [
    ("/api/v1/bookings", {"slot_id": 2**70}, "slot_id"),
    ("/api/v1/bookings", {"slot_id": 2**31}, "slot_id"),  # beyond PostgreSQL's INTEGER
    ("/api/v1/dorm-applications",
     {"park_id": 2**70, "gender": "M", "move_in_date": "2030-01-01", "shift": "day",
      "smoker": False, "needs_accessible": False, "max_rent_fen": 1000}, "park_id"),
])
def test_an_id_in_a_body_beyond_any_database_integer_is_422(client, app, path, body, field):
    from tests.api.test_auth import bearer, get_token
    from tests.factories import make_user

    make_user("worker", username="bigbody")
    response = client.post(path, json=body,
                           headers=bearer(get_token(client, "bigbody").get_json()["token"]))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_park_manager_assigning_an_application_id_beyond_integer_gets_422(client, app):
    from services.dorms.models import Bed
    from services.extensions import db
    from tests.api.test_auth import bearer, get_token
    from tests.dorms.factories import make_park

    _, _, manager = make_park("A,101,1,M,2,standard,no,20,300,,open")
    bed = db.session.scalars(db.select(Bed)).first()
    response = client.post(f"/api/v1/beds/{bed.id}/assign", json={"application_id": 2**70},
                           headers=bearer(get_token(client, manager.username).get_json()["token"]))
    assert response.status_code == 422
    assert "application_id" in response.get_json()["error"]["fields"]


def test_registering_with_an_employer_id_beyond_integer_gets_422(client, app):
    response = client.post("/api/v1/auth/register", json={
        "username": "bigemployer", "password": "a-long-passphrase-42", "phone": "13912345678",
        "name": "测试", "employer_id": 2**70})
    assert response.status_code == 422
    assert "employer_id" in response.get_json()["error"]["fields"]


def test_the_document_lists_what_these_operations_answer(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path, method in (("/services", "get"), ("/cases", "get"), ("/aid-requests", "get"),
                         ("/handoffs", "get"), ("/prescreen", "get"),
                         ("/parks/{park_id}/rooms", "get")):
        assert "422" in paths[path][method]["responses"], f"{method} {path}: bad query is 422"
    for path in ("/bookings", "/dorm-applications"):  # an id in the body that does not exist
        assert "404" in paths[path]["post"]["responses"], path
