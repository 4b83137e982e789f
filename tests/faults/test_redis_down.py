"""Redis unreachable: the site keeps serving and says so in the log.

Pages and /healthz answer 200 (health reports `redis: down`), the sign-in limit still holds, in
memory, per process (the 6th failure within a minute is refused), and a job runs inline instead
of failing the request that asked for it. Both a closed port (Redis down: refused at once) and
a black hole (Redis hung: the client's timeouts end the wait) — no Redis server is needed.
"""
from __future__ import annotations

import time

import pytest

from bench.tcp_proxy import TcpProxy
from services.core import jobs
from services.extensions import db
from tests.conftest import build_app, csrf_token
from tests.factories import make_user
from tests.live_server import free_port

WORST_SECONDS = 4  # a hung Redis costs at most a couple of client timeouts (1 s, 2 s)


def double(*, job_id: int, value: int) -> dict:
    return {"result": value * 2}


@pytest.fixture(params=["closed port", "black hole"])
def dead_redis(request):
    port = free_port()
    if request.param == "closed port":
        yield f"redis://127.0.0.1:{port}/9"
        return
    proxy = TcpProxy(port).start()  # accepts, never answers
    proxy.blackhole()
    yield f"redis://127.0.0.1:{proxy.port}/9"
    proxy.stop()


def _messages(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_site_serves_without_redis(tmp_path, dead_redis, fresh_limiter, caplog):
    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/site.db",
                    REDIS_URL=dead_redis, RATELIMIT_STORAGE_URI=dead_redis, JOBS_INLINE=False)
    with app.app_context():
        db.create_all()
        username = make_user("worker").username
        db.session.remove()
    client = app.test_client()
    started = time.monotonic()
    assert client.get("/login").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["redis"] == "down"

    statuses, slowest = [], 0.0
    for _ in range(6):
        with app.app_context():
            token = csrf_token(client, "/login")
        attempt = time.monotonic()
        statuses.append(client.post("/login", data={
            "csrf_token": token, "username": username, "password": "wrong-password"}).status_code)
        slowest = max(slowest, time.monotonic() - attempt)
    assert statuses == [401] * 5 + [429]
    assert slowest < WORST_SECONDS

    with app.app_context():
        attempt = time.monotonic()
        job = jobs.enqueue(double, value=4)
        assert (job.status, job.result) == ("done", {"result": 8})
        assert time.monotonic() - attempt < WORST_SECONDS
        db.session.remove()
        db.drop_all()
    log = _messages(caplog)
    assert "health: redis unavailable" in log
    assert "falling back to in-memory storage" in log
    assert f"job {job.id}" in log and "runs inline" in log
    assert time.monotonic() - started < 15
