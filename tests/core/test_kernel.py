"""The shared kernel: notifications after commit, jobs, uploads, pagination, audit masking."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from services.core import jobs, notify
from services.core.audit import AuditEvent, diff, record
from services.core.errors import ValidationFailed
from services.core.jobs import JobRun
from services.core.pagination import paginate
from services.core.uploads import StoredFile, save_upload, upload_dir
from services.extensions import db
from tests.factories import make_user

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
       b"\x00\x00IEND\xaeB`\x82")


def test_outside_deliveries_leave_only_after_commit(app):
    user = make_user("worker")
    sent = notify.adapter().sent
    notify.send(user_id=user.id, kind="t", title="hello", channels=("sms",))
    assert sent == []
    db.session.commit()
    assert [(d.user_id, d.channel, d.title) for d in sent] == [(user.id, "sms", "hello")]


def test_rolled_back_notification_is_never_delivered(app):
    user = make_user("worker")
    notify.send(user_id=user.id, kind="t", title="oops", channels=("sms",))
    db.session.rollback()
    db.session.commit()
    assert notify.adapter().sent == []
    assert notify.unread_count(user.id) == 0


def test_audit_diff_masks_sensitive_values():
    changes = diff({"phone": "13800000000", "name": "a"}, {"phone": "13900000000", "name": "b"})
    assert changes == {"phone": ["***", "***"], "name": ["a", "b"]}


def test_audit_record_is_part_of_the_transaction(app):
    record(action="x.done", object_type="x", object_id=1, actor_id=None, after={"a": 1})
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent)) is None


def double(*, job_id: int, value: int) -> dict:
    jobs.report_progress(job_id, 50)
    return {"result": value * 2}


def explode(*, job_id: int) -> dict:
    from services.accounts import operations

    user = operations.create_user(actor_id=None, role="admin", username="halfway",
                                  password="halfway-pass-1")  # work that must not survive
    raise RuntimeError(f"broken after creating {user.id}")


def test_inline_job_runs_and_records_result(app):
    job = jobs.enqueue(double, value=21)
    assert (job.status, job.progress, job.result) == ("done", 100, {"result": 42})
    jobs.execute(job.id)  # running a finished job again changes nothing
    assert db.session.get(JobRun, job.id).attempts == 1


def test_failed_job_rolls_back_its_work(app):
    from services.accounts.models import User

    job = jobs.enqueue(explode)
    assert job.status == "failed" and "broken" in job.error
    assert db.session.scalar(select(db.func.count(User.id))) == 0


@pytest.mark.redis
def test_job_runs_on_rq_when_redis_is_configured(tmp_path, redis_url):
    from redis import Redis
    from rq import SimpleWorker

    from tests.conftest import build_app

    app = build_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/rq.db",
                    REDIS_URL=redis_url, JOBS_INLINE=False, RQ_QUEUE="anju-test")
    with app.app_context():
        db.create_all()
        Redis.from_url(redis_url).delete("rq:queue:anju-test")
        job = jobs.enqueue(double, value=5)
        assert job.status == "queued"
        queue = jobs.queue()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        db.session.expire_all()
        finished = db.session.get(JobRun, job.id)
        assert (finished.status, finished.result) == ("done", {"result": 10})


def test_upload_checks_content_not_name(app):
    user = make_user("worker")
    stored = save_upload(file=FileStorage(io.BytesIO(PNG), filename="photo.pdf"), uploaded_by=user.id)
    assert stored.content_type == "image/png" and stored.stored_name.endswith(".png")
    assert (upload_dir() / stored.stored_name).read_bytes() == PNG
    assert "static" not in str(upload_dir())
    with pytest.raises(ValidationFailed):
        save_upload(file=FileStorage(io.BytesIO(b"<script>alert(1)</script>"), filename="x.png"),
                    uploaded_by=user.id)
    with pytest.raises(ValidationFailed):
        save_upload(file=FileStorage(io.BytesIO(b""), filename="empty.png"), uploaded_by=user.id)
    assert db.session.scalar(select(db.func.count(StoredFile.id))) == 1


def test_upload_too_large_is_refused(app):
    app.config["MAX_CONTENT_LENGTH"] = 100
    with pytest.raises(ValidationFailed):
        save_upload(file=FileStorage(io.BytesIO(PNG + b"0" * 200), filename="big.png"),
                    uploaded_by=None)


def test_request_over_size_limit_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/login", data={"username": "x" * 5000})
    assert response.status_code == 413


@pytest.mark.parametrize("page,per_page,expected", [
    (1, 2, (1, 2, 2)), ("3", "2", (3, 2, 1)), ("x", "-5", (1, 20, 5)), (1, 1000, (1, 100, 5)),
    (99, 2, (99, 2, 0)),
])
def test_paginate_tolerates_bad_numbers(app, page, per_page, expected):
    from services.accounts.models import User

    for _ in range(5):
        make_user("worker")
    result = paginate(select(User).order_by(User.id), page=page, per_page=per_page)
    assert (result.page, result.per_page, len(result.items)) == expected
    assert result.total == 5
