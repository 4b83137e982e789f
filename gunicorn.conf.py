"""gunicorn settings for a 2-core machine (override with WEB_CONCURRENCY / PORT / GUNICORN_*)."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers: 2 × cores + 1 keeps both cores busy while some workers wait on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# Import the app once in the master and fork workers from it: a killed worker is replaced in
# about a second instead of re-importing everything (5-7 s when all die at once on 2 cores).
# Safe because create_app() opens no connection; a code change needs a restart, not a HUP.
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound; not too often,
# since a new worker starts with empty caches (5,000 was every half minute under load, 25,000
# every two minutes, mid-way through a benchmark run). What each worker keeps is bounded anyway
# (CACHE_MAX_ENTRIES values, RESPONSE_CACHE_BYTES of answers).
max_requests = 100000
max_requests_jitter = 10000
# Access log without query strings: a search term may be personal data.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
