"""Settings for Palette Fleet Dashboard.

Every setting comes from the environment, with an embedded default that runs the whole
product on one machine (SQLite under var/, a local Redis). See README "Configuration".
"""

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.csp import CSP

from ops import logs as ops_logs

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.getenv("VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str) -> bool:
    return os.getenv(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    return int(os.getenv(name, str(default)))


def envfloat(name: str, default: float) -> float:
    return float(os.getenv(name, str(default)))


def local_secret_key() -> str:
    """The embedded default: a random key made once and kept in var/secret_key (mode 600)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = VAR_DIR / f".secret_key.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
        # link() fails if another process won the race; then its key is the key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    return path.read_text().strip()


DEBUG = envbool("DEBUG", "false")
SECRET_KEY = os.getenv("SECRET_KEY") or local_secret_key()
# Key rotation: the old keys, comma-separated; sessions and sealed secrets made under them still open.
SECRET_KEY_FALLBACKS = [k for k in os.getenv("SECRET_KEY_FALLBACKS", "").split(",") if k]
ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.getenv("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "django_tables2",
    "dashboard",
    "palette_sync",
    "security",  # failed-login lockout, idle sessions, no-store (README "Production settings")
    "wall",  # wall screens (README "Wall screens")
    "django_structlog",
    "ops",  # health, metrics and logs (README "Operations")
    "alerts",  # README "Alerts"
    "retention",  # README "Retention"
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",  # SECURE_CSP below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Web security (security/): signed-in pages never stored by browsers or proxies (Cache-Control:
    # private, no-store); each request pushes its session's idle end back; a locked-out sign-in says so.
    "security.middleware.NoStoreForSignedInMiddleware",
    "security.middleware.IdleSessionMiddleware",
    "security.middleware.LockoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A request id on every log line of the request, and on the tasks it queues (README "Logs").
    "django_structlog.middlewares.RequestMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",  # {{ csp_nonce }}
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 0),
    )
}
# A worker inside an edge site's network (README "Edge hosts' own API") probes hosts and hands the
# results back through the broker: it has no database, and any attempt to use one fails loudly.
PALETTE_WORKER_ROLE = os.getenv("PALETTE_WORKER_ROLE", "central")  # central | edge-site
if PALETTE_WORKER_ROLE == "edge-site":
    DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; IMMEDIATE avoids
    # "database is locked" on lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Test database on disk, so worker subprocesses in the tests see the same data.
    # (one per test process, so concurrent test runs on one machine do not collide).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

# --- Database connections: pool and timeouts (README "Deployment") ---
# An unreachable or stuck PostgreSQL fails a request within seconds (a 503 page, config/errors.py),
# never hangs it. deploy/gunicorn.conf.py turns the pool and a statement timeout on for the web server.
DB_CONNECT_TIMEOUT = envint("DB_CONNECT_TIMEOUT", 5)  # seconds to open a connection
DB_STATEMENT_TIMEOUT = envint("DB_STATEMENT_TIMEOUT", 0)  # seconds a statement may run; 0: no limit
DB_POOL = envbool("DB_POOL", "false")  # psycopg's connection pool, one per process
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["connect_timeout"] = DB_CONNECT_TIMEOUT
    # TCP keepalives: a connection to a machine that vanished without a word is given up within a minute.
    _db_options.update(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
    if DB_STATEMENT_TIMEOUT:
        _server = f"{_db_options.get('options', '')} -c statement_timeout={DB_STATEMENT_TIMEOUT * 1000}"
        _db_options["options"] = _server.strip()
    if DB_POOL:
        _db_options["pool"] = {
            "min_size": envint("DB_POOL_MIN_SIZE", 1),
            "max_size": envint("DB_POOL_MAX_SIZE", 4),  # per process: a sync gunicorn worker needs one
            "timeout": envfloat("DB_POOL_TIMEOUT", 5),  # seconds a request waits for a connection
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool checks a connection before lending it

DJANGO_TABLES2_TEMPLATE = "dashboard/table.html"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"

# --- Single sign-on, roles and project scope (README "Single sign-on and roles") ---
# OIDC through django-allauth's openid_connect provider (SAML as an option); roles and project scope
# come from the identity provider's groups through SSO_GROUP_MAP, refreshed at each sign-in
# (dashboard/access.py answers them). With SSO on, only SSO_BREAK_GLASS_USERNAME may use a password.
from sso import config as sso_config  # noqa: E402  (reads nothing but its arguments)

SSO_NAME = os.getenv("SSO_NAME", "Company SSO")  # the sign-in button's label
SSO_OIDC_ISSUER = os.getenv("SSO_OIDC_ISSUER", "")  # e.g. https://login.microsoftonline.com/<tenant>/v2.0
SSO_OIDC_CLIENT_ID = os.getenv("SSO_OIDC_CLIENT_ID", "")
SSO_OIDC_CLIENT_SECRET = os.getenv("SSO_OIDC_CLIENT_SECRET", "")
SSO_OIDC_SCOPES = os.getenv("SSO_OIDC_SCOPES", "openid profile email").split()
SSO_SAML = bool(os.getenv("SSO_SAML_IDP_ENTITY_ID"))
SSO_GROUPS_CLAIM = os.getenv("SSO_GROUPS_CLAIM", "groups")  # the claim (or SAML attribute) listing groups
SSO_GROUP_MAP = sso_config.parse_group_map(os.getenv("SSO_GROUP_MAP", "{}"))
SSO_BREAK_GLASS_USERNAME = os.getenv("SSO_BREAK_GLASS_USERNAME", "")  # the one local account left with a password
SSO_ENABLED = envbool("SSO_ENABLED", "true" if (SSO_OIDC_ISSUER or SSO_SAML) else "false")
if SSO_OIDC_ISSUER and not (SSO_OIDC_CLIENT_ID and SSO_OIDC_CLIENT_SECRET):
    raise sso_config.ImproperlyConfigured("SSO_OIDC_ISSUER is set: SSO_OIDC_CLIENT_ID and SSO_OIDC_CLIENT_SECRET too.")
INSTALLED_APPS += [
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    *(["allauth.socialaccount.providers.saml"] if SSO_SAML else []),
    "sso",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "allauth.account.middleware.AccountMiddleware",
)
# Every view after the login check: the role it needs (viewer unless it says more), else 403 or "no access".
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.LoginRequiredMiddleware") + 1,
    "dashboard.access.AccessMiddleware",
)
MIDDLEWARE.append("sso.middleware.ProviderUnreachableMiddleware")  # an unreachable IdP: a clear page, not a 500
TEMPLATES[0]["OPTIONS"]["context_processors"].append("dashboard.access.context")  # {% if access.operator %}
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's backends, loading a user's groups with the user (one query, not two)
    "dashboard.access.PasswordBackend",
    "dashboard.access.SsoBackend",
    "dashboard.access.RoleBackend",  # the admin role holds every permission of the Django admin
]
SOCIALACCOUNT_PROVIDERS = {}
if SSO_OIDC_ISSUER:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = sso_config.oidc_provider(
        SSO_OIDC_ISSUER, SSO_OIDC_CLIENT_ID, SSO_OIDC_CLIENT_SECRET, SSO_NAME, SSO_OIDC_SCOPES
    )
if SSO_SAML:
    SOCIALACCOUNT_PROVIDERS["saml"] = sso_config.saml_provider(dict(os.environ), SSO_NAME, SSO_GROUPS_CLAIM)
SOCIALACCOUNT_ONLY = True  # allauth offers no password, signup or email pages of its own
SOCIALACCOUNT_ADAPTER = "sso.adapter.FleetSocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # an IdP email never signs in as an existing local user
SOCIALACCOUNT_STORE_TOKENS = False  # the IdP's tokens are not kept
SOCIALACCOUNT_LOGIN_ON_GET = False  # the sign-in button POSTs (with CSRF) to start the flow
ACCOUNT_EMAIL_VERIFICATION = "none"  # the identity provider vouches for the address
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*"]
ACCOUNT_UNIQUE_EMAIL = False  # a local account with the same email does not block an SSO sign-in
ACCOUNT_LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Serve straight from static/ when collectstatic has not run (demo, tests); production runs it.
WHITENOISE_USE_FINDERS = envbool("WHITENOISE_USE_FINDERS", "true")


# --- Web security: HTTPS, cookies, sessions, CSP (README "Production settings") ---
def private_sqlite(name: str) -> None:
    """The SQLite database (sessions, password hashes) readable by this user only: made 0600 before
    SQLite opens it, or tightened if an older install made it looser. SQLite gives the -wal and -shm
    files it creates the database file's mode."""
    path = Path(name)
    if name == ":memory:" or name.startswith("file:"):
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)


if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    private_sqlite(str(DATABASES["default"]["NAME"]))
# Behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER names the header the proxy sets (and strips
# from clients), e.g. "HTTP_X_FORWARDED_PROTO,https"; then the redirect and HSTS see HTTPS requests.
_proxy_ssl_header = os.getenv("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header.split(",", 1)) if _proxy_ssl_header else None
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "false")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "false")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "false")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "false")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from hx-headers (templates/base.html), never from the cookie
# A session ends after SESSION_IDLE_SECONDS without a request (a request pushes the end back, writing
# at most once a SESSION_IDLE_STEP: security/sessions.py) and, by default, when the browser closes.
SESSION_COOKIE_AGE = envint("SESSION_IDLE_SECONDS", 8 * 3600)
SESSION_IDLE_STEP = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = envbool("SESSION_EXPIRE_AT_BROWSER_CLOSE", "true")
# Failed sign-ins (security/lockout.py): this many for one username from one address lock it out,
# and LOGIN_FAILURE_LIMIT_PER_IP from one address whatever the usernames, for LOGIN_LOCKOUT_SECONDS
# after the last failure. Behind a proxy, LOGIN_IP_HEADER names the header carrying the client address.
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_IP = envint("LOGIN_FAILURE_LIMIT_PER_IP", 25)
LOGIN_LOCKOUT_SECONDS = envint("LOGIN_LOCKOUT_SECONDS", 900)
LOGIN_IP_HEADER = os.getenv("LOGIN_IP_HEADER", "")  # e.g. HTTP_X_FORWARDED_FOR (its last address is used)
LOGIN_FAILURE_PREFIX = "login-failures"  # Redis key prefix of the counters
AUTHENTICATION_BACKENDS = [
    "security.lockout.LockoutBackend",  # first: a locked-out sign-in is refused before any password is hashed
    *AUTHENTICATION_BACKENDS,
]
# A strict CSP: scripts and styles only from our own origin, or carrying this response's nonce
# (the admin's few inline blocks do); no inline style attributes, no eval (htmx is configured for it
# in templates/base.html). CSP_FORM_ACTION adds origins forms may post or redirect to (an SSO provider).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, *os.getenv("CSP_FORM_ACTION", "").split()],
}
if SSO_OIDC_ISSUER:  # the SSO button posts here, then is redirected to the provider
    SECURE_CSP["form-action"].append("{0.scheme}://{0.netloc}".format(urlsplit(SSO_OIDC_ISSUER)))

# Redis: Celery broker and the shared rate budget.
REDIS_URL = os.getenv("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = os.getenv("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = os.getenv("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves its task for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TIMEZONE = TIME_ZONE

# Palette.
PALETTE_API_URL = os.getenv("PALETTE_API_URL", "http://127.0.0.1:8765")
PALETTE_API_KEY = os.getenv("PALETTE_API_KEY", "")
PALETTE_ACCOUNT_NAME = os.getenv("PALETTE_ACCOUNT_NAME", "default")
PALETTE_TIMEOUT = envfloat("PALETTE_TIMEOUT", 30.0)
PALETTE_SYNC_INTERVAL = envint("PALETTE_SYNC_INTERVAL", 300)  # seconds between syncs
PALETTE_BANNER_SECONDS = envint("PALETTE_BANNER_SECONDS", 5)  # banner and filter choices: read again this often
PALETTE_EDGE_CONCURRENCY = envint("PALETTE_EDGE_CONCURRENCY", 16)  # edge hosts read at once, per worker task
PALETTE_EDGE_PROCESS_CONCURRENCY = envint("PALETTE_EDGE_PROCESS_CONCURRENCY", 64)  # ... and per worker process
PALETTE_EDGE_TIMEOUT = envfloat("PALETTE_EDGE_TIMEOUT", 5.0)  # seconds per edge host request
PALETTE_EDGE_INTERVAL = envint("PALETTE_EDGE_INTERVAL", 900)  # seconds between two readings of one host's own API
PALETTE_EDGE_TICK = envint("PALETTE_EDGE_TICK", 15)  # seconds between the beat's looks for hosts due
PALETTE_EDGE_BATCH = envint("PALETTE_EDGE_BATCH", 250)  # hosts per probe task
PALETTE_EDGE_SESSIONS = envint("PALETTE_EDGE_SESSIONS", 50_000)  # logged-in edge sessions kept per worker process
# Sites whose hosts are probed by a worker of their own, on queue PALETTE_EDGE_QUEUE_PREFIX + site.
PALETTE_EDGE_SITE_QUEUES = {s.strip() for s in os.getenv("PALETTE_EDGE_SITE_QUEUES", "").split(",") if s.strip()}
PALETTE_EDGE_QUEUE_PREFIX = os.getenv("PALETTE_EDGE_QUEUE_PREFIX", "edge.")
PALETTE_SITE_LABEL = os.getenv("PALETTE_SITE_LABEL", "site")  # the edge host label that names its site
# Account secrets are sealed with Fernet: this key (a Fernet key or any long string), else SECRET_KEY.
PALETTE_SECRET_KEY = os.getenv("PALETTE_SECRET_KEY", "")
# Removals: a row a complete listing lacks is removed once a detail read answers 404, or a second
# complete listing lacks it too; more than this share of a scope missing at once is refused.
PALETTE_REMOVAL_MAX_SHARE = envfloat("PALETTE_REMOVAL_MAX_SHARE", 0.5)
PALETTE_REMOVAL_MIN_GUARD = envint("PALETTE_REMOVAL_MIN_GUARD", 10)  # fewer missing rows are never refused
PALETTE_REMOVAL_CONFIRM_MAX = envint("PALETTE_REMOVAL_CONFIRM_MAX", 200)  # detail reads per run, at most
PALETTE_RUN_TIME_LIMIT = envint("PALETTE_RUN_TIME_LIMIT", 3600)  # a run past it stops and is recorded failed
PALETTE_SYNC_LOCK_TIMEOUT = envint("PALETTE_SYNC_LOCK_TIMEOUT", 120)  # renewed while a run lives; a dead one's lapses
PALETTE_TIMELINE_OVERLAP = envint("PALETTE_TIMELINE_OVERLAP", 300)  # audits/events re-asked before the watermark
PALETTE_TIMELINE_BACKFILL = envint("PALETTE_TIMELINE_BACKFILL", 7 * 86400)  # first audits/events sync reaches back
# Palette client: password login (when there is no API key), retries, the shared rate budget.
PALETTE_USERNAME = os.getenv("PALETTE_USERNAME", "")  # emailId for POST /v1/auth/authenticate
PALETTE_PASSWORD = os.getenv("PALETTE_PASSWORD", "")
PALETTE_ORG = os.getenv("PALETTE_ORG", "")  # tenant/organization name
PALETTE_TOKEN_REFRESH_AFTER = envfloat("PALETTE_TOKEN_REFRESH_AFTER", 600)  # tokens live 15 min
PALETTE_RETRY_ATTEMPTS = envint("PALETTE_RETRY_ATTEMPTS", 6)  # tries per request in all
PALETTE_RETRY_TIMEOUT = envfloat("PALETTE_RETRY_TIMEOUT", 300)  # seconds one request may spend retrying
PALETTE_RETRY_WAIT_MAX = envfloat("PALETTE_RETRY_WAIT_MAX", 30)  # longest backoff between tries
PALETTE_RETRY_AFTER_CAP = envfloat("PALETTE_RETRY_AFTER_CAP", 60)  # longer Retry-After: give up, PaletteRateLimited
PALETTE_BAD_RESPONSE_ATTEMPTS = envint("PALETTE_BAD_RESPONSE_ATTEMPTS", 3)  # tries for a body that is not JSON
PALETTE_THROTTLE = os.getenv("PALETTE_THROTTLE", "redis" if REDIS_URL else "local")  # local: in-process bucket
PALETTE_THROTTLE_PREFIX = os.getenv("PALETTE_THROTTLE_PREFIX", "palette:rate")  # Redis key prefix
PALETTE_EGRESS = os.getenv("PALETTE_EGRESS", "default")  # workers behind one source IP share one budget
PALETTE_RATE_CUSHION = envfloat("PALETTE_RATE_CUSHION", 3)  # tokens of each bucket never spent: absorb jitter
PALETTE_RATE_CUT = envfloat("PALETTE_RATE_CUT", 0.7)  # after a 429 the rate is multiplied by this, for all
PALETTE_RATE_RECOVERY = envfloat("PALETTE_RATE_RECOVERY", 60)  # seconds from one cut back to the full rate
PALETTE_RATE_PENALTY = envfloat("PALETTE_RATE_PENALTY", 1.0)  # pause after a 429 without Retry-After
PALETTE_THROTTLE_MAX_WAIT = envfloat("PALETTE_THROTTLE_MAX_WAIT", 300)  # longer wait for a slot: error

# --- Operations: logs, health, metrics (README "Operations") ---
# text, or json: one JSON object a line, with request_id (following a request into the tasks it
# queues), task_id, and run_id on every line of a sync run. Every process logs to stderr.
LOG_FORMAT = os.getenv("LOG_FORMAT", "text").strip().lower()
LOG_LEVEL = os.getenv("LOG_LEVEL", "INFO")
LOGGING = ops_logs.config(LOG_FORMAT, LOG_LEVEL)
ops_logs.configure_structlog()
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # client addresses are personal data; the proxy logs them
# Behind a proxy that sets X-Request-ID, its id is used instead of a new one: only if you trust it.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = envbool("TRUST_UPSTREAM_REQUEST_ID", "false")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING too (config/celery.py)
# /metrics answers a bearer token equal to this; unset, /metrics is off (404).
METRICS_TOKEN = os.getenv("METRICS_TOKEN", "")

# --- Alerts (README "Alerts") ---
# Where messages go: plain JSON POSTs, and apprise URLs (slack://, msteams://, mailto://, json://, ...).
# Several URLs are separated by spaces, or by commas before the next URL.
ALERT_WEBHOOK_URLS = os.getenv("ALERT_WEBHOOK_URLS", "")
ALERT_URLS = os.getenv("ALERT_URLS", "")
ALERT_INTERVAL = envint("ALERT_INTERVAL", 60)  # seconds between evaluations (beat)
ALERT_GRACE = envint("ALERT_GRACE", 600)  # seconds a problem must last before its message goes out
ALERT_DISPLAY_SILENT = envint("ALERT_DISPLAY_SILENT", 600)  # a wall screen not polled this long is a problem
ALERT_QUIET_HOURS = os.getenv("ALERT_QUIET_HOURS", "")  # e.g. 22:00-07:00: messages held until it ends
ALERT_TIMEZONE = os.getenv("ALERT_TIMEZONE", TIME_ZONE)  # the quiet hours' clock
ALERT_PROJECTS = {p.strip() for p in os.getenv("ALERT_PROJECTS", "").split(",") if p.strip()}  # names or uids
ALERT_BATCH = envint("ALERT_BATCH", 200)  # problems opened per kind, and messages sent, per evaluation
ALERT_TIMEOUT = envfloat("ALERT_TIMEOUT", 10.0)  # seconds per delivery request
ALERT_RETRY_MAX = envint("ALERT_RETRY_MAX", 1800)  # longest wait between two tries of a failed delivery

# --- Retention (README "Retention") ---
# Days kept; 0 keeps forever. Deleted in short transactions of RETENTION_BATCH rows.
RETENTION_TIMELINE_DAYS = envint("RETENTION_TIMELINE_DAYS", 400)  # timeline entries and hourly health samples
RETENTION_SYNC_RUN_DAYS = envint("RETENTION_SYNC_RUN_DAYS", 30)  # sync runs; each scope's last run is kept
RETENTION_REMOVED_DAYS = envint("RETENTION_REMOVED_DAYS", 90)  # rows removed from Palette this long ago
RETENTION_ALERT_DAYS = envint("RETENTION_ALERT_DAYS", 90)  # alerts closed this long ago
RETENTION_BATCH = envint("RETENTION_BATCH", 5000)  # rows per delete transaction
RETENTION_PAUSE = envfloat("RETENTION_PAUSE", 0.0)  # seconds between two batches
RETENTION_MAX_SECONDS = envint("RETENTION_MAX_SECONDS", 900)  # one pass stops after this; the next goes on
RETENTION_INTERVAL = envint("RETENTION_INTERVAL", 3600)  # seconds between passes (beat)

# --- Wall screens (README "Wall screens") ---
WALL_POLL_SECONDS = envfloat("WALL_POLL_SECONDS", 10)  # how often a display asks for its screens
