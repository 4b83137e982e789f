"""Fault drills: the faults real deployments meet, against real gunicorn processes on PostgreSQL.

Each drill does the damage for real and measures what the service does, then prints one table
(drill, what was done, what was measured, pass/fail); the exit status is 1 if any drill failed.

a. booking storm — 16 clients POST /api/v1/bookings for 200 workers × 8 slots while gunicorn
   workers are SIGKILLed again and again (one at a time, and all at once), with gunicorn as
   shipped and with `--preload`; a client whose answer was lost retries with its idempotency
   key, as a phone app would. Then the rows are counted: bookings equal to the seat counters,
   an audit event for every booking and none without one, every 201 a real row; and the time
   until the service answered again after each kill.
b. allocation commit killed — `flask dorms run PARK --commit` SIGKILLed mid-transaction at three
   points (held there by a table lock the drill takes: before the run row, before the offers,
   after the offers and their messages, before the audit event), and a gunicorn worker SIGKILLed
   while it runs the allocation job inline; no run, offer or offer message may survive, and the
   run starts again and places everyone once.
c. `pg_terminate_backend` of every connection of the app, eight times, under a mixed load of
   pages, API reads and bookings: 5xx counted, split into requests in flight at a termination
   and requests after it (those must be none).
d. PostgreSQL unreachable, through `bench/tcp_proxy.py` in front of 127.0.0.1:5432 (the shared
   server is never stopped): refused (server down), black hole with connections reset (host
   gone), black hole with connections silently stalled (a frozen server whose host still
   acknowledges every packet), and a real network partition: gunicorn in a network namespace
   of its own (`PrivateNetwork`, Linux as root), where the packets of its open connections are
   dropped. Measured: time to 503 for /healthz, a signed-in page and the API, whether workers
   hang, time to recover.
e. Redis unreachable (closed port, then a black hole): pages, health, sign-in and its rate
   limit (in memory, per process), a job; and what the log says.
f. a job that fails on its first attempt (an exception, then a SIGKILL of the RQ work-horse) is
   retried and applied exactly once, with the shipped `flask jobs worker` and with an RQ
   worker that runs the scheduler (retries with an interval need it).

Run from the repository root (PostgreSQL and Redis running):

    .venv/bin/python bench/fault_drills.py
    .venv/bin/python bench/fault_drills.py --only a,c \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/faults_drill

The database given is emptied (schema `public` dropped) and migrated with `flask db upgrade`;
never point it at one you need (names of shared databases are refused). Redis: one database
number (default 9) and queue `anju-drill`; only keys of that queue are deleted. Every process
the drills start is stopped by its own pid.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("ANJU_ENV", "testing")  # this process only sets up and counts: fast hashing

from sqlalchemy import String, cast, func, select, text  # noqa: E402

from app import create_app  # noqa: E402
from bench.tcp_proxy import PrivateNetwork, TcpProxy  # noqa: E402
from services.accounts.sessions import issue_token  # noqa: E402
from services.config import DB_CONNECT_TIMEOUT, DB_PING_TIMEOUT, engine_options  # noqa: E402
from services.extensions import db  # noqa: E402
from tests.live_server import Gunicorn, free_port  # noqa: E402

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/faults_drill"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
PROTECTED = re.compile(r"^(test|test_api|test_dash|bench_.*|postgres|template\d|anju)$")
SECRET_KEY = "fault-drills-secret-key"
PASSWORD = "correct-horse-42"
WEB_APP_NAME = "anju-drill-web"
CLI_APP_NAME = "anju-drill-cli"
QUEUE = "anju-drill"
FLASK = Path(sys.executable).parent / "flask"
RQ = Path(sys.executable).parent / "rq"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- results -------------------------------------------------------------------------------
@dataclass
class Result:
    drill: str
    done: str
    measured: str
    ok: bool


RESULTS: list[Result] = []


def report(drill: str, done: str, measured: str, ok: bool) -> None:
    RESULTS.append(Result(drill, done, measured, ok))
    print(f"  [{'PASS' if ok else 'FAIL'}] {drill}: {measured}", flush=True)


def print_table() -> None:
    print("\n| drill | what was done | what was measured | result |")
    print("| --- | --- | --- | --- |")
    for row in RESULTS:
        print(f"| {row.drill} | {row.done} | {row.measured} | {'pass' if row.ok else '**FAIL**'} |")


# --- HTTP ----------------------------------------------------------------------------------
@dataclass
class Answer:
    status: int  # 0: no HTTP answer (connection refused, reset or timed out)
    seconds: float
    started: float
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    error: str = ""

    def json(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return {}


def call(port: int, method: str, path: str, *, body: bytes | str | None = None,
         headers: dict | None = None, timeout: float = 30) -> Answer:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        cookies = {}
        for value in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(value)
            cookies.update({name: morsel.value for name, morsel in jar.items()})
        return Answer(response.status, time.monotonic() - started, started, data,
                      dict(response.headers), cookies)
    except (OSError, http.client.HTTPException) as error:
        return Answer(0, time.monotonic() - started, started, error=type(error).__name__)
    finally:
        connection.close()


def api(port: int, method: str, path: str, token: str, payload: dict | None = None,
        timeout: float = 30) -> Answer:
    headers = {"Authorization": f"Bearer {token}"}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    return call(port, method, path, body=json.dumps(payload) if payload is not None else None,
                headers=headers, timeout=timeout)


class Browser:
    """A visitor with a cookie jar; signed in when given a username."""

    def __init__(self, port: int, username: str | None = None):
        self.port, self.cookies = port, {}
        if username:
            answer = self.sign_in(username)
            if answer.status != 302:
                raise RuntimeError(f"sign-in of {username} answered {answer.status}")

    def sign_in(self, username: str, password: str = PASSWORD) -> Answer:
        return self.post("/login", {"username": username, "password": password}, "/login")

    def header(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, path: str, timeout: float = 30) -> Answer:
        answer = call(self.port, "GET", path, headers=self.header(), timeout=timeout)
        self.cookies.update(answer.cookies)
        return answer

    def post(self, path: str, data: dict, token_from: str, timeout: float = 60) -> Answer:
        """POST a form with the CSRF token of the page `token_from`, as a browser does."""
        page = self.get(token_from)
        match = CSRF_RE.search(page.body.decode("utf-8", "replace"))
        if not match:
            raise RuntimeError(f"no CSRF token on {token_from} ({page.status})")
        headers = {**self.header(), "Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode({"csrf_token": match.group(1), **data})
        answer = call(self.port, "POST", path, body=body, headers=headers, timeout=timeout)
        self.cookies.update(answer.cookies)
        return answer


def wait_until_ok(port: int, path: str = "/healthz", *, limit: float = 60,
                  headers: dict | None = None) -> float:
    """Seconds until `path` answers 200 (polling every 20 ms); inf after `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if call(port, "GET", path, headers=headers, timeout=2).status == 200:
            return time.monotonic() - start
        time.sleep(0.02)
    return float("inf")


# --- the laboratory: database, app for set-up and counting, processes ----------------------
class Lab:
    def __init__(self, database_url: str, redis_url: str, workdir: Path):
        self.database_url, self.redis_url, self.workdir = database_url, redis_url, workdir
        name = urlsplit(database_url).path.lstrip("/")
        if not database_url.startswith("postgresql") or PROTECTED.match(name):
            raise SystemExit(f"refusing to empty database {name!r}: give a PostgreSQL database "
                             "of your own (--database-url)")
        self.app = create_app({
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url), "SECRET_KEY": SECRET_KEY,
            "NOTIFY_ADAPTER": "memory", "UPLOAD_FOLDER": str(workdir / "uploads"),
            "REDIS_URL": None, "JOBS_INLINE": True,
        })
        self.processes: list[subprocess.Popen] = []

    def env(self, **extra: str) -> dict:
        environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        environment.update({"ANJU_ENV": "development", "DATABASE_URL": self.database_url,
                            "SECRET_KEY": SECRET_KEY, "NOTIFY_ADAPTER": "log", "FORCE_HTTPS": "0",
                            "FLASK_APP": "app", "PYTHONUNBUFFERED": "1", "RQ_QUEUE": QUEUE})
        environment.update(extra)
        return environment

    def reset(self) -> None:
        """Empty the database and migrate it as production does (`flask db upgrade`)."""
        with self.app.app_context():
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            db.engine.dispose()
        started = time.monotonic()
        subprocess.run([str(FLASK), "db", "upgrade"], cwd=REPO, env=self.env(), check=True,
                       capture_output=True)
        print(f"  database migrated in {time.monotonic() - started:.1f} s", flush=True)

    def gunicorn(self, name: str, *, database_url: str | None = None, workers: int = 4,
                 timeout: int = 60, env: dict | None = None,
                 args: tuple[str, ...] = ()) -> Gunicorn:
        environment = {"PGAPPNAME": WEB_APP_NAME, "RQ_QUEUE": QUEUE, **(env or {})}
        server = Gunicorn(self.workdir, database_url or self.database_url,
                          secret_key=SECRET_KEY, workers=workers, timeout=timeout,
                          env=environment, log_name=f"gunicorn-{name}.log", args=args)
        server.wait_ready()
        server.wait_workers()
        return server

    def start(self, args: list[str], log_name: str, **env: str) -> subprocess.Popen:
        log = open(self.workdir / log_name, "wb")  # noqa: SIM115  (the child keeps it)
        process = subprocess.Popen(args, cwd=REPO, env=self.env(**env), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def stop_all(self) -> None:
        for process in self.processes:
            self.stop(process)

    def log(self, name: str) -> str:
        path = self.workdir / name
        return path.read_text("utf-8", "replace") if path.exists() else ""

    def sql(self, statement: str, **params):
        """One statement in its own transaction (autocommit); the first column of the first row."""
        with self.app.app_context():
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                result = c.execute(text(statement), params)
                return result.scalar() if result.returns_rows else None

    def backends(self, app_name: str) -> list[tuple]:
        with self.app.app_context():
            with db.engine.connect() as connection:
                return list(connection.execute(text(
                    "SELECT pid, state, wait_event_type, left(query, 60) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"),
                    {"name": app_name}))


def seconds(values: list[float]) -> str:
    if not values:
        return "–"
    return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s"


# --- a. booking storm with SIGKILLed workers -----------------------------------------------
STORM_WORKERS, STORM_SLOTS, STORM_CAPACITY, STORM_CLIENTS = 200, 8, 25, 16


def drill_booking_storm(lab: Lab, kills: int = 12) -> None:
    _booking_storm(lab, kills, preload=False)
    _booking_storm(lab, kills, preload=True)


def _booking_storm(lab: Lab, kills: int, *, preload: bool) -> None:
    from services.bookings.models import SEATED, Booking, Slot
    from services.core.audit import AuditEvent
    from tests.bookings.helpers import make_service, make_slot
    from tests.factories import make_user

    print(f"a. booking storm with SIGKILLed workers{' (--preload)' if preload else ''}",
          flush=True)
    with lab.app.app_context():
        provider = make_user("provider")
        service = make_service(provider, max_active_bookings=STORM_SLOTS)
        slots = [make_slot(service, capacity=STORM_CAPACITY, start_in_hours=48 + 3 * i,
                           provider=provider).id for i in range(STORM_SLOTS)]
        workers = [make_user("worker") for _ in range(STORM_WORKERS)]
        people = [(w.id, issue_token(w)[0]) for w in workers]
        db.session.remove()
    tasks: queue.Queue = queue.Queue()
    pairs = [(person, slot) for person in range(STORM_WORKERS) for slot in slots]
    random.Random(2026).shuffle(pairs)
    for pair in pairs:
        tasks.put(pair)
    final: dict[tuple[int, int], Answer] = {}
    attempts: list[Answer] = []
    lock = threading.Lock()
    server = lab.gunicorn("storm-preload" if preload else "storm",
                          args=("--preload",) if preload else ())
    stop_kills = threading.Event()
    baseline: list[float] = []

    def client() -> None:
        while True:
            try:
                person, slot = tasks.get_nowait()
            except queue.Empty:
                return
            worker_id, token = people[person]
            body = {"slot_id": slot, "idempotency_key": f"storm-{worker_id}-{slot}"}
            for _ in range(10):  # a lost answer (a killed worker) is retried with the same key
                answer = api(server.port, "POST", "/api/v1/bookings", token, body)
                with lock:
                    attempts.append(answer)
                if answer.status not in (0, 502, 503, 504):
                    break
                time.sleep(0.2)
            with lock:
                final[(worker_id, slot)] = answer

    answered_one, answered_all, respawned = [], [], []

    def killer() -> None:
        rng = random.Random(7)
        time.sleep(1)
        for _ in range(5):  # how long a request waits in the queue of a busy server, no kill
            baseline.append(call(server.port, "GET", "/healthz").seconds)
        for number in range(kills):
            if stop_kills.wait(1.5):
                return
            pids = server.worker_pids()
            everyone = number % 4 == 3
            victims = pids if everyone else [rng.choice(pids)]
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            started = time.monotonic()
            after = wait_until_ok(server.port, limit=30)
            (answered_all if everyone else answered_one).append(after)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                live = server.worker_pids()
                if len(live) >= server.workers and not set(victims) & set(live):
                    break
                time.sleep(0.02)
            respawned.append(time.monotonic() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(STORM_CLIENTS)]
    kill_thread = threading.Thread(target=killer, daemon=True)
    for thread in threads:
        thread.start()
    kill_thread.start()
    for thread in threads:
        thread.join(timeout=600)
    stop_kills.set()
    kill_thread.join(timeout=60)
    elapsed = time.monotonic() - started
    server.stop()
    timeouts = server.output().count("WORKER TIMEOUT")

    cut = sum(1 for a in attempts if a.status == 0)
    fivexx = sum(1 for a in attempts if a.status >= 500)
    replayed = sum(1 for a in final.values() if a.headers.get("Idempotent-Replayed") == "true")
    gave_up = sum(1 for a in final.values() if a.status in (0, 502, 503, 504))
    claimed = {a.json().get("id") for a in final.values() if a.status == 201}
    with lab.app.app_context():
        counters_ok = 0
        total_rows = 0
        for slot_id in slots:
            rows = db.session.scalar(select(func.count(Booking.id)).where(
                Booking.slot_id == slot_id, Booking.status.in_(SEATED)))
            slot = db.session.get(Slot, slot_id)
            counters_ok += rows == slot.booked_count <= slot.capacity
            total_rows += rows
        booking_ids = set(db.session.scalars(select(Booking.id).where(Booking.slot_id.in_(slots))))
        audited = set(db.session.scalars(select(AuditEvent.object_id).where(
            AuditEvent.object_type == "booking")))
        no_audit = sum(1 for b in booking_ids if str(b) not in audited)
        orphan_audit = db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.object_type == "booking",
            AuditEvent.object_id.not_in(select(cast(Booking.id, String))))) or 0
        by_pair = {(w, s): i for i, w, s in db.session.execute(
            select(Booking.id, Booking.worker_id, Booking.slot_id).where(
                Booking.slot_id.in_(slots)))}
        db.session.remove()
    phantom = len(claimed - booking_ids)
    mismatched = sum(1 for pair, answer in final.items()
                     if (answer.status == 201) != (pair in by_pair))
    partial = (STORM_SLOTS - counters_ok) + no_audit + orphan_audit + phantom + mismatched
    worst = max(answered_one + answered_all, default=0)
    report(f"a. booking storm, gunicorn {'--preload' if preload else 'as shipped'}",
           f"{len(pairs):,} booking requests ({STORM_WORKERS} workers × {STORM_SLOTS} slots of "
           f"{STORM_CAPACITY} seats) from {STORM_CLIENTS} clients to 4 gunicorn workers in "
           f"{elapsed:.0f} s; SIGKILL of one worker ×{len(answered_one)}, of all 4 at once "
           f"×{len(answered_all)}, every 1.5 s",
           f"{len(attempts):,} requests, {cut} cut by a kill (retried with their key; "
           f"{replayed} answered as replays), {fivexx} × 5xx, {gave_up} given up; /healthz "
           f"under this load without a kill {seconds(baseline)}; answered "
           f"again after a kill: one worker {seconds(answered_one)}, all workers "
           f"{seconds(answered_all)}; workers respawned {seconds(respawned)}; "
           f"{total_rows} bookings = seat counters on {counters_ok}/{STORM_SLOTS} slots; "
           f"partial rows: {no_audit} bookings without audit event, {orphan_audit} audit events "
           f"without booking, {phantom} answered ids without row, {mismatched} answers "
           f"disagreeing with the rows; worker timeouts {timeouts}",
           fivexx == 0 and partial == 0 and gave_up == 0 and worst <= 2.0)


# --- b. allocation commit killed ------------------------------------------------------------
ALLOC_ROOMS, ALLOC_APPLICANTS = 100, 300


def _park_with_queue(code: str):
    """A park with ALLOC_ROOMS rooms of 4 beds and ALLOC_APPLICANTS waiting applications."""
    from services.accounts import operations as accounts
    from services.dorms.operations import applications
    from tests.dorms.factories import make_park

    rooms = "\n".join(f"{'AB'[i % 2]},{100 + i},1,{'FM'[i % 2]},4,standard,no,24,300,,"
                      for i in range(ALLOC_ROOMS))
    park, employer, manager = make_park(rooms)
    for i in range(ALLOC_APPLICANTS):
        worker = accounts.create_user(actor_id=None, role="worker", username=f"{code}-w{i}",
                                      password=PASSWORD, phone=f"137{park.id:03d}{i:05d}",
                                      org_code=employer.code, name=f"{code} {i}")
        applications.submit_application(
            worker=worker, park_id=park.id, gender="FM"[i % 2],
            move_in_date=date.today() + timedelta(days=3), shift="day", smoker=False,
            needs_accessible=False, max_rent_fen=50000, preferred_buildings=[])
        if i % 100 == 99:
            db.session.commit()
    db.session.commit()
    return park.id, park.code, manager.username


def _offers(park_id: int) -> dict:
    """What allocation runs left in a park: runs, offers, offered applications, offer messages."""
    from services.core.notify import Notification
    from services.dorms.models import (AllocationRun, ApplicationStatus, DormApplication, Stay,
                                       StayStatus)

    db.session.expire_all()
    apps = select(DormApplication.worker_id).where(DormApplication.park_id == park_id)
    runs = list(db.session.scalars(select(AllocationRun).where(AllocationRun.park_id == park_id)))
    return {
        "committed_runs": sum(1 for r in runs if r.committed and r.status == "done"),
        "placed": sum(r.summary["placed"] for r in runs if r.committed and r.summary),
        "other_runs": sum(1 for r in runs if not (r.committed and r.status == "done")),
        "offers": db.session.scalar(select(func.count(Stay.id)).where(
            Stay.status == StayStatus.OFFERED, Stay.worker_id.in_(apps))),
        "offered_apps": db.session.scalar(select(func.count(DormApplication.id)).where(
            DormApplication.park_id == park_id,
            DormApplication.status == ApplicationStatus.OFFERED)),
        "notes": db.session.scalar(select(func.count(Notification.id)).where(
            Notification.kind == "dorm_offer", Notification.user_id.in_(apps))),
    }


def _park_state(lab: Lab, park_id: int) -> dict:
    with lab.app.app_context():
        state = _offers(park_id)
        db.session.remove()
    return state


def _placed_once(state: dict) -> bool:
    """One committed run, and everyone it placed has exactly one offer and one message."""
    return (state["committed_runs"] == 1 and state["placed"] == ALLOC_APPLICANTS
            and state["offers"] == state["offered_apps"] == state["notes"] == state["placed"])


def _kill_when_blocked(lab: Lab, table: str, app_name: str, start, kill) -> str:
    """Hold a lock on `table`, start the work, SIGKILL it once it waits for the lock there."""
    with lab.app.app_context():
        holder = db.engine.connect()
        transaction = holder.begin()
        holder.execute(text(f"LOCK TABLE {table} IN SHARE MODE"))
        process = start()
        seen = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not seen:
            for _, _, wait, query in lab.backends(app_name):
                if wait == "Lock":
                    seen = query
            if process.poll() is not None:
                break
            time.sleep(0.01)
        kill()
        transaction.rollback()
        holder.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and lab.backends(app_name):
            time.sleep(0.05)  # the server notices the dead client and rolls its transaction back
        db.engine.dispose()
    return seen or "(never blocked)"


def drill_allocation_kill(lab: Lab) -> None:
    from services.core import jobs
    from services.core.audit import utcnow
    from services.core.jobs import JobRun
    from services.dorms.models import AllocationRun

    print("b. allocation commit killed", flush=True)
    with lab.app.app_context():
        cli_park, cli_code, _ = _park_with_queue("cli")
        web_park, _, web_manager = _park_with_queue("web")
        db.session.remove()

    points = [("dorm_allocation_runs", "engine solved, run row next"),
              ("dorm_stays", "run row written, offers next"),
              ("audit_events", "offers and notifications written, audit event next")]
    outcomes = []
    for table, moment in points:
        holder: dict = {}

        def start():
            holder["p"] = lab.start([str(FLASK), "dorms", "run", cli_code, "--commit"],
                                    "dorms-run-killed.log", PGAPPNAME=CLI_APP_NAME)
            return holder["p"]

        def kill():
            os.killpg(holder["p"].pid, signal.SIGKILL)
            holder["p"].wait(timeout=10)

        seen = _kill_when_blocked(lab, table, CLI_APP_NAME, start, kill)
        state = _park_state(lab, cli_park)
        clean = (state["offers"] == state["notes"] == state["offered_apps"] == 0
                 and state["committed_runs"] == state["other_runs"] == 0)
        outcomes.append(clean)
        report(f"b. `flask dorms run --commit` SIGKILLed ({moment})",
               f"table lock held on {table}; SIGKILL when the command waited on `{seen}`",
               f"left behind: {state['committed_runs'] + state['other_runs']} runs, "
               f"{state['offers']} offers, {state['offered_apps']} offered applications, "
               f"{state['notes']} offer messages", clean)
    started = time.monotonic()
    rerun = subprocess.run([str(FLASK), "dorms", "run", cli_code, "--commit"], cwd=REPO,
                           env=lab.env(), capture_output=True, text=True)
    took = time.monotonic() - started
    state = _park_state(lab, cli_park)
    ok = rerun.returncode == 0 and _placed_once(state)
    report("b. allocation run started again (CLI)",
           f"`flask dorms run {cli_code} --commit` after the three kills",
           f"exit {rerun.returncode} in {took:.1f} s; 1 committed run, {state['placed']} placed "
           f"= {state['offers']} offers = {state['offered_apps']} offered applications = "
           f"{state['notes']} messages", ok)

    # The same as a job, run inline by the gunicorn worker that served the manager's POST.
    server = lab.gunicorn("alloc", workers=1)
    try:
        manager = Browser(server.port, web_manager)

        def post_run():
            threading.Thread(target=lambda: manager.post(
                "/dorms/manage/runs", {"commit": "1"}, "/dorms/manage/runs", timeout=120),
                daemon=True).start()
            return server.process

        def kill_worker():
            for pid in server.worker_pids():
                os.kill(pid, signal.SIGKILL)

        seen = _kill_when_blocked(lab, "dorm_stays", WEB_APP_NAME, post_run, kill_worker)
        answered = wait_until_ok(server.port, limit=30)
        with lab.app.app_context():
            state = _offers(web_park)
            stale = [(j.id, j.status) for j in db.session.scalars(select(JobRun))]
            killed = db.session.scalars(select(AllocationRun).where(
                AllocationRun.park_id == web_park, AllocationRun.status != "done")).all()
            queued = [r.id for r in killed]
            linked = [r.job_id for r in killed if r.job_id is not None]
            # The clock's sweep, as it runs once ABANDONED_AFTER has passed (not waited for).
            swept = jobs.fail_abandoned(
                now=utcnow() + jobs.ABANDONED_AFTER + timedelta(seconds=1))
            db.session.commit()
            after = [db.session.get(JobRun, job_id).status for job_id in linked]
            db.session.remove()
        clean = state["offers"] == state["notes"] == state["offered_apps"] == 0 \
            and state["committed_runs"] == 0
        report("b. gunicorn worker SIGKILLed in the allocation job (inline)",
               f"POST /dorms/manage/runs (commit) on a 1-worker gunicorn; table lock on "
               f"dorm_stays; SIGKILL when the job waited on `{seen}`",
               f"left behind: {state['offers']} offers, {state['offered_apps']} offered "
               f"applications, {state['notes']} messages; service answered again after "
               f"{answered:.2f} s; the run row stays `queued` and its job "
               f"`{stale[-1][1] if stale else '?'}`; the clock's sweep "
               f"{int(jobs.ABANDONED_AFTER.total_seconds() // 60)} min later failed {swept} "
               f"attempt(s), the run's linked job now {after or 'not linked'} (its page says "
               f"the run failed)", clean and after == ["failed"])
        started = time.monotonic()
        answer = manager.post("/dorms/manage/runs", {"commit": "1"}, "/dorms/manage/runs",
                              timeout=120)
        took = time.monotonic() - started
        state = _park_state(lab, web_park)
        ok = answer.status == 302 and _placed_once(state)
        report("b. allocation run started again (web, inline job)",
               "the manager posts the run again",
               f"{answer.status} after {took:.1f} s; 1 committed run, {state['placed']} placed = "
               f"{state['offers']} offers = {state['notes']} messages; stale runs left: "
               f"{len(queued)}", ok)
    finally:
        server.stop()


# --- c. pg_terminate_backend under load ------------------------------------------------------
def drill_terminate_backends(lab: Lab, rounds: int = 8) -> None:
    from services.bookings.models import SEATED, Booking, Slot
    from tests.bookings.helpers import make_service, make_slot
    from tests.factories import make_user

    print("c. pg_terminate_backend under load", flush=True)
    with lab.app.app_context():
        provider = make_user("provider")
        service = make_service(provider, max_active_bookings=50)
        slots = [make_slot(service, capacity=1000, start_in_hours=30 + 1.5 * i,
                           provider=provider).id for i in range(40)]
        people = []
        for _ in range(30):
            worker = make_user("worker")
            people.append((worker.id, worker.username, issue_token(worker)[0]))
        db.session.remove()
    server = lab.gunicorn("terminate")
    browsers = [Browser(server.port, people[i][1]) for i in range(4)]
    answers: list[tuple[str, Answer]] = []
    lock = threading.Lock()
    stop = threading.Event()
    work: queue.Queue = queue.Queue()
    for person in range(len(people)):
        for slot in slots:
            work.put((person, slot))

    def load(n: int) -> None:
        rng = random.Random(n)
        while not stop.is_set():
            kind = rng.choice(("page", "api", "book", "book"))
            if kind == "page":
                answer = browsers[n % len(browsers)].get("/")
            elif kind == "api":
                answer = api(server.port, "GET", "/api/v1/me", people[n][2])
            else:
                try:
                    person, slot = work.get_nowait()
                except queue.Empty:
                    continue
                worker_id, _, token = people[person]
                body = {"slot_id": slot, "idempotency_key": f"term-{worker_id}-{slot}"}
                answer = api(server.port, "POST", "/api/v1/bookings", token, body)
                if answer.status >= 500 or answer.status == 0:
                    work.put((person, slot))  # retried later with the same key
            with lock:
                answers.append((kind, answer))

    threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(12)]
    for thread in threads:
        thread.start()
    terminations: list[tuple[float, float]] = []
    killed = 0
    time.sleep(2)
    for _ in range(rounds):
        started = time.monotonic()
        killed += lab.sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = :name AND datname = current_database()",
            name=WEB_APP_NAME) or 0
        terminations.append((started, time.monotonic()))
        time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    server.stop()

    def in_flight(answer: Answer) -> bool:
        end = answer.started + answer.seconds
        return any(answer.started <= t_end and end >= t_start for t_start, t_end in terminations)

    bad = [(kind, a) for kind, a in answers if a.status >= 500 or a.status == 0]
    during = [a for _, a in bad if in_flight(a)]
    after = [a for _, a in bad if not in_flight(a)]
    kinds = {}
    for kind, a in bad:
        kinds[f"{kind} {a.status}"] = kinds.get(f"{kind} {a.status}", 0) + 1
    with lab.app.app_context():
        mismatched = 0
        for slot_id in slots:
            rows = db.session.scalar(select(func.count(Booking.id)).where(
                Booking.slot_id == slot_id, Booking.status.in_(SEATED)))
            mismatched += rows != db.session.get(Slot, slot_id).booked_count
        db.session.remove()
    report("c. pg_terminate_backend under load",
           f"12 clients (signed-in page, API read, booking) for {len(terminations) * 2 + 2} s on "
           f"4 gunicorn workers; all the app's connections terminated {len(terminations)} times "
           f"({killed} backends in all)",
           f"{len(answers):,} requests; 5xx: {len(during)} in flight at a termination "
           f"({', '.join(f'{k} ×{v}' for k, v in sorted(kinds.items())) or 'none'}), "
           f"{len(after)} after the reconnect; seat counters wrong on {mismatched} slots",
           not after and mismatched == 0 and all(a.status == 503 for a in during))


# --- d. PostgreSQL unreachable through a proxy -----------------------------------------------
def _burst(port: int, requests: list[tuple[str, dict]], timeout: float) -> list[Answer]:
    """The requests at once, one thread each."""
    answers: list[Answer] = [None] * len(requests)  # type: ignore[list-item]

    def send(i: int, path: str, headers: dict) -> None:
        answers[i] = call(port, "GET", path, headers=headers, timeout=timeout)

    threads = [threading.Thread(target=send, args=(i, path, headers), daemon=True)
               for i, (path, headers) in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 5)
    return answers


def drill_database_unreachable(lab: Lab) -> None:
    from tests.factories import make_user

    print("d. PostgreSQL unreachable (proxy)", flush=True)
    with lab.app.app_context():
        worker = make_user("worker")
        person = (worker.username, issue_token(worker)[0])
        db.session.remove()
    target = urlsplit(lab.database_url)
    proxy = TcpProxy(target.port or 5432, target.hostname or "127.0.0.1").start()
    server = lab.gunicorn("pgdown", database_url=_through(lab.database_url, proxy),
                          timeout=30)  # production's timeout
    try:
        # Refused and reset: at once or after the connect timeout; frozen: the pre-ping gives
        # up after DB_PING_TIMEOUT, then the one reconnect after the connect timeout.
        for label, cut, limit in (
                ("refused (server down)", proxy.refuse, 5),
                ("black hole, connections reset (host gone)",
                 lambda: (proxy.blackhole(), proxy.cut()), 5),
                ("frozen: connections stalled, its host still acknowledging", proxy.blackhole,
                 DB_PING_TIMEOUT + DB_CONNECT_TIMEOUT + 1)):
            _unreachable(server, person, label, cut, proxy.forward, limit=limit)
    finally:
        server.stop()
        proxy.stop()
    _partition(lab, person)


def _through(database_url: str, proxy: TcpProxy) -> str:
    target = urlsplit(database_url)
    return database_url.replace(target.netloc, f"{target.username}@127.0.0.1:{proxy.port}"
                                if target.username else f"127.0.0.1:{proxy.port}")


def _partition(lab: Lab, person: tuple[str, str]) -> None:
    """A real network partition: gunicorn in a network namespace of its own, where the packets
    of its open connections to the proxy are dropped (nothing answered, nothing acknowledged);
    the proxy reaches PostgreSQL by its Unix socket."""
    from services.config import DB_STALL_TIMEOUT

    label = "network partition (packets dropped)"
    reason = PrivateNetwork.unavailable()
    port = urlsplit(lab.database_url).port or 5432
    folder = lab.sql("SHOW unix_socket_directories").split(",")[0].strip()
    socket_path = Path(folder) / f".s.PGSQL.{port}"
    if reason is None and not socket_path.exists():
        reason = f"no Unix socket {socket_path}"
    if reason:
        report(f"d. PostgreSQL {label}", "not run", reason, False)
        return

    def scenario(network: PrivateNetwork) -> None:
        proxy = TcpProxy(port, unix_socket=str(socket_path)).start()
        server = lab.gunicorn("pgpartition", database_url=_through(lab.database_url, proxy),
                              timeout=30)
        try:
            _unreachable(server, person, label, lambda: network.partition(proxy),
                         lambda: network.heal(proxy),
                         limit=DB_STALL_TIMEOUT + DB_CONNECT_TIMEOUT + 1,
                         done="in a network namespace of its own, ")
        finally:
            server.stop()
            proxy.stop()

    PrivateNetwork.run(scenario, timeout=600)


def _unreachable(server, person: tuple[str, str], label: str, cut, restore, *, limit: float,
                 done: str = "") -> None:
    """Cut the database off `server` with `cut()`, measure, `restore()` it, measure again."""
    username, token = person
    browser = Browser(server.port, username)
    bearer = {"Authorization": f"Bearer {token}"}
    one_each = [("/healthz", {}), ("/", browser.header()), ("/api/v1/me", bearer),
                ("/", browser.header())]
    nine = [("/healthz", {}), ("/", browser.header()), ("/api/v1/me", bearer)] * 3

    _burst(server.port, nine * 2, timeout=10)  # every worker holds a pooled connection
    pids = set(server.worker_pids())
    cut()
    single = _burst(server.port, one_each, timeout=45)
    queued = _burst(server.port, nine, timeout=45)
    everything = single + queued
    statuses = sorted({a.status for a in everything})
    api_answers = [single[2]] + queued[2::3]
    json_ok = all(a.json().get("error", {}).get("code") == "unavailable" for a in api_answers)
    pages_and_api = single[1:] + [a for i, a in enumerate(queued) if i % 3]
    retry_after = all(a.headers.get("Retry-After") for a in pages_and_api if a.status == 503)
    restarted = len(pids - set(server.worker_pids()))
    restore()
    back = wait_until_ok(server.port, "/api/v1/me", headers=bearer, limit=60)
    worst_single = max(a.seconds for a in single)
    ok = (statuses == [503] and worst_single <= limit and restarted == 0 and back <= 5
          and json_ok and retry_after)
    report(f"d. PostgreSQL {label}",
           f"through the proxy, {done}4 workers (gunicorn timeout 30 s as in production): 4 "
           "requests at once (/healthz, signed-in page, GET /api/v1/me, page), then 9",
           f"statuses {statuses}; answered in: 4 at once "
           f"{seconds([a.seconds for a in single])}, "
           f"9 at once {seconds([a.seconds for a in queued])}; workers killed by the "
           f"gunicorn timeout: {restarted}; API body "
           f"{'`unavailable`' if json_ok else 'not `unavailable`'}, pages' Retry-After "
           f"{'set' if retry_after else 'missing'}; 200 again {back:.2f} s after the "
           f"database came back", ok)


# --- e. Redis unreachable ------------------------------------------------------------------
def drill_redis_unreachable(lab: Lab) -> None:
    from tests.dorms.factories import make_park
    from tests.factories import make_user

    print("e. Redis unreachable", flush=True)
    with lab.app.app_context():
        park, _, manager = make_park("A,101,1,F,2,standard,no,20,300,,")
        manager_name = manager.username
        victim = make_user("worker").username
        db.session.remove()
    target = urlsplit(lab.redis_url)
    proxy = TcpProxy(target.port or 6379, target.hostname or "127.0.0.1").start()
    closed = free_port()
    cases = (("closed port", f"redis://127.0.0.1:{closed}{target.path or '/9'}", None),
             ("black hole", f"redis://127.0.0.1:{proxy.port}{target.path or '/9'}",
              proxy.blackhole))
    try:
        for label, url, cut in cases:
            if cut:
                cut()
            server = lab.gunicorn(f"redis-{label.replace(' ', '-')}",
                                  env={"REDIS_URL": url, "JOBS_INLINE": "0"})
            try:
                pages = [call(server.port, "GET", "/login"), call(server.port, "GET", "/healthz")]
                health = pages[1].json()
                manager = Browser(server.port, manager_name)
                pages.append(manager.get("/dorms/manage/runs"))
                failures, limited_at, slowest = 0, None, 0.0
                for attempt in range(1, 30):
                    answer = Browser(server.port).sign_in(victim, "wrong-password-1")
                    slowest = max(slowest, answer.seconds)
                    if answer.status == 429:
                        limited_at = attempt
                        break
                    failures += 1
                started = time.monotonic()
                run = manager.post("/dorms/manage/runs", {"commit": "0"}, "/dorms/manage/runs")
                job_seconds = time.monotonic() - started
                run_page = manager.get(run.headers.get("Location", "/dorms/manage/runs"))
                job_done = run_page.status == 200
            finally:
                server.stop()
            log = server.output()
            warned = {
                "limiter": "falling back to in-memory storage" in log,
                "health": "health: redis unavailable" in log,
                "jobs": "runs inline" in log,
            }
            with lab.app.app_context():
                from services.core.jobs import JobRun

                job = db.session.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
                job_state = job.status if job else "none"
                db.session.remove()
            ok = (all(p.status == 200 for p in pages) and health.get("redis") == "down"
                  and limited_at is not None and limited_at <= 4 * 5 + 1 and job_state == "done"
                  and job_done and all(warned.values()) and slowest < 5)
            report(f"e. Redis {label}",
                   "gunicorn (4 workers) with REDIS_URL unreachable: pages, /healthz, failed "
                   "sign-ins of one account until 429, an allocation dry run (a job)",
                   f"pages {[p.status for p in pages]}, /healthz redis `{health.get('redis')}`; "
                   f"429 at failed sign-in no. {limited_at} (in memory, per process: 6 to 21 "
                   f"with 4 workers; slowest sign-in {slowest:.2f} s); job ran inline: "
                   f"`{job_state}` in {job_seconds:.2f} s; log warnings: "
                   f"{', '.join(k for k, v in warned.items() if v) or 'none'}", ok)
    finally:
        proxy.stop()


# --- f. a failing job is retried and applied once --------------------------------------------
def drill_job_retry(lab: Lab) -> None:
    from redis import Redis
    from rq.registry import ScheduledJobRegistry

    from bench.drill_jobs import EFFECT, effect_job
    from services.core import jobs
    from services.core.audit import AuditEvent
    from services.core.jobs import JobRun

    print("f. failing jobs retried, applied once", flush=True)
    redis = Redis.from_url(lab.redis_url)
    for key in redis.scan_iter(f"rq:*{QUEUE}*"):
        redis.delete(key)
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": lab.database_url, "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(lab.database_url),
        "NOTIFY_ADAPTER": "memory", "UPLOAD_FOLDER": str(lab.workdir / "uploads"),
        "REDIS_URL": lab.redis_url, "JOBS_INLINE": False, "RQ_QUEUE": QUEUE})

    def state(job_id: int) -> tuple[str, int, int]:
        with app.app_context():
            job = db.session.get(JobRun, job_id)
            effects = db.session.scalar(select(func.count(AuditEvent.id)).where(
                AuditEvent.action == EFFECT, AuditEvent.object_id == str(job_id)))
            result = (job.status, job.attempts, effects)
            db.session.remove()
            return result

    workers = (
        ("shipped `flask jobs worker`", [str(FLASK), "jobs", "worker"]),
        ("RQ worker with its scheduler", [str(RQ), "worker", "--with-scheduler", "--url",
                                          lab.redis_url, "--path", str(REPO), QUEUE]),
    )
    for label, command in workers:
        process = lab.start(command, f"rq-{label.split()[0].strip('`')}.log",
                            REDIS_URL=lab.redis_url)
        try:
            for mode in ("raise", "kill"):
                with app.app_context():
                    job_id = jobs.enqueue(effect_job, mode=mode).id
                    db.session.remove()
                started = time.monotonic()
                limit = jobs.RETRY_INTERVALS[0] + 20
                while time.monotonic() - started < limit and state(job_id)[0] != "done":
                    time.sleep(0.25)
                took = time.monotonic() - started
                status, attempts, effects = state(job_id)
                waiting = ScheduledJobRegistry(QUEUE, connection=redis).get_job_ids()
                parked = "; its retry is parked in RQ's scheduled registry, never run" \
                    if f"anju-job-{job_id}" in waiting else ""
                ok = status == "done" and effects == 1
                report(f"f. job that {'raises' if mode == 'raise' else 'is SIGKILLed'} on its "
                       f"first attempt, {label}",
                       f"enqueued on RQ; retry intervals {jobs.RETRY_INTERVALS} s; waited up "
                       f"to {limit} s",
                       f"status `{status}` after {took:.1f} s, {attempts} attempt(s), effect "
                       f"applied {effects} time(s){parked}", ok)
        finally:
            lab.stop(process)
    for key in redis.scan_iter(f"rq:*{QUEUE}*"):
        redis.delete(key)


DRILLS = {"a": drill_booking_storm, "b": drill_allocation_kill, "c": drill_terminate_backends,
          "d": drill_database_unreachable, "e": drill_redis_unreachable, "f": drill_job_retry}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DRILL_DATABASE_URL",
                                                                 DEFAULT_DATABASE))
    parser.add_argument("--redis-url", default=os.environ.get("DRILL_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--only", default="abcdef", help="drills to run, e.g. a,c")
    args = parser.parse_args()
    chosen = [d for d in args.only.replace(",", "") if d in DRILLS]
    workdir = Path(tempfile.mkdtemp(prefix="anju-drills-"))
    print(f"fault drills {', '.join(chosen)} on {urlsplit(args.database_url).path.lstrip('/')} "
          f"(logs in {workdir})", flush=True)
    lab = Lab(args.database_url, args.redis_url, workdir)
    lab.reset()
    try:
        for name in chosen:
            try:
                DRILLS[name](lab)
            except Exception as error:  # noqa: BLE001  (a broken drill is a failed drill)
                import traceback

                traceback.print_exc()
                report(f"{name}. (drill broke)", "", f"{type(error).__name__}: {error}", False)
    finally:
        lab.stop_all()
    print_table()
    return 0 if all(r.ok for r in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
