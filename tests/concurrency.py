"""Races in tests: run several steps at the same instant, each in its own thread, app context
and database session, released together by a barrier."""
from __future__ import annotations

import threading

from services.core.errors import Conflict
from services.extensions import db


def at_once(app, work, calls) -> list[str]:
    """Run `work(*args)` for each `args` in `calls` at once; each outcome is "ok" (committed)
    or the code of the Conflict it raised (rolled back), sorted."""
    calls = list(calls)
    barrier, outcomes = threading.Barrier(len(calls)), []

    def run(args):
        with app.app_context():
            barrier.wait()
            try:
                work(*args)
                db.session.commit()
                outcomes.append("ok")
            except Conflict as error:
                db.session.rollback()
                outcomes.append(error.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(args,)) for args in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)
