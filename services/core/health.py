"""Health check for load balancers: the database answers, and Redis when it is configured."""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import text

from services.extensions import db

log = logging.getLogger("anju.health")


def check() -> tuple[int, dict]:
    result = {"database": "ok"}
    status = 200
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        db.session.rollback()
        log.error("health: database unavailable (%s)", type(exc).__name__)
        result["database"], status = "down", 503
    if current_app.config.get("REDIS_URL"):
        from redis import Redis

        try:
            Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=1).ping()
            result["redis"] = "ok"
        except Exception as exc:  # the site keeps serving without Redis: report, not fail
            log.warning("health: redis unavailable (%s)", type(exc).__name__)
            result["redis"] = "down"
    result["status"] = "ok" if status == 200 else "unavailable"
    return status, result
