"""The real app under gunicorn, for tests and drills that need worker processes and real sockets.

`Gunicorn(log_dir, database_url)` starts `gunicorn -w 4 "app:create_app()"` (reading
gunicorn.conf.py, as production does) on a free port in its own process group, with the
environment of a production-like run (development config, no Redis unless `env` gives one);
`stop()` always ends the whole group. Used by `tests/bookings/test_gunicorn_race.py`,
`tests/faults/` and `bench/fault_drills.py`.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, *, timeout: float = 5, headers: dict | None = None) -> int:
    """The status of GET path (0 when the connection failed or timed out)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


class Gunicorn:
    """`gunicorn -w N "app:create_app()"` in its own process group, always stopped on exit."""

    def __init__(self, log_dir, database_url: str, *, secret_key: str = "live-server-secret-key",
                 workers: int = 4, timeout: int = 60, env: dict | None = None,
                 log_name: str = "gunicorn.log", args: tuple[str, ...] = ()):
        self.port = free_port()
        self.workers = workers
        self.log = open(Path(log_dir) / log_name, "wb")  # noqa: SIM115  (closed in stop)
        environment = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        environment.update({"ANJU_ENV": "development", "DATABASE_URL": database_url,
                            "SECRET_KEY": secret_key, "NOTIFY_ADAPTER": "log", "FORCE_HTTPS": "0",
                            "PYTHONUNBUFFERED": "1"})
        environment.update(env or {})
        self.process = subprocess.Popen(
            [str(GUNICORN), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
             "--timeout", str(timeout), *args, "app:create_app()"],
            cwd=REPO, env=environment, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited early: {self.output()[-2000:]}")
            if get(self.port, "/healthz", timeout=2) == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer in {timeout}s: {self.output()[-2000:]}")

    def worker_pids(self) -> list[int]:
        """The master's live worker processes (Linux /proc)."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def wait_workers(self, count: int | None = None, timeout: float = START_TIMEOUT) -> list[int]:
        """Wait until the master runs `count` workers (all of them by default)."""
        count = self.workers if count is None else count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) >= count:
                return pids
            time.sleep(0.05)
        raise AssertionError(f"gunicorn has {len(self.worker_pids())} workers, not {count}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return Path(self.log.name).read_text("utf-8", "replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()

    def __enter__(self) -> "Gunicorn":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
