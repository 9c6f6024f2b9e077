"""Settings of the privacy-number console, all driven by the environment (django-environ).

Every variable, its default and its meaning is listed in ``.env.example``. The embedded defaults
run the whole console on one machine with SQLite under ``var/``; ``DATABASE_URL`` and ``REDIS_URL``
switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
# A developer's or operator's .env is read when present; tests point ENV_FILE at nothing so that a
# local .env written by `make run` never changes what the suite sees.
ENV_FILE = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable (or DEBUG=true for "
            "local development); `make run` writes one into .env for you."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Public base URL of this console, used to show the push receiver URLs an administrator pastes
# into the platform's application settings.
CONSOLE_BASE_URL = env.str("CONSOLE_BASE_URL", default="http://127.0.0.1:8000")
# The local demo of `make run` (shell/demo.py): demo data at bootstrap, and with DEMO_TRAFFIC
# new calls placed on the simulator every minute. Both off except in the .env `make run` writes.
DEMO = env.bool("DEMO", default=False)
DEMO_TRAFFIC = env.bool("DEMO_TRAFFIC", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_filters",
    "django_tables2",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our own static files
    "console.axes_app.AxesConfig",  # django-axes, with a translated name
    "console",
    "bindings",
    "billing",
    "recordings",
    "shell",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "console.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "console.teams.TeamScopeMiddleware",  # every queryset limited to the user's teams' apps
    "django.contrib.messages.middleware.MessageMiddleware",
    "console.jobs.QueueWatchMiddleware",  # says so when work could not be queued
    "console.watch.WatchMiddleware",  # now and then: have the workers or beat gone silent?
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes last: it must see the outcome of authentication to count failures.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shell.urls"
WSGI_APPLICATION = "shell.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "console.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'console.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, whose health check sends no SELECT 1 while the socket is quiet
    DATABASES["default"]["ENGINE"] = "shell.postgresql"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in the embedded setup: wait for locks instead of
    # failing at once, and let readers proceed while one process writes.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests of the embedded configuration use a file beside it (as PostgreSQL's test_<name>), not
    # Django's in-memory default: web, worker and live server share it as in `make run`.
    _sqlite = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_sqlite.with_name(f"test_{_sqlite.name}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis is both the Celery broker and the cache unless told otherwise.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {"default": env.cache_url("CACHE_URL", default=REDIS_URL)}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Django's, with one client per connection pool instead of one per command (issue 19).
    CACHES["default"]["BACKEND"] = "console.redis_cache.RedisCache"
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    CACHES["default"].setdefault("OPTIONS", {}).update(
        {"socket_connect_timeout": 2, "socket_timeout": 2}
    )
# Whether every process sees the same cache. Django's memory cache is per process, the dummy cache
# keeps nothing: what must reach every worker (a sign-out, a role revoked) is not kept in them,
# unless MEMORY_CACHE_SHARED says one process serves every request (the test suite).
MEMORY_CACHE_SHARED = env.bool("MEMORY_CACHE_SHARED", default=False)
CACHE_SHARED = MEMORY_CACHE_SHARED or not CACHES["default"]["BACKEND"].endswith(
    ("LocMemCache", "DummyCache")
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Grants nothing: fills ModelBackend's permission sets from the shared cache (issue 19).
    "console.permission_cache.PermissionCacheBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# A user's permissions are kept in the shared cache this long (0: read every request); any change
# of a role, a group or a user's permissions drops them at once (console/permission_cache.py).
PERMISSIONS_CACHE_SECONDS = env.int("PERMISSIONS_CACHE_SECONDS", default=3600)
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "/"

# Login throttling (django-axes): failures are counted per user name *and* address together, so
# one noisy address cannot lock a colleague out and one account cannot be guessed from many seats.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_VERBOSE = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["console.formats"]  # 2026-12-07 03:25 in every language
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # The hashed manifest needs `collectstatic`; the test suite uses the plain storage.
        "BACKEND": env.str(
            "STATICFILES_BACKEND", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve static files straight from the apps when collectstatic has not run (tests, development).
WHITENOISE_USE_FINDERS = not (STATIC_ROOT / "staticfiles.json").exists()
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# Security. HTTPS is assumed (behind a TLS-terminating proxy); the local demo sets HTTPS=false.
HTTPS = env.bool("HTTPS", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^hooks/"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)  # one working day
# Sessions are read from the cache and written through to the database: a page reads its session
# without a query (issue 19). Only with a cache every process shares: with a per-process memory
# cache a sign-out in one worker would not reach the others, so sessions stay in the database.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHE_SHARED
    else "django.contrib.sessions.backends.db"
)
X_FRAME_OPTIONS = "DENY"
# Scripts, styles, images and audio from this origin only, no inline script or style, no framing
# (console/security.py adds the header). Set to an empty value to send none.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; media-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Uploads stop at UPLOAD_MAX_BYTES while they stream in (console/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "console.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Celery (shell/celery.py reads every CELERY_* setting). JSON only; one task at a time per
# worker process so a long recording download never holds back short platform calls.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 4
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
# Nothing is lost with a worker (console/jobs.py): a message is acknowledged when its task has
# finished, and given back at once when the worker process running it dies. Every task is safe to
# run twice (each claims its row first).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A job waiting on a worker (a binding pending, ending or changing, a bulk upload, an import, a
# reconciliation) holds a lease this long, renewed while a worker works on it; the sweeper (beat,
# every JOBS_SWEEP_EVERY_SECONDS) sends the task of every job whose lease ran out again.
JOBS_LEASE_SECONDS = env.int("JOBS_LEASE_SECONDS", default=300)
JOBS_SWEEP_EVERY_SECONDS = env.int("JOBS_SWEEP_EVERY_SECONDS", default=60)
JOBS_SWEEP_BATCH = env.int("JOBS_SWEEP_BATCH", default=500)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="console")
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep LOGGING's handler, which masks numbers
# Celery's Django fixup closes every database connection before and after each task unless this is
# set: each task then opened a new PostgreSQL backend, whose start-up (authentication, catalog
# cache) cost more than the task's own queries. Set, the fixup closes them only every N tasks, and
# shell/celery.py applies CONN_MAX_AGE and the health check around each task as Django does
# around each request.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# django-celery-beat's scheduler behind a lock: a second beat stands by (shell/beat.py).
CELERY_BEAT_SCHEDULER = "shell.beat:SingleBeatScheduler"
BEAT_LOCK_SECONDS = env.float("BEAT_LOCK_SECONDS", default=30)
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The fallback used when Redis cannot be reached: kombu's filesystem transport under var/.
    _queue_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        # Without it kombu writes its broadcast exchanges to ./control of whatever directory the
        # process started in.
        "control_folder": str(_queue_dir / "control"),
    }
else:
    if CELERY_BROKER_URL.startswith("redis://"):
        # kombu's Redis transport without a new client for each message sent (shell/broker.py)
        CELERY_BROKER_TRANSPORT = "shell.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
        # Redis gives an unacknowledged message to another worker after this long: longer than
        # any task may run or wait for its retry (so running work is never handed out twice),
        # set in VISIBILITY_TIMEOUT below once the retry settings are known. The sweeper finds a
        # dead worker's jobs sooner, by their lease.
    }
# Schedules defined in code are written into django-celery-beat's tables at beat start-up, where
# administrators see and edit them in the admin. Later apps add theirs in their AppConfig.ready().
CELERY_BEAT_SCHEDULE = {
    "record-worker-heartbeat": {
        "task": "console.tasks.record_worker_heartbeat_task",
        "schedule": 30.0,
    },
    "sweep-jobs": {
        "task": "console.tasks.sweep_jobs_task",
        "schedule": float(JOBS_SWEEP_EVERY_SECONDS),
    },
}
if DEMO_TRAFFIC:  # the `make run` demo: new calls on the simulator every minute
    CELERY_BEAT_SCHEDULE["demo-traffic"] = {
        "task": "console.tasks.demo_traffic_task",
        "schedule": 60.0,
    }
# --- Alerts (console/alerts.py, docs/health.md) ---------------------------------------------------
# Mail through Django's mail (EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587; the
# default: an SMTP server on localhost). Alerts are e-mailed when they open and when they resolve
# to ALERT_EMAIL_TO (comma-separated; empty: no alert mail). RECORDING_ALERT_EMAILS, the older
# setting of the recordings-at-risk mail, is read when ALERT_EMAIL_TO is not set.
globals().update(env.email_url("EMAIL_URL", default="smtp://localhost:25"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="console@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = env.str("EMAIL_SUBJECT_PREFIX", default="[Privacy numbers] ")
ALERT_EMAIL_TO = env.list("ALERT_EMAIL_TO", default=env.list("RECORDING_ALERT_EMAILS", default=[]))
# A mail that failed (or whose task was lost) is sent again by beat every ALERT_EMAIL_SWEEP_SECONDS,
# once it is ALERT_EMAIL_RETRY_AFTER_SECONDS old, for ALERT_EMAIL_RETRY_FOR_SECONDS.
ALERT_EMAIL_SWEEP_SECONDS = env.int("ALERT_EMAIL_SWEEP_SECONDS", default=60)
ALERT_EMAIL_RETRY_AFTER_SECONDS = env.int("ALERT_EMAIL_RETRY_AFTER_SECONDS", default=120)
ALERT_EMAIL_RETRY_FOR_SECONDS = env.int("ALERT_EMAIL_RETRY_FOR_SECONDS", default=24 * 3600)
CELERY_BEAT_SCHEDULE["mail-alerts"] = {
    "task": "console.tasks.mail_alerts_task",
    "schedule": float(ALERT_EMAIL_SWEEP_SECONDS),
}
# A worker that has not written a heartbeat for this long is reported down by /healthz when the
# broker cannot broadcast a ping (the filesystem fallback), and opens the workers_silent alert.
WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=env.int("WORKER_HEARTBEAT_MAX_AGE", default=120))
# The watch (console/watch.py): the platform link failing (a share of an application's calls in a
# window with no answer or a 5xx), pushes that could not be applied; every minute.
PLATFORM_FAILING_WINDOW_SECONDS = env.int("PLATFORM_FAILING_WINDOW_SECONDS", default=300)
PLATFORM_FAILING_MIN_CALLS = env.int("PLATFORM_FAILING_MIN_CALLS", default=10)
PLATFORM_FAILING_RATE = env.float("PLATFORM_FAILING_RATE", default=0.5)
# The header's badge of open alerts is counted at most this often (and again when one opens or
# resolves).
ALERT_BADGE_SECONDS = env.int("ALERT_BADGE_SECONDS", default=30)
CELERY_BEAT_SCHEDULE["watch"] = {"task": "console.tasks.watch_task", "schedule": 60.0}

# Every log line leaves with its phone numbers masked (console.logs.MaskNumbers); Celery workers
# log through the same handler instead of replacing the root logger's.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"mask_numbers": {"()": "console.logs.MaskNumbers"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_numbers"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

ADMIN_SITE_TITLE = _("Privacy number console")

# Fernet key(s) encrypting APP_Secrets at rest; see console/crypto.py.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")

# A user in no team sees every application (a company without teams); with this set, nothing.
TEAMS_REQUIRED = env.bool("TEAMS_REQUIRED", default=False)

# --- Personal data (console/retention.py, docs/privacy.md) --------------------------------------
# The key of the pseudonyms that replace real numbers once their retention ran out. Changing it
# makes new pseudonyms differ from old ones (counts per caller across the change split).
PSEUDONYM_KEY = env.str("PSEUDONYM_KEY", default="") or f"pseudonym:{SECRET_KEY}"
# Rows per transaction, and transactions per part and run (the rest waits for the next run).
RETENTION_BATCH = env.int("RETENTION_BATCH", default=1000)
RETENTION_MAX_BATCHES = env.int("RETENTION_MAX_BATCHES", default=200)
RETENTION_EVERY_SECONDS = env.int("RETENTION_EVERY_SECONDS", default=3600)
# The audit log's own retention (console/audit_chain.py), in days; 0 keeps it forever.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=0)
CELERY_BEAT_SCHEDULE["seal-audit-log"] = {
    "task": "console.tasks.seal_audit_log_task",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["apply-retention"] = {
    "task": "console.tasks.apply_retention_task",
    "schedule": float(RETENTION_EVERY_SECONDS),
}

# --- Bindings and X-number pools (bindings/, docs/bindings.md) ----------------------------------
# Seconds an X number rests after its last binding ended before it is chosen again, so that people
# who still dial it do not reach the next user.
X_COOLDOWN_SECONDS = env.int("X_COOLDOWN_SECONDS", default=1800)
# Timeouts of one platform request, in seconds (connect, read). A read timeout may hide a bind
# that landed: the next attempt asks the platform first.
BINDINGS_PLATFORM_CONNECT_TIMEOUT = env.float("BINDINGS_PLATFORM_CONNECT_TIMEOUT", default=3.05)
BINDINGS_PLATFORM_READ_TIMEOUT = env.float("BINDINGS_PLATFORM_READ_TIMEOUT", default=10.0)
# Retries of bind/modify/unbind/sync tasks after a transient failure: first delay (seconds, doubled
# each time, with jitter), the longest delay, and how many retries before giving up.
BINDINGS_RETRY_BACKOFF = env.int("BINDINGS_RETRY_BACKOFF", default=2)
BINDINGS_RETRY_BACKOFF_MAX = env.int("BINDINGS_RETRY_BACKOFF_MAX", default=600)
BINDINGS_TASK_MAX_RETRIES = env.int("BINDINGS_TASK_MAX_RETRIES", default=8)
# AXE: A numbers per X. The platform allows up to 10^length - 1 extensions and recommends 200.
BINDINGS_AXE_MAX_PER_X = env.int("BINDINGS_AXE_MAX_PER_X", default=200)
# Expiry job: how often it runs and how many bindings one statement ends.
BINDINGS_EXPIRE_EVERY_SECONDS = env.int("BINDINGS_EXPIRE_EVERY_SECONDS", default=60)
# 40,000: a batch's cost is mostly its update of the numbers' live counts, which a smaller batch
# repeats more often (docs/benchmarks.md, expiry: 0.84-1.13 x the single statement, the longest
# batch 1.1-1.5 s; 20,000 gave 0.67-0.75 x with batches of 0.7-0.9 s).
BINDINGS_EXPIRE_BATCH = env.int("BINDINGS_EXPIRE_BATCH", default=40000)
# Reconciliation with the platform (every X number of every application is queried).
BINDINGS_RECONCILE_EVERY_SECONDS = env.int("BINDINGS_RECONCILE_EVERY_SECONDS", default=86400)
# Largest CSV accepted by the bulk binding upload, in rows (blank lines count) and in bytes.
BINDINGS_BULK_MAX_ROWS = env.int("BINDINGS_BULK_MAX_ROWS", default=10000)
BINDINGS_BULK_MAX_BYTES = env.int("BINDINGS_BULK_MAX_BYTES", default=2 * 1024 * 1024)
# Largest X-number import (CSV/XLSX), in rows (empty rows count) and in bytes.
BINDINGS_IMPORT_MAX_ROWS = env.int("BINDINGS_IMPORT_MAX_ROWS", default=50000)
BINDINGS_IMPORT_MAX_BYTES = env.int("BINDINGS_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
# Every upload (bindings/uploads.py): characters of a cell, columns of a row, and for XLSX (a zip)
# the size it may unpack to and how much larger than stored a part may unpack (zip bombs).
UPLOAD_MAX_CELL_CHARS = env.int("UPLOAD_MAX_CELL_CHARS", default=256)
UPLOAD_MAX_COLUMNS = env.int("UPLOAD_MAX_COLUMNS", default=20)
UPLOAD_MAX_UNPACKED_BYTES = env.int("UPLOAD_MAX_UNPACKED_BYTES", default=40 * 1024 * 1024)
UPLOAD_MAX_UNPACK_RATIO = env.int("UPLOAD_MAX_UNPACK_RATIO", default=100)
# A request's file is cut off once it passes this many bytes (console/uploads.py): the largest of
# the upload limits above.
UPLOAD_MAX_BYTES = max(BINDINGS_IMPORT_MAX_BYTES, BINDINGS_BULK_MAX_BYTES)
CELERY_BEAT_SCHEDULE.update(
    {
        "expire-bindings": {
            "task": "bindings.tasks.expire_bindings_task",
            "schedule": float(BINDINGS_EXPIRE_EVERY_SECONDS),
        },
        "reconcile-bindings": {
            "task": "bindings.tasks.reconcile_applications_task",
            "schedule": float(BINDINGS_RECONCILE_EVERY_SECONDS),
        },
        # The pool forecast's alerts (bindings/forecast.py): fewer days left than wanted.
        "forecast-pools": {"task": "bindings.tasks.forecast_pools_task", "schedule": 3600.0},
    }
)

# --- Push receivers and billing (issue #5: console/hooks.py, console/inbox.py, billing/) ---------
# Bodies larger than this are refused with 413 before they are read (a CDR push of 50 is ~60 KB).
HOOKS_MAX_BODY_BYTES = env.int("HOOKS_MAX_BODY_BYTES", default=1024 * 1024)
# How far a push's `Created` may be from our clock (spec §2.1; the platform's own is unpublished).
HOOKS_MAX_CLOCK_SKEW = timedelta(seconds=env.int("HOOKS_MAX_CLOCK_SKEW_SECONDS", default=300))
# Check each push's auth header (nonce + Created) for reuse: the signature does not cover the body,
# so a header seen before with another body is a replay, and the push is held, not applied. Uses
# the cache (Redis); when it cannot be reached the push is held too (docs/notifications.md).
HOOKS_REJECT_REPLAYED_NONCE = env.bool("HOOKS_REJECT_REPLAYED_NONCE", default=True)
# Held pushes are judged again this often (what corroborates them may arrive after them).
HOOKS_CORROBORATE_EVERY_SECONDS = env.int("HOOKS_CORROBORATE_EVERY_SECONDS", default=60)
# While an application's platform calls are paused (the platform locked the console out, 1020176),
# a task that wanted to call comes back after this many seconds (console.gateway).
PLATFORM_PAUSED_RECHECK_SECONDS = env.int("PLATFORM_PAUSED_RECHECK_SECONDS", default=300)
# A month's statements close this long after the month ends (the platform retries a CDR push for
# five hours, spec §6.0).
BILLING_STATEMENT_CLOSE_AFTER = timedelta(
    hours=env.int("BILLING_STATEMENT_CLOSE_AFTER_HOURS", default=6)
)
# The calls list gives up (and asks for a narrower search) after this many milliseconds.
BILLING_LIST_TIMEOUT_MS = env.int("BILLING_LIST_TIMEOUT_MS", default=10_000)
# An hour is settled (package minutes first, the excess at the tariff) this long after it ended,
# after the platform's first three retries of a CDR push (1, 4 and 9 minutes, spec §6.0); a CDR
# that comes later still makes its hour settled again (billing/settlement.py).
BILLING_SETTLE_AFTER = timedelta(minutes=env.int("BILLING_SETTLE_AFTER_MINUTES", default=10))
BILLING_SETTLE_EVERY_SECONDS = env.int("BILLING_SETTLE_EVERY_SECONDS", default=300)
# The longest a call may last: the settlement looks this far back in the CDRs' start times for the
# calls that ended in an hour (a binding's maxDuration caps a call at 24 hours).
LONGEST_CALL_HOURS = env.int("LONGEST_CALL_HOURS", default=48)
# How often beat creates the coming months' partitions of the history tables and applies the
# history retention (billing/history.py); partitions are made three months ahead.
HISTORY_EVERY_SECONDS = env.int("HISTORY_EVERY_SECONDS", default=6 * 3600)
# A package's alert opens when this share of its minutes or less is left (unless the package sets
# its own number of minutes).
BILLING_PACKAGE_ALERT_PERCENT = env.int("BILLING_PACKAGE_ALERT_PERCENT", default=10)
# Huawei's bill exports uploaded for reconciliation (billing.reconcile): read within these.
BILLING_BILL_MAX_BYTES = env.int("BILLING_BILL_MAX_BYTES", default=10 * 1024 * 1024)
BILLING_BILL_MAX_ROWS = env.int("BILLING_BILL_MAX_ROWS", default=200_000)
BILLING_BILL_MAX_COLUMNS = env.int("BILLING_BILL_MAX_COLUMNS", default=80)
UPLOAD_MAX_BYTES = max(UPLOAD_MAX_BYTES, BILLING_BILL_MAX_BYTES)
# Cost allocation by order reference: its first N characters, or what comes before a separator.
BILLING_ALLOCATION_PREFIX_LENGTH = env.int("BILLING_ALLOCATION_PREFIX_LENGTH", default=4)
BILLING_ALLOCATION_PREFIX_SEPARATOR = env.str("BILLING_ALLOCATION_PREFIX_SEPARATOR", default="")
# The number-health guard (billing/health.py, docs/health.md): the applications that got CDRs
# are assessed this often; every application, ten times less often.
HEALTH_ASSESS_EVERY_SECONDS = env.int("HEALTH_ASSESS_EVERY_SECONDS", default=60)
CELERY_BEAT_SCHEDULE.update(
    {
        "assess-recent-numbers": {
            "task": "billing.tasks.assess_recent_numbers_task",
            "schedule": float(HEALTH_ASSESS_EVERY_SECONDS),
        },
        "assess-all-numbers": {
            "task": "billing.tasks.assess_all_numbers_task",
            "schedule": float(HEALTH_ASSESS_EVERY_SECONDS * 10),
        },
        "corroborate-held-pushes": {
            "task": "console.tasks.corroborate_held_pushes_task",
            "schedule": float(HOOKS_CORROBORATE_EVERY_SECONDS),
        },
        # The months of CDRs, call events and SMS records: created ahead, dropped by policy.
        "maintain-history": {
            "task": "billing.tasks.maintain_history_task",
            "schedule": float(HISTORY_EVERY_SECONDS),
        },
        # The dashboard's hourly totals of the hours that received CDRs.
        "refresh-call-stats": {"task": "billing.tasks.refresh_call_stats_task", "schedule": 60.0},
        # Last month's statements once the platform can no longer retry; this month's kept current.
        "close-statements": {"task": "billing.tasks.close_statements_task", "schedule": 3600.0},
        # Hours that are over: package minutes first, the excess at the tariff; package alerts.
        "settle-hours": {
            "task": "billing.tasks.settle_hours_task",
            "schedule": float(BILLING_SETTLE_EVERY_SECONDS),
        },
    }
)

# --- Recordings (recordings/, docs/recordings.md) ----------------------------------------------
# The platform deletes a recording this many seconds after it pushed the call's CDR (7 days);
# the console must have stored it by then. Lowered only to run time-scaled tests and demos.
RECORDING_RETENTION_SECONDS = env.int("RECORDING_RETENTION_SECONDS", default=7 * 24 * 3600)
# A CDR that reached us late may have been pushed (and retried) up to this long before (the
# platform retries for 300 minutes, spec §6.0): the deadline counts from the earliest possible
# push, never before the call ended.
RECORDING_PUSH_RETRY_WINDOW_SECONDS = env.int(
    "RECORDING_PUSH_RETRY_WINDOW_SECONDS", default=301 * 60
)
# An alert is raised (once per recording) for every recording not stored this many seconds
# before its deadline: a banner for administrators, a log line, a recording.at_risk webhook event,
# and the application's recordings_at_risk alert (e-mailed to ALERT_EMAIL_TO, announced as
# alert.opened: console/alerts.py).
RECORDING_ALERT_BEFORE_SECONDS = env.int("RECORDING_ALERT_BEFORE_SECONDS", default=24 * 3600)
# Where stored recordings go: the "recordings" alias of STORAGES (below). The default keeps them
# under MEDIA_ROOT/recordings/ (never served directly: only the permission-checked player view
# reads them). storages.backends.s3.S3Storage stores them in any S3-compatible bucket, Huawei OBS
# included, configured by the AWS_* variables read below.
RECORDINGS_STORAGE_BACKEND = env.str(
    "RECORDINGS_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
)
# Delete the console's stored copy this many days after it was stored (0: keep for ever).
RECORDINGS_LOCAL_RETENTION_DAYS = env.int("RECORDINGS_LOCAL_RETENTION_DAYS", default=0)
# Downloads are written here first (checked, then moved or uploaded to storage); keep it on the
# same file system as MEDIA_ROOT so that storing a local recording is a rename.
RECORDINGS_SPOOL_DIR = Path(
    env.str("RECORDINGS_SPOOL_DIR", default=str(VAR_DIR / "spool" / "recordings"))
)
# A worker's claim on a recording lasts this long and is renewed while the file streams in; the
# claim of a worker that died runs out and another worker takes the recording over.
RECORDINGS_LEASE_SECONDS = env.int("RECORDINGS_LEASE_SECONDS", default=300)
# Hosts recordings may be downloaded from besides the platform itself (each application's base
# URL): names, or domains written with a leading dot. Their addresses must be public: a CDR's
# recordFileDownloadUrl or a redirect to a loopback, private or link-local address is refused.
RECORDINGS_DOWNLOAD_HOSTS = env.list(
    "RECORDINGS_DOWNLOAD_HOSTS",
    default=[".huawei.com", ".huaweicloud.com", ".myhuaweicloud.com"],
)
# Timeouts of the file download (connect, and the wait for each chunk), in seconds.
RECORDINGS_DOWNLOAD_CONNECT_TIMEOUT = env.float("RECORDINGS_DOWNLOAD_CONNECT_TIMEOUT", default=5.0)
RECORDINGS_DOWNLOAD_READ_TIMEOUT = env.float("RECORDINGS_DOWNLOAD_READ_TIMEOUT", default=30.0)
# Within one attempt: consecutive requests without progress before the attempt is given up
# (every broken connection is resumed with an HTTP Range from the byte where it stopped).
RECORDINGS_RESUME_ATTEMPTS = env.int("RECORDINGS_RESUME_ATTEMPTS", default=5)
# Task retries after a transient failure: first delay (s, doubled each time, jittered), longest
# delay, and how many retries before the recording is marked failed (beat tries again later).
RECORDINGS_RETRY_BACKOFF = env.int("RECORDINGS_RETRY_BACKOFF", default=5)
RECORDINGS_RETRY_BACKOFF_MAX = env.int("RECORDINGS_RETRY_BACKOFF_MAX", default=600)
RECORDINGS_TASK_MAX_RETRIES = env.int("RECORDINGS_TASK_MAX_RETRIES", default=6)
# A failed recording is queued again by beat this many seconds after its last attempt.
RECORDINGS_FAILED_RETRY_SECONDS = env.int("RECORDINGS_FAILED_RETRY_SECONDS", default=900)
# Beat: how often recordings are re-queued, expired and checked for alerts; how many are queued
# per run (earliest deadline first); how long a queued recording is left to its task before beat
# queues it again.
RECORDINGS_REQUEUE_EVERY_SECONDS = env.int("RECORDINGS_REQUEUE_EVERY_SECONDS", default=60)
RECORDINGS_REQUEUE_BATCH = env.int("RECORDINGS_REQUEUE_BATCH", default=500)
RECORDINGS_REQUEUE_GRACE_SECONDS = env.int("RECORDINGS_REQUEUE_GRACE_SECONDS", default=900)
# The queue of the fetch tasks: the default one, or a queue of its own served by dedicated workers
# (`celery -A shell worker -Q <name>`) so that long downloads never delay platform calls.
RECORDINGS_QUEUE = env.str("RECORDINGS_QUEUE", default="") or CELERY_TASK_DEFAULT_QUEUE
CELERY_TASK_ROUTES = {"recordings.tasks.fetch_recording_task": {"queue": RECORDINGS_QUEUE}}
# Calls shorter than this have no recording on the platform (spec §11).
RECORDINGS_MIN_SECONDS = env.int("RECORDINGS_MIN_SECONDS", default=3)
# A stored file must last as long as the call: within this many seconds or this share of the call,
# whichever is larger.
RECORDINGS_LENGTH_TOLERANCE_SECONDS = env.float("RECORDINGS_LENGTH_TOLERANCE_SECONDS", default=5.0)
RECORDINGS_LENGTH_TOLERANCE_RATIO = env.float("RECORDINGS_LENGTH_TOLERANCE_RATIO", default=0.05)
# Playing the same recording again within this many seconds writes no second audit row (seeking
# makes the browser send many range requests).
RECORDINGS_PLAY_AUDIT_WINDOW_SECONDS = env.int("RECORDINGS_PLAY_AUDIT_WINDOW_SECONDS", default=600)
if RECORDINGS_STORAGE_BACKEND.endswith("FileSystemStorage"):
    # No location: FileSystemStorage follows MEDIA_ROOT. No base_url: never a public URL.
    _recordings_storage_options: dict = {
        "file_permissions_mode": 0o640,
        "directory_permissions_mode": 0o750,
    }
else:
    # django-storages' S3Storage (AWS S3, Huawei OBS, MinIO …). The AWS_* names are the ones
    # django-storages documents; only the recordings alias uses them.
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config as BotocoreConfig

    _recordings_storage_options = {
        "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME", default=""),
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        "location": env.str("AWS_LOCATION", default=""),
        "default_acl": env.str("AWS_DEFAULT_ACL", default="private"),
        "querystring_auth": True,
        "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=300),
        "file_overwrite": False,
        "client_config": BotocoreConfig(
            s3={"addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="virtual")},
            signature_version=env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4"),
            # S3-compatible services (OBS among them) may refuse the CRC checksums newer boto3
            # adds by default; send them only where the API requires them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 3, "mode": "standard"},
        ),
        # Bounded memory per upload: 8 MiB parts, two at a time.
        "transfer_config": TransferConfig(
            multipart_threshold=8 * 1024 * 1024,
            multipart_chunksize=8 * 1024 * 1024,
            max_concurrency=2,
        ),
    }
# Redis's visibility timeout (see CELERY_BROKER_TRANSPORT_OPTIONS): the longest a task may run or
# wait for a retry, and one lease more.
# A worker scans for messages past it every BROKER_RESTORE_EVERY_SECONDS (kombu's default is
# about 100 s: a scan every tenth 10-s tick) and queues them again.
BROKER_RESTORE_EVERY_SECONDS = env.int("BROKER_RESTORE_EVERY_SECONDS", default=100)
if not CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = (
        max(CELERY_TASK_TIME_LIMIT, BINDINGS_RETRY_BACKOFF_MAX, RECORDINGS_RETRY_BACKOFF_MAX)
        + JOBS_LEASE_SECONDS
    )
    CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"] = BROKER_RESTORE_EVERY_SECONDS
    CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_throttle"] = 1
STORAGES["recordings"] = {
    "BACKEND": RECORDINGS_STORAGE_BACKEND,
    "OPTIONS": _recordings_storage_options,
}
CELERY_BEAT_SCHEDULE.update(
    {
        "requeue-recordings": {
            "task": "recordings.tasks.requeue_recordings_task",
            "schedule": float(RECORDINGS_REQUEUE_EVERY_SECONDS),
        },
        "alert-recordings-at-risk": {
            "task": "recordings.tasks.alert_recordings_at_risk_task",
            "schedule": float(RECORDINGS_REQUEUE_EVERY_SECONDS),
        },
        "purge-stored-recordings": {
            "task": "recordings.tasks.purge_stored_recordings_task",
            "schedule": 3600.0,
        },
    }
)


# --- REST API (docs/api.md) ----------------------------------------------------------------------
# Clients authenticate with an API key (console.ApiKey); errors are RFC 9457 problem details.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["console.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["console.api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["console.api.throttling.ApiKeyThrottle"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "console.api.problems.ProblemJSONRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "console.api.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Privacy-number console API",
    "DESCRIPTION": "Bindings of the console's applications, for the company's own systems. "
    "Authenticate with `Authorization: Bearer <API key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets of the forms are "0"/"1" (city matching, what A sees): one name for both.
    # Three models have a "state" of their own choices: each its own name.
    "ENUM_NAME_OVERRIDES": {
        "ZeroOrOneEnum": ["0", "1"],
        "NumberStateEnum": "bindings.choices.NumberState",
        "StatementStateEnum": "billing.choices.StatementState",
        "RecordingStateEnum": "recordings.choices.RecordingState",
    },
    # The document and its pages are public (they hold no data); the API itself needs a key.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}
# Requests per minute per API key unless the key sets its own; counted in the default cache
# (Redis in production, so every gunicorn worker counts the same key together).
API_RATE_PER_MINUTE = env.int("API_RATE_PER_MINUTE", default=600)
# A create may wait this long (seconds, ``?wait=``) for the worker to make the binding active.
API_CREATE_DEFAULT_WAIT = env.float("API_CREATE_DEFAULT_WAIT", default=0.0)
API_CREATE_MAX_WAIT = env.float("API_CREATE_MAX_WAIT", default=5.0)
# How long a recording's signed download URL (``download_url`` of /api/v1/recordings/) works.
API_RECORDING_URL_SECONDS = env.int("API_RECORDING_URL_SECONDS", default=300)

# --- Webhooks out (console.webhooks) ------------------------------------------------------------
# Seconds between attempts of one delivery, then the last one repeated until the total passes
# WEBHOOK_RETRY_FOR_SECONDS (at least 24 h): 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h …
WEBHOOK_RETRY_DELAYS = env.list(
    "WEBHOOK_RETRY_DELAYS", cast=float, default=[5, 30, 120, 600, 1800, 3600, 7200, 14400]
)
WEBHOOK_RETRY_FOR_SECONDS = env.float("WEBHOOK_RETRY_FOR_SECONDS", default=26 * 3600)
# One request's timeout: short, so a slow endpoint holds a worker only this long.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Requests open to one endpoint at a time, over every worker; a delivery that finds them all taken
# steps aside and comes back after WEBHOOK_BUSY_RETRY_SECONDS (not counted as an attempt).
WEBHOOK_MAX_IN_FLIGHT = env.int("WEBHOOK_MAX_IN_FLIGHT", default=4)
WEBHOOK_BUSY_RETRY_SECONDS = env.float("WEBHOOK_BUSY_RETRY_SECONDS", default=2.0)
# Deliveries of one endpoint sent by one task, in order, over one kept-alive connection.
# How long an API key (and its applications) is kept in the cache; any change drops it at once.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=300)
WEBHOOK_BATCH_SIZE = env.int("WEBHOOK_BATCH_SIZE", default=50)
# An endpoint failing without a success for this long is paused, with an alert.
WEBHOOK_PAUSE_AFTER_SECONDS = env.float("WEBHOOK_PAUSE_AFTER_SECONDS", default=24 * 3600)
# The queue of the delivery tasks (a queue of its own keeps webhooks off the platform's workers).
WEBHOOKS_QUEUE = env.str("WEBHOOKS_QUEUE", default="") or CELERY_TASK_DEFAULT_QUEUE
CELERY_TASK_ROUTES["console.tasks.deliver_webhook_task"] = {"queue": WEBHOOKS_QUEUE}
