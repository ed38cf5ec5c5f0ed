"""Settings, all from environment variables (see docs/configuration.md).

Development defaults need nothing set: SQLite under ./data, DEBUG on, localhost only.
NODEWORKS_PRODUCTION=true switches to the hardened mode that passes `manage.py check --deploy`
and refuses to start without a real SECRET_KEY.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from nodeworks_server import spa_files
from nodeworks_server.env import (
    caches_from_url,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = "0.1.0"

PRODUCTION = env_bool("NODEWORKS_PRODUCTION", False)
DEBUG = env_bool("DEBUG", not PRODUCTION)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when NODEWORKS_PRODUCTION is true")
    SECRET_KEY = "dev-only-key-not-for-production-0123456789-abcdefghijklmnopqrstuvwxyz"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"])
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [] if PRODUCTION else ["http://127.0.0.1:5173", "http://localhost:5173"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Git repositories and artifacts live here; several server processes may share it on a shared filesystem.
DATA_DIR = Path(env_str("NODEWORKS_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "accounts",
    "workflows",
    "runners",
    "triggers",
]

MIDDLEWARE = [
    "nodeworks_server.middleware.BodySizeLimitMiddleware",
    "nodeworks_server.api_errors.ApiExceptionMiddleware",
    "nodeworks_server.db_outage.DatabaseOutageMiddleware",  # after ApiExceptionMiddleware: see db_outage.py
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "nodeworks_server.middleware.NulInUrlMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.admin_login.AdminLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "nodeworks_server.urls"
WSGI_APPLICATION = "nodeworks_server.wsgi.application"
ASGI_APPLICATION = "nodeworks_server.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL", "")
DATABASES = {
    "default": database_from_url(_database_url) if _database_url else sqlite_database(str(DATA_DIR / "nodeworks.sqlite3"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)

# The built web app (scripts/build-frontend.sh): WhiteNoise serves its files at the site root, and
# nodeworks_server/spa.py answers index.html for every other page path (client-side routes).
FRONTEND_DIST = Path(env_str("NODEWORKS_FRONTEND_DIST", str(BASE_DIR / "frontend" / "dist"))).resolve()
# Only an existing directory: without autorefresh WhiteNoise warns at start about a missing one,
# and the app then answers a page that says how to build it. DEBUG looks files up per request.
WHITENOISE_ROOT = FRONTEND_DIST if DEBUG or FRONTEND_DIST.is_dir() else None
WHITENOISE_IMMUTABLE_FILE_TEST = spa_files.is_hashed_asset
WHITENOISE_ADD_HEADERS_FUNCTION = spa_files.add_headers

# The web app keeps its refresh token in this httpOnly cookie (accounts/refresh_cookie.py).
REFRESH_COOKIE_NAME = "nw_refresh"
REFRESH_COOKIE_PATH = "/api/v1/"

# Shared by every server process (throttle counters): the database cache (its table is made by
# every `migrate`, accounts/apps.py), or Redis with NODEWORKS_CACHE_URL=redis://host:6379/0.
# "local" is per process, for what needs no sharing (django-q2's cluster statistics).
CACHES = caches_from_url(env_str("NODEWORKS_CACHE_URL", ""))

# Upload limits. The body limit is enforced from Content-Length before anything is read.
MAX_BODY_BYTES = env_int("NODEWORKS_MAX_BODY_BYTES", 20 * 1024 * 1024)
MAX_NODES = env_int("NODEWORKS_MAX_NODES", 100_000)
MAX_JSON_DEPTH = env_int("NODEWORKS_MAX_JSON_DEPTH", 64)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "nodeworks_server.parsers.LimitedJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "nodeworks_server.schema.NodeworksAutoSchema",
    "EXCEPTION_HANDLER": "nodeworks_server.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("NODEWORKS_LOGIN_RATE", "10/min"),
        "register": env_str("NODEWORKS_REGISTER_RATE", "20/hour"),
    },
    # X-Forwarded-For is read only behind this many reverse proxies of ours (0: REMOTE_ADDR alone);
    # trusted by default, as DRF does without it, one client could pose as any number of addresses.
    "NUM_PROXIES": env_int("NODEWORKS_TRUSTED_PROXIES", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# The admin's login form: failed attempts per client address and per username (accounts/admin_login.py).
ADMIN_LOGIN_RATE = env_str("NODEWORKS_ADMIN_LOGIN_RATE", REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"])

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Nodeworks Distributed API",
    "DESCRIPTION": "Publish MFIX Nodeworks workflows, keep their revisions in git, plan and execute them on runners.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

Q_CLUSTER = {
    "name": "nodeworks",
    "orm": "default",
    "workers": env_int("NODEWORKS_Q_WORKERS", 2),
    "timeout": 120,
    "retry": 180,
    "catch_up": False,
    "cache": "local",  # its statistics: per process as before, not a database write every second
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Execution engine timings (seconds). Tests shorten them through the same settings.
LEASE_TTL_S = env_float("NODEWORKS_LEASE_TTL_S", 60.0)
RUNNER_HEARTBEAT_INTERVAL_S = env_float("NODEWORKS_HEARTBEAT_INTERVAL_S", 15.0)
# A runner call writes its `last_contact` when the stamp is at least this old (online: seen within two
# heartbeat periods). Keep it well below that window.
RUNNER_CONTACT_WRITE_S = env_float("NODEWORKS_RUNNER_CONTACT_WRITE_S", 10.0)
LEASE_MAX_WAIT_S = env_float("NODEWORKS_LEASE_MAX_WAIT_S", 30.0)
LEASE_POLL_INTERVAL_S = env_float("NODEWORKS_LEASE_POLL_INTERVAL_S", 0.25)
# On PostgreSQL waiting lease calls are woken by NOTIFY; they still look every so often for what no
# notification announces (a retry backoff running out, an operator's change to the runner). For as
# long, a claim that found nothing spares the claims of the same scope while no queue event is heard.
LEASE_NOTIFY_POLL_S = env_float("NODEWORKS_LEASE_NOTIFY_POLL_S", 2.0)
# Tasks per lease (and per results call's `lease`): a runner that runs built-in nodes in-process
# prefetches hundreds at once (runner_client slots.py), and one call then answers for all of them.
LEASE_MAX_TASKS = env_int("NODEWORKS_LEASE_MAX_TASKS", 500)
# Chain links leased below a task at once, to a runner that asks (workflows/lifecycle/segments.py).
LEASE_SEGMENT_MAX = env_int("NODEWORKS_LEASE_SEGMENT_MAX", 100)
# A waiting long-poll holds a server thread (and its database connection) but sends no query while
# nothing is queued: past this many per process, a lease call that finds no work answers at once with
# `retry_after_s`, so idle runners cannot take every thread from the API and the admin. Keep it below
# gunicorn's --threads (run.sh: 32).
LEASE_MAX_WAITERS = env_int("NODEWORKS_LEASE_MAX_WAITERS", 24)
# `retry_after_s` is about LEASE_BUSY_RETRY_S; longer (up to LEASE_BUSY_RETRY_MAX_S) when so many runners
# are turned away that their calls would come back more than LEASE_BUSY_ANSWERS_PER_S times a second.
LEASE_BUSY_RETRY_S = env_float("NODEWORKS_LEASE_BUSY_RETRY_S", 5.0)
LEASE_BUSY_RETRY_MAX_S = env_float("NODEWORKS_LEASE_BUSY_RETRY_MAX_S", 30.0)
LEASE_BUSY_ANSWERS_PER_S = env_float("NODEWORKS_LEASE_BUSY_ANSWERS_PER_S", 3.0)
MAX_LOST_LEASES = env_int("NODEWORKS_MAX_LOST_LEASES", 3)
RETRY_BACKOFF_BASE_S = env_float("NODEWORKS_RETRY_BACKOFF_BASE_S", 5.0)
RETRY_BACKOFF_CAP_S = env_float("NODEWORKS_RETRY_BACKOFF_CAP_S", 300.0)
REAPER_INTERVAL_S = env_float("NODEWORKS_REAPER_INTERVAL_S", 5.0)
# A gap this long since the server last reaped means no heartbeat could be accepted in it (a database
# or server outage): live leases are extended by the gap first (workflows/lifecycle/leases.py).
OUTAGE_GAP_S = env_float("NODEWORKS_OUTAGE_GAP_S", max(LEASE_TTL_S / 3, 2 * REAPER_INTERVAL_S))
# Each server process that serves runners ticks that clock this often (0: only the reaper does).
LEASE_CLOCK_TICK_S = env_float("NODEWORKS_LEASE_CLOCK_TICK_S", OUTAGE_GAP_S / 3)
MAX_LOG_BYTES = env_int("NODEWORKS_MAX_LOG_BYTES", 10 * 1024 * 1024)
MAX_ARTIFACT_BYTES = env_int("NODEWORKS_MAX_ARTIFACT_BYTES", 512 * 1024 * 1024)
# Every artifact a user's tasks stored, together (0: no quota). An upload past it answers 413.
USER_STORAGE_QUOTA_BYTES = env_int("NODEWORKS_USER_STORAGE_QUOTA_MB", 10240) * 1024 * 1024
# A runner's reported node library (runners/node_library.py), as compact JSON.
RUNNER_LIBRARY_MAX_BYTES = env_int("NODEWORKS_RUNNER_LIBRARY_MAX_BYTES", 2 * 1024 * 1024)
RUNNER_PROTOCOL_VERSIONS = ("1",)
# PostgreSQL: a run this large refreshes the queue table's planner statistics once committed.
ANALYZE_AFTER_TASKS = env_int("NODEWORKS_ANALYZE_AFTER_TASKS", 1000)
# Duration estimates (workflows/estimates.py): recent successes per node path, the duration of a node
# with no history, the slots of a runner never seen holding tasks (the runner's own --concurrency
# default), the least a running task is assumed to have left, how many queued tasks of other runs are
# simulated ahead, and the largest run whose status payload carries live estimates.
ESTIMATE_SAMPLES = env_int("NODEWORKS_ESTIMATE_SAMPLES", 50)
ESTIMATE_NODE_RUNS = env_int("NODEWORKS_ESTIMATE_NODE_RUNS", 5)  # a workflow's latest runs read per node
ESTIMATE_DEFAULT_S = env_float("NODEWORKS_ESTIMATE_DEFAULT_S", 1.0)
ESTIMATE_RUNNER_SLOTS = env_int("NODEWORKS_ESTIMATE_RUNNER_SLOTS", 2)
ESTIMATE_MIN_REMAINING_S = env_float("NODEWORKS_ESTIMATE_MIN_REMAINING_S", 0.1)
ESTIMATE_MAX_AHEAD = env_int("NODEWORKS_ESTIMATE_MAX_AHEAD", 10_000)
ESTIMATE_MAX_NODES = env_int("NODEWORKS_ESTIMATE_MAX_NODES", 5_000)
