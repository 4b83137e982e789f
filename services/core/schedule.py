"""Periodic jobs: domains register a job function and an interval; `flask jobs scheduler` runs them.

The scheduler is one small process (the Procfile's `clock:`) that enqueues each due job through
`jobs.enqueue` — on RQ when Redis is configured (so any worker runs it), inline otherwise. The
jobs themselves are idempotent (a sweep run twice does nothing the second time), so a restart or
a second scheduler by mistake never applies anything twice.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("anju.schedule")


@dataclass(frozen=True)
class Periodic:
    name: str
    job: Callable[..., dict]
    every_seconds: int


_PERIODIC: dict[str, Periodic] = {}


def every(seconds: int, name: str) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """Register a job function (signature `fn(*, job_id) -> dict`) to run every `seconds`."""
    if seconds < 10:
        raise ValueError("periodic jobs run at most every 10 seconds")

    def decorator(job: Callable[..., dict]) -> Callable[..., dict]:
        _PERIODIC[name] = Periodic(name, job, seconds)
        return job

    return decorator


def registered() -> list[Periodic]:
    return sorted(_PERIODIC.values(), key=lambda p: p.name)


def due(last_run: dict[str, float], now: float) -> list[Periodic]:
    """The jobs whose interval has passed since they last ran (all of them at start)."""
    return [p for p in registered() if now - last_run.get(p.name, float("-inf")) >= p.every_seconds]


def run_forever(*, enqueue: Callable[..., object], tick_seconds: float = 5.0,
                stop_after: int | None = None) -> int:
    """Enqueue due jobs every tick; `stop_after` ticks (tests) or forever. Returns jobs enqueued."""
    last_run: dict[str, float] = {}
    ticks = enqueued = 0
    while stop_after is None or ticks < stop_after:
        now = time.monotonic()
        for periodic in due(last_run, now):
            last_run[periodic.name] = now
            try:
                enqueue(periodic.job)
                enqueued += 1
            except Exception:  # one failing job must not stop the others' schedule
                log.exception("periodic job %s could not be enqueued", periodic.name)
        ticks += 1
        if stop_after is None or ticks < stop_after:
            time.sleep(tick_seconds)
    return enqueued
