"""Throughput against the bare framework: the platform and a bare Flask "hello" app, served by
the same gunicorn configuration (gunicorn.conf.py) on the same machine, loaded in one run by
wrk (Debian package `wrk`) at 32 connections.

    .venv/bin/python bench/throughput_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_city
    .venv/bin/python bench/throughput_bench.py --database-url … --small-database-url … # flat cost

The database must hold a migrated data set (`flask db upgrade` then `flask seed-demo --size
city`, or the small set for the flat-cost comparison). The benchmark adds what it needs and
nothing else: a park manager for the largest city park, and ten bookable services with one
large slot each for the booking storm. It prints, per endpoint, requests per second, the ratio
to the hello endpoint measured right before it, p50/p95/p99 latency and the non-2xx answers,
and checks the goals: HTML pages >= 20 % of hello, JSON reads >= 30 %, p95 < 100 ms, and with
the small set city p50 <= 1.5 x small p50. The hello app and the platform (with the small set,
two platforms: ports 8192 and 8193, Redis databases n and n + 1) are up at once, and each
endpoint is measured right after hello and on one set right after the other, so a shared
machine's drift (minutes long) stays out of both ratios. Exit status 1 when a goal is missed
(so it can gate a release), 0 otherwise.

The platform runs as in production (ANJU_ENV=production, Redis for rate limits when REDIS_URL
is given, the access log on), except FORCE_HTTPS=0 because wrk speaks plain HTTP to it.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
DEV_DATA_KEY = "ZGV2LW9ubHktZGF0YS1rZXktYW5qdS0zMi1ieXRlcyE="  # what the demo data was encrypted with
SECRET = "bench-secret-key-not-for-production-0123456789"
PASSWORD = "anju-demo-2026"
HTML_GOAL, JSON_GOAL, P95_GOAL_MS = 0.20, 0.30, 100.0
BOOKING_SERVICES, BOOKING_WORKERS = 10, 2000
WARM_UP = {"application": 10}  # seconds of load before measuring (3 for the others)


def server_env(database_url: str, redis_url: str | None) -> dict:
    env = dict(os.environ, ANJU_ENV="production", SECRET_KEY=SECRET, DATA_KEY=DEV_DATA_KEY,
               DATABASE_URL=database_url, FORCE_HTTPS="0", PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


# --- fixtures: accounts, cookies, tokens, slots -------------------------------------------------

@dataclass
class Fixtures:
    worker_tokens: list[str] = field(default_factory=list)
    booking_slots: list[int] = field(default_factory=list)
    applications: list[tuple[str, int]] = field(default_factory=list)  # (token, application id)
    caseworker_token: str = ""


def prepare(database_url: str) -> Fixtures:
    """Create the benchmark's own data (idempotent) and mint API tokens, in one app context."""
    os.environ.update(server_env(database_url, None))
    from sqlalchemy import delete, select

    from app import create_app
    from services.accounts import operations as accounts
    from services.accounts.models import Organisation, User
    from services.accounts.sessions import issue_token
    from services.bookings.models import Booking, Service, Slot
    from services.bookings.operations import catalogue
    from services.dorms.models import ApplicationStatus, DormApplication
    from services.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})  # the config class read the
    out = Fixtures()                                            # environment once, at import
    with app.app_context():
        park = db.session.scalar(select(Organisation).where(Organisation.code == "city-p01")) \
            or db.session.scalar(select(Organisation).where(Organisation.code == "yc-etdz"))
        if db.session.scalar(select(User.id).where(User.username == "bench-manager")) is None:
            accounts.create_user(actor_id=None, role="park_manager", username="bench-manager",
                                 password=PASSWORD, org_code=park.code, name="Bench manager")
        provider = db.session.scalar(select(User).where(User.username == "provider"))
        titles = [f"压测服务 {n}" for n in range(BOOKING_SERVICES)]
        existing = {s.title: s for s in db.session.scalars(
            select(Service).where(Service.title.in_(titles)))}
        start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        # The earlier runs' slots and bookings go first (benchmark data only): every run books
        # empty slots with the same workers, who would otherwise reach the services' limit of
        # open bookings, and slots pushed further out each run would leave the booking window.
        old_slots = select(Slot.id).join(Service, Service.id == Slot.service_id).where(
            Service.title.in_(titles))
        db.session.execute(delete(Booking).where(Booking.slot_id.in_(old_slots)))
        db.session.execute(delete(Slot).where(Slot.id.in_(old_slots)))
        for n, title in enumerate(titles):
            service = existing.get(title) or catalogue.create_service(
                actor=provider, title=title, category="training", location="压测",
                max_active_bookings=20)
            begin = start + timedelta(days=2, hours=3 * n)  # 2 h each, none overlapping
            slot = catalogue.add_slot(actor=provider, service=service, starts_at=begin,
                                      ends_at=begin + timedelta(hours=2), capacity=10_000)
            out.booking_slots.append(slot.id)
        db.session.commit()
        _add_bench_workers(db, User, provider.password_hash)
        workers = list(db.session.scalars(select(User).where(User.role == "worker")
                                          .order_by(User.id.desc()).limit(BOOKING_WORKERS)))
        out.worker_tokens = [issue_token(u)[0] for u in workers]
        apps = list(db.session.scalars(select(DormApplication).where(
            DormApplication.status == ApplicationStatus.WAITLISTED).order_by(DormApplication.id)
            .limit(200)))
        owners = {u.id: u for u in db.session.scalars(select(User).where(
            User.id.in_([a.worker_id for a in apps])))}
        out.applications = [(issue_token(owners[a.worker_id])[0], a.id) for a in apps]
        hrss = db.session.scalar(select(User).where(User.username == "hrss_cw"))
        out.caseworker_token = issue_token(hrss)[0]
    return out


def _add_bench_workers(db, User, password_hash: str) -> None:
    """The booking storm needs BOOKING_WORKERS distinct workers on every data set (the small
    one has a handful): without them most bookings of the small run would be refused as
    repeats, and city and small would compare bookings with refusals. Added once, in bulk."""
    import hashlib

    from sqlalchemy import func, insert, select

    have = db.session.scalar(select(func.count()).select_from(User).where(User.role == "worker"))
    rows = [{"username": f"bench-worker-{n:04d}", "password_hash": password_hash,
             "role": "worker", "name": f"压测职工{n:04d}", "active": True, "session_version": 1,
             "phone_hash": hashlib.sha256(f"bench-worker-{n}".encode()).hexdigest()}
            for n in range(have, BOOKING_WORKERS)]
    if rows:
        db.session.execute(insert(User), rows)
        db.session.commit()


def session_cookie(port: int, username: str) -> str:
    """Sign in through the login form like a browser; the session cookie it sets."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    html = response.read().decode()
    jar = {m.group(1): m.group(2) for m in
           (re.match(r"([^=]+)=([^;]*)", c) for c in response.headers.get_all("Set-Cookie") or [])}
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    body = urlencode({"csrf_token": token, "username": username, "password": PASSWORD})
    conn.request("POST", "/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
    response = conn.getresponse()
    response.read()
    for cookie in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = cookie.partition("=")
        jar[name] = rest.split(";")[0]
    if response.status != 302:
        raise SystemExit(f"could not sign in as {username}: {response.status}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


# --- servers ------------------------------------------------------------------------------------

class Server:
    def __init__(self, name: str, app_spec: str, port: int, env: dict, log: Path) -> None:
        self.name, self.port = name, port
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), app_spec],
            cwd=ROOT, env=dict(env, GUNICORN_BIND=f"127.0.0.1:{port}"), stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, path: str = "/", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path)
                if conn.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"{self.name} did not start; see {self.log.name}")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# --- load ---------------------------------------------------------------------------------------

LUA_COMMON = """
counter = 0
id = 0
server_errors = 0
local started = 0
local threads = {}
function setup(thread)
  thread:set("id", started); started = started + 1; table.insert(threads, thread)
end
function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1 end
end
function done(summary, latency, requests)
  local errors = summary.errors
  local fivexx = 0
  for _, thread in ipairs(threads) do fivexx = fivexx + thread:get("server_errors") end
  io.write(string.format("RESULT %f %f %f %f %d %d %d %d\\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    fivexx))
end
"""


def lua_script(kind: str, headers: dict, fixtures: Fixtures, path: str) -> str:
    lines = [LUA_COMMON]
    hdr = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    lines.append(hdr)
    if kind == "book":
        lines.append("tokens = {" + ",".join(f'"{t}"' for t in fixtures.worker_tokens) + "}")
        lines.append("slots = {" + ",".join(map(str, fixtures.booking_slots)) + "}")
        lines.append(textwrap.dedent("""
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            function request()
              local n = counter * 2 + id
              counter = counter + 1
              local token = tokens[(n % #tokens) + 1]
              local slot = slots[(math.floor(n / #tokens) % #slots) + 1]
              return wrk.format("POST", "/api/v1/bookings",
                {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"},
                '{"slot_id": ' .. slot .. '}')
            end"""))
    elif kind == "application":
        lines.append("apps = {" + ",".join(f'{{"{t}", {a}}}' for t, a in fixtures.applications)
                     + "}")
        lines.append(textwrap.dedent("""
            function request()
              local pick = apps[((counter * 2 + id) % #apps) + 1]
              counter = counter + 1
              return wrk.format("GET", "/api/v1/dorm-applications/" .. pick[2],
                {["Authorization"] = "Bearer " .. pick[1]})
            end"""))
    else:
        lines.append(f'wrk.path = "{path}"')
    return "\n".join(lines)


@dataclass
class Result:
    name: str
    kind: str  # "hello", "html", "json", "write"
    rps: float
    p50: float
    p95: float
    p99: float
    requests: int
    non2xx: int
    socket_errors: int
    server_errors: int  # 5xx, never expected
    hello_rps: float = 0.0  # the hello endpoint measured right before this one


def run_wrk(port: int, script: str, *, duration: int, connections: int, threads: int) -> tuple:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s",
                          "--timeout", "10s", "-s", handle.name, f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    rps, p50, p95, p99, requests, non2xx, socket_errors, server_errors = line.split()[1:]
    return float(rps), float(p50), float(p95), float(p99), int(requests), int(non2xx), \
        int(socket_errors), int(server_errors)


def targets(cookies: dict, fixtures: Fixtures) -> list[tuple]:
    """(name, kind, lua kind, path, headers) of every endpoint the issue names."""
    worker_token = fixtures.worker_tokens[0]
    return [
        ("worker home page  GET /", "html", "get", "/", {"Cookie": cookies["worker"]}),
        ("room list page  GET /dorms/manage/rooms", "html", "get", "/dorms/manage/rooms",
         {"Cookie": cookies["bench-manager"]}),
        ("case queue page  GET /cases", "html", "get", "/cases", {"Cookie": cookies["hrss_cw"]}),
        ("service list page  GET /services", "html", "get", "/services",
         {"Cookie": cookies["worker"]}),
        ("GET /api/v1/services", "json", "get", "/api/v1/services",
         {"Authorization": f"Bearer {worker_token}"}),
        ("GET /api/v1/cases", "json", "get", "/api/v1/cases",
         {"Authorization": f"Bearer {fixtures.caseworker_token}"}),
        ("GET /api/v1/dorm-applications/{id}", "json", "application", "", {}),
        ("POST /api/v1/bookings", "write", "book", "", {}),
    ]


@dataclass
class DataSet:
    """One data set under test: its platform server and what the load needs."""
    name: str  # "city" or "small"
    server: Server
    fixtures: Fixtures
    cookies: dict


def start_platform(name: str, database_url: str, redis_url: str | None, port: int,
                   logs: Path) -> DataSet:
    fixtures = prepare(database_url)
    server = Server(f"platform ({name})", "app:create_app()", port,
                    server_env(database_url, redis_url), logs / f"platform-{name}.log")
    try:
        server.wait("/healthz")
        cookies = {user: session_cookie(port, user)
                   for user in ("worker", "bench-manager", "hrss_cw")}
    except BaseException:
        server.stop()
        raise
    return DataSet(name, server, fixtures, cookies)


def start_hello(logs: Path) -> Server:
    bare = Server("hello", "bench.hello_app:app", 8191, dict(os.environ, PYTHONPATH=str(ROOT)),
                  logs / "hello.log")
    try:
        bare.wait()
    except BaseException:
        bare.stop()
        raise
    return bare


HELLO = "bare Flask hello  GET /"


def measure(hello: Server, sets: list[DataSet], *, duration: int, connections: int,
            threads: int, only: str | None = None) -> dict[str, list[Result]]:
    """Each endpoint right after the hello endpoint, then on every data set in turn, the order
    of the sets alternating from one endpoint to the next: an endpoint's ratio to hello and its
    city and small figures are measured within a minute of each other, so the machine's drift
    (minutes long) enters neither."""
    results: dict[str, list[Result]] = {"hello": [], **{s.name: [] for s in sets}}
    hello_script = lua_script("get", {}, Fixtures(), "/")
    run_wrk(hello.port, hello_script, duration=2, connections=connections, threads=threads)
    names = [t[0] for t in targets(sets[0].cookies, sets[0].fixtures)]
    for index, name in enumerate(names):
        if only and only not in name:
            continue
        bare = Result(f"{HELLO}  (before: {name.split('  ')[0]})", "hello", *run_wrk(
            hello.port, hello_script, duration=duration, connections=connections,
            threads=threads))
        results["hello"].append(bare)
        for data in (sets if index % 2 == 0 else sets[::-1]):
            _, kind, lua, path, headers = next(
                t for t in targets(data.cookies, data.fixtures) if t[0] == name)
            if lua == "application" and not data.fixtures.applications:
                continue  # a data set with nobody waiting for a bed
            script = lua_script(lua, headers, data.fixtures, path)
            port = data.server.port
            if lua != "book":
                # Warm-up: every worker process connects and reads once what it keeps; the
                # application read cycles through 200 owners, each new to each of the worker
                # processes, so it needs longer to reach the steady state that is measured.
                run_wrk(port, script, duration=WARM_UP.get(lua, 3), connections=connections,
                        threads=threads)
            results[data.name].append(Result(name, kind, *run_wrk(
                port, script, duration=duration, connections=connections, threads=threads),
                hello_rps=bare.rps))
    return results


def report(hellos: list[Result], results: list[Result], small: list[Result] | None) -> bool:
    """The goals against the hello run measured right before each endpoint; the flat-cost
    check on the city and small p50 of each endpoint, measured back to back."""
    ok = True
    print(f"{'endpoint':44} {'req/s':>8} {'hello':>6} {'ratio':>6} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'non-2xx':>7}" + (f" {'p50 small':>9} {'x':>5}" if small else ""))
    if hellos:
        rates = [h.rps for h in hellos]
        print(f"{HELLO:44} {min(rates):8.0f}–{max(rates):.0f} req/s over the run, p95 "
              f"{min(h.p95 for h in hellos):.1f}–{max(h.p95 for h in hellos):.1f} ms")
    small_by_name = {r.name: r for r in small or []}
    for r in results:
        ratio = r.rps / r.hello_rps if r.hello_rps else float("nan")
        goal = {"html": HTML_GOAL, "json": JSON_GOAL}.get(r.kind)
        miss = []
        if goal is not None and not ratio >= goal:
            miss.append(f"ratio<{goal:.0%}")
        if r.p95 >= P95_GOAL_MS:
            miss.append("p95>=100ms")
        expected_errors = r.kind == "write"  # 409s once a worker holds a seat in every slot
        if (r.non2xx and not expected_errors) or r.server_errors or r.socket_errors:
            miss.append(f"errors ({r.server_errors} × 5xx)")
        line = (f"{r.name:44} {r.rps:8.0f} {r.hello_rps:6.0f} {ratio:6.0%} {r.p50:7.1f} "
                f"{r.p95:7.1f} {r.p99:7.1f} {r.non2xx:7d}")
        base = small_by_name.get(r.name)
        if base:
            factor = r.p50 / base.p50 if base.p50 else float("nan")
            line += f" {base.p50:9.1f} {factor:5.2f}"
            if factor > 1.5:
                miss.append("city p50 > 1.5x small")
        print(line + ("  MISSED: " + ", ".join(miss) if miss else ""))
        ok = ok and not miss
    for r in small or []:
        if r.server_errors or r.socket_errors:
            print(f"small set, {r.name}: MISSED: errors ({r.server_errors} × 5xx)")
            ok = False
    return ok


def other_database(redis_url: str) -> str:
    """The same Redis, the next database number: the second platform keeps its own versions
    and limits (the two data sets' user ids overlap)."""
    head, _, number = redis_url.rpartition("/")
    return f"{head}/{int(number) + 1}" if number.isdigit() else f"{redis_url.rstrip('/')}/1"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL with the city data set")
    parser.add_argument("--small-database-url", help="the small data set, for the flat-cost check")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                              "redis://127.0.0.1:6379/8"))
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", help="measure only the endpoints whose name contains this "
                                       "(and the hello endpoint), e.g. 'POST /api/v1/bookings'")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    redis_url = None if args.no_redis else args.redis_url
    logs = Path(tempfile.mkdtemp(prefix="anju-bench-"))
    load = dict(duration=args.duration, connections=args.connections, threads=args.threads)
    servers: list[Server] = []
    try:
        hello = start_hello(logs)
        servers.append(hello)
        sets = [start_platform("city", args.database_url, redis_url, 8192, logs)]
        servers.append(sets[0].server)
        if args.small_database_url:
            sets.append(start_platform("small", args.small_database_url,
                                       redis_url and other_database(redis_url), 8193, logs))
            servers.append(sets[1].server)
        results = measure(hello, sets, only=args.only, **load)
    finally:
        for server in servers:
            server.stop()
    print(f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, {args.connections} "
          f"connections, {args.duration} s each; server logs in {logs}")
    small = results.get("small")
    ok = report(results["hello"], results["city"], small)
    if args.json:
        args.json.write_text(json.dumps({key: [r.__dict__ for r in rows]
                                         for key, rows in results.items()}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
