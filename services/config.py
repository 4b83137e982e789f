"""Configuration read from the environment.

Every setting has a development default so that `make run` works from a fresh clone; production
(`ANJU_ENV=production`) refuses to start without SECRET_KEY and DATA_KEY.

Outages (measured by `bench/fault_drills.py`, tested in `tests/faults/`): connections are
pinged before use (`pool_pre_ping`), so a PostgreSQL restart or `pg_terminate_backend` costs
only the requests in flight; on PostgreSQL a connect timeout of DB_CONNECT_TIMEOUT seconds
(unless the URL sets `connect_timeout`) makes an unreachable server a 503 within seconds
instead of a worker hung on connect, and a connection that stops answering (a network
partition) is dropped by the kernel after DB_STALL_TIMEOUT seconds (`PG_CONNECT_ARGS`), and a
server that froze while its host still acknowledges packets fails the pre-ping after
DB_PING_TIMEOUT seconds (services/core/db_ping.py); the rate-limit storage and the job queue
give up on an unreachable Redis after a second or two (then limits count in memory, per
process, and jobs run inline).
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy.engine import make_url

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = BASE_DIR / "instance"

# Only for development and tests: a fixed, public key is no secret.
_DEV_SECRET_KEY = "dev-only-not-secret-anju"
_DEV_DATA_KEY = "ZGV2LW9ubHktZGF0YS1rZXktYW5qdS0zMi1ieXRlcyE="  # 32 bytes, development only


# A .env file in the project root fills in variables the environment does not set.
load_dotenv(BASE_DIR / ".env", override=False)


def _env(name: str, default: str | None = None) -> str | None:
    """The variable's value; unset or blank means the default."""
    value = os.environ.get(name, "").strip()
    return value or default


DB_CONNECT_TIMEOUT = 3  # seconds; libpq's minimum is 2
DB_STALL_TIMEOUT = 4  # seconds without an acknowledgement before a connection is dropped
DB_PING_TIMEOUT = 2  # seconds for the pool's pre-ping to be answered (services/core/db_ping.py)
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}  # seconds

# libpq's parameters for PostgreSQL URLs (a parameter the URL sets wins):
# - connect_timeout: an unreachable server is a 503 after DB_CONNECT_TIMEOUT s;
# - tcp_user_timeout: sent data (a pre-ping, a query) not acknowledged for DB_STALL_TIMEOUT s
#   ends the connection: a network partition is a 503, not a worker held until gunicorn's timeout;
# - keepalives after 2 s of silence, one a second: a connection waiting for an answer (a query in
#   flight) or idle in the pool is dropped once DB_STALL_TIMEOUT s pass without any
#   acknowledgement (tcp_user_timeout ends the probes; without it, on other systems, 2 + 3 × 1 s).
# A server that works on a long query (an export, an allocation run) still acknowledges the
# probes, so no statement, however long, is cut: these limits are about silence, not about time,
# and the same for pages and for CLI commands and jobs. A server whose host still acknowledges
# packets but which never answers (a frozen PostgreSQL) is not detected by them.
PG_CONNECT_ARGS = {
    "connect_timeout": DB_CONNECT_TIMEOUT,
    "tcp_user_timeout": DB_STALL_TIMEOUT * 1000,  # milliseconds
    "keepalives": 1,
    "keepalives_idle": 2,
    "keepalives_interval": 1,
    "keepalives_count": 3,
}


def engine_options(database_url: str) -> dict:
    """SQLAlchemy engine options for the URL: pre-ping always; on PostgreSQL, libpq's connect
    timeout and the limits on a stalled connection (PG_CONNECT_ARGS) the URL does not set."""
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        given = make_url(database_url).query
        connect_args = {name: value for name, value in PG_CONNECT_ARGS.items()
                        if name not in given}
        if connect_args:
            options["connect_args"] = connect_args
    return options


class ConfigError(RuntimeError):
    """Raised when the environment cannot give a safe configuration."""


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment; values come from environment variables."""

    ENV_NAME = "development"
    SECRET_KEY = _env("SECRET_KEY", _DEV_SECRET_KEY)
    DATA_KEY = _env("DATA_KEY", _DEV_DATA_KEY)
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'anju.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = engine_options(SQLALCHEMY_DATABASE_URI)
    REDIS_URL = _env("REDIS_URL") or None
    # Read cache (services/core/cache.py): on when REDIS_URL is set; versions in Redis under
    # CACHE_PREFIX (give deployments that share one Redis database different prefixes).
    CACHE_ENABLED = _env_bool("CACHE_ENABLED", True)
    CACHE_PREFIX = _env("CACHE_PREFIX", "")
    CACHE_MAX_ENTRIES = int(_env("CACHE_MAX_ENTRIES", "5000"))
    # Whole responses of the marked lists, per user (services/core/page_cache.py).
    RESPONSE_CACHE_BYTES = int(_env("RESPONSE_CACHE_BYTES", str(16 * 2**20)))

    # Sessions: one signed cookie; "remember me" makes it last REMEMBER_DAYS.
    SESSION_COOKIE_NAME = "anju_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(days=int(_env("REMEMBER_DAYS", "30")))
    STAFF_IDLE_MINUTES = int(_env("STAFF_IDLE_MINUTES", "30"))
    API_TOKEN_HOURS = int(_env("API_TOKEN_HOURS", "12"))

    # Forms
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_MB", "10")) * 1024 * 1024
    UPLOAD_FOLDER = _env("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))

    # Passwords: argon2id; lower costs only in tests.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    PASSWORD_MIN_LENGTH = 8

    # Rate limits (Flask-Limiter); shared through Redis when REDIS_URL is set.
    RATELIMIT_STORAGE_URI = _env("REDIS_URL") or "memory://"
    RATELIMIT_STORAGE_OPTIONS = dict(REDIS_TIMEOUTS)  # a hung Redis must not hang a sign-in
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_FAILURES_PER_MINUTE = 5
    REGISTRATIONS_PER_HOUR = int(_env("REGISTRATIONS_PER_HOUR", "30"))
    RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "anju")

    # Languages: Chinese is the default; English on request.
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = ("zh_CN", "en")

    # Background jobs: inline unless Redis is configured (or JOBS_INLINE forces it).
    JOBS_INLINE = _env_bool("JOBS_INLINE", False)
    RQ_QUEUE = _env("RQ_QUEUE", "anju")

    # Notifications: "log" writes outgoing SMS/e-mail to the log (no gateway configured).
    NOTIFY_ADAPTER = _env("NOTIFY_ADAPTER", "log")

    # Reverse proxy hops trusted for X-Forwarded-* (set to 1 behind nginx).
    PROXY_HOPS = int(_env("PROXY_HOPS", "0"))
    PRODUCTION = False
    FORCE_HTTPS = False
    TESTING = False


class DevelopmentConfig(Config):
    """The default: embedded SQLite, no Redis needed."""


class ProductionConfig(Config):
    """Secure cookies, HSTS, HTTPS; refuses to start without real secrets."""

    ENV_NAME = "production"
    PRODUCTION = True
    SESSION_COOKIE_SECURE = True
    FORCE_HTTPS = _env_bool("FORCE_HTTPS", True)  # off only where TLS ends before a trusted proxy

    @classmethod
    def check(cls) -> None:
        missing = [name for name in ("SECRET_KEY", "DATA_KEY") if not _env(name)]
        if missing:
            raise ConfigError(
                "ANJU_ENV=production needs these environment variables: " + ", ".join(missing)
            )
        from services.core.pii import PiiError, load_key

        try:
            load_key(_env("DATA_KEY"))
        except PiiError as error:
            raise ConfigError(str(error)) from None


class TestingConfig(Config):
    """Fast hashing, in-memory database, inline jobs; CSRF stays on (tests send tokens)."""

    ENV_NAME = "testing"
    TESTING = True
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS = engine_options(SQLALCHEMY_DATABASE_URI)
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    RATELIMIT_STORAGE_URI = "memory://"
    REDIS_URL = None
    JOBS_INLINE = True
    UPLOAD_FOLDER = None  # set per test to a temporary folder


def config_from_env() -> type[Config]:
    """The config class chosen by ANJU_ENV (development by default)."""
    name = _env("ANJU_ENV", "development").strip().lower()
    if name == "production":
        ProductionConfig.check()
        return ProductionConfig
    if name == "testing":
        return TestingConfig
    return DevelopmentConfig
