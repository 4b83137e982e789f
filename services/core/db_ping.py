"""The pool's pre-ping on PostgreSQL, answered within DB_PING_TIMEOUT seconds or given up.

`pool_pre_ping` sends an empty statement on every checkout and reconnects when it fails. A
server that is gone or unreachable makes it fail (refused, reset, or libpq's
`tcp_user_timeout` when nothing is acknowledged), but a server that has frozen while its host
still acknowledges every packet (a stopped process, a hung machine behind a live proxy) never
answers and never errs: psycopg would wait for ever, and the worker with it, until gunicorn's
timeout kills it. This ping waits DB_PING_TIMEOUT seconds at most; then it closes the
connection and fails, the pool tries one new connection (which the connect timeout ends
within DB_CONNECT_TIMEOUT seconds), and the request answers 503 in a few seconds.

A healthy server answers an empty statement in well under a millisecond; under the heaviest
load measured here, a few milliseconds. A ping that waited longer than the limit on a server
that is merely slow costs a reconnect, not an error.

The ping goes through the libpq connection that psycopg documents for such low-level use
(`Connection.pgconn`): it sends the statement, then waits for the socket with a deadline. The
connection is idle at checkout (the pool rolled it back on return), so the ping is outside any
transaction and psycopg's own BEGIN comes with the request's first statement, as before.

Registered in place of SQLAlchemy's `postgresql+psycopg` dialect when this module is imported
(services/extensions.py does), so every engine of the process has it; SQLite keeps the stock
ping, which cannot hang on a network.
"""
from __future__ import annotations

import select
import time

import psycopg
from psycopg import pq
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from services.config import DB_PING_TIMEOUT

_ANSWERED = (pq.ExecStatus.EMPTY_QUERY, pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


class PingTimeout(psycopg.OperationalError):
    """The server did not answer the ping in time; the connection has been closed."""


def _wait(sock: int, writing: bool, deadline: float) -> None:
    """Until the socket is ready, or TimeoutError at the deadline (poll: no descriptor limit)."""
    remaining = deadline - time.monotonic()
    if remaining > 0:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLOUT if writing else select.POLLIN)
            if poller.poll(remaining * 1000):
                return
        elif any(select.select([] if writing else [sock], [sock] if writing else [], [],
                               remaining)):
            return
    raise TimeoutError


def ping(connection: psycopg.Connection, timeout: float = DB_PING_TIMEOUT) -> None:
    """An empty statement on an idle connection, answered within `timeout` seconds; otherwise
    (or on any error) the connection is closed and psycopg.OperationalError raised."""
    pgconn = connection.pgconn
    deadline = time.monotonic() + timeout
    try:
        pgconn.send_query(b";")
        while pgconn.flush():
            _wait(pgconn.socket, True, deadline)
        pgconn.consume_input()
        while pgconn.is_busy():
            _wait(pgconn.socket, False, deadline)
            pgconn.consume_input()
        failure = None
        while (result := pgconn.get_result()) is not None:
            if result.status not in _ANSWERED:
                failure = (result.error_message or b"the ping failed").decode(errors="replace")
        if failure:
            raise psycopg.OperationalError(failure)
    except TimeoutError:
        connection.close()
        raise PingTimeout(f"PostgreSQL did not answer the ping within {timeout:g} s") from None
    except psycopg.Error:
        connection.close()
        raise


class BoundedPingDialect(PGDialect_psycopg):
    """SQLAlchemy's psycopg dialect with the bounded ping; a failed ping is a disconnect (the
    connection is closed), so the pool reconnects instead of raising."""

    supports_statement_cache = True  # a subclass must say so, or SQLAlchemy compiles every time

    def do_ping(self, dbapi_connection) -> bool:
        ping(dbapi_connection)
        return True


registry.register("postgresql.psycopg", __name__, "BoundedPingDialect")
