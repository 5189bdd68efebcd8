"""gunicorn's settings for the web pages: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`.

Read by the gunicorn master before it forks the workers, so the environment set here is what
Django's settings see in every worker. Each value can be changed from the environment.
"""

import os

# The web server pools its database connections (psycopg's pool, per worker) and cancels a statement
# that runs past 30 s: a page is never worth more, and a stuck database must not hold every worker.
os.environ.setdefault("DB_POOL", "true")
os.environ.setdefault("DB_STATEMENT_TIMEOUT", "30")

bind = os.getenv("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: a page is a few short queries; (2 x cores) + 1 is gunicorn's own advice.
workers = int(os.getenv("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1) + 1)))
timeout = int(os.getenv("GUNICORN_TIMEOUT", "60"))  # a worker silent this long is killed and replaced
graceful_timeout = 30  # on SIGTERM, requests in flight get this long to finish
keepalive = 5
# Workers are replaced now and then, so a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# The proxy in front (TLS) is trusted for X-Forwarded-* only from these addresses.
forwarded_allow_ips = os.getenv("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
loglevel = os.getenv("LOG_LEVEL", "info").lower()
# Heartbeat files in memory: a container's overlay disk can stall them (gunicorn's own advice).
if os.path.isdir("/dev/shm"):  # noqa: S108 (gunicorn's heartbeat files, not data)
    worker_tmp_dir = "/dev/shm"  # noqa: S108
# No control socket: it is one path per user ($HOME/.gunicorn), which two instances on a host would share.
control_socket_disable = True
