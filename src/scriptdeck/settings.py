"""Django settings: one module, every value from the environment, embedded defaults.

See docs/configuration.md for the variables.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from scriptdeck.config import (
    default_scripts_dir,
    embedded_broker_dir,
    env_bool,
    env_choice,
    env_float,
    env_hours,
    env_int,
    env_json,
    env_limit,
    env_networks,
    env_str,
    home_dir,
    secret_key,
)

BASE_DIR = Path(__file__).resolve().parent
SCRIPTDECK_HOME = home_dir()
SECRET_KEY = secret_key(SCRIPTDECK_HOME)
DEBUG = env_bool("SCRIPTDECK_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip() for h in env_str("SCRIPTDECK_ALLOWED_HOSTS", "*").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env_str("SCRIPTDECK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "scriptdeck.catalog",
    "scriptdeck.access",
    "scriptdeck.executions",
    "scriptdeck.automation",
    "scriptdeck.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "scriptdeck.api.limits.BodyLimitMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "scriptdeck.urls"

# --- sign-in and security headers
# LDAP or OIDC: add their backend (django-auth-ldap, mozilla-django-oidc) before this one;
# see docs/configuration.md.
AUTHENTICATION_BACKENDS = [
    b.strip()
    for b in env_str(
        "SCRIPTDECK_AUTH_BACKENDS", "scriptdeck.access.signin.ThrottledModelBackend"
    ).split(",")
    if b.strip()
]
SCRIPTDECK_LOGIN_ATTEMPTS = env_int("SCRIPTDECK_LOGIN_ATTEMPTS", 5)
SCRIPTDECK_LOGIN_WINDOW = env_int("SCRIPTDECK_LOGIN_WINDOW", 900)
# Only these may tell the client's address in X-Forwarded-For (security.md).
SCRIPTDECK_TRUSTED_PROXIES = env_networks("SCRIPTDECK_TRUSTED_PROXIES")
# Notification targets inside these ranges are allowed though private (security.md).
SCRIPTDECK_ALLOW_PRIVATE_TARGETS = env_networks("SCRIPTDECK_ALLOW_PRIVATE_TARGETS")
# Past the attempts, the longest wait between two checks of one name from new addresses.
SCRIPTDECK_LOGIN_NAME_DELAY = env_int("SCRIPTDECK_LOGIN_NAME_DELAY", 30)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SCRIPTDECK_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],  # component libraries set style attributes
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Request bodies other than uploads: at most this many bytes, JSON nested at most so deep.
SCRIPTDECK_MAX_BODY_BYTES = env_int("SCRIPTDECK_MAX_BODY_BYTES", 1024 * 1024)
SCRIPTDECK_MAX_JSON_DEPTH = env_int("SCRIPTDECK_MAX_JSON_DEPTH", 32)
SCRIPTDECK_MAX_PARAMETERS = env_int("SCRIPTDECK_MAX_PARAMETERS", 200)
# A run's parameters as UTF-8 JSON: one environment string (SCRIPT_PARAMETERS), and maybe
# arguments too. Linux refuses any one string over 128 KiB (MAX_ARG_STRLEN) at exec.
SCRIPTDECK_MAX_PARAMETER_BYTES = env_int("SCRIPTDECK_MAX_PARAMETER_BYTES", 96 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = SCRIPTDECK_MAX_BODY_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# Encryption at rest of script variables and secret parameters. Empty: derived from
# SECRET_KEY. Comma-separated: the first encrypts, all decrypt (key rotation).
SCRIPTDECK_ENCRYPTION_KEY = env_str("SCRIPTDECK_ENCRYPTION_KEY", "")
ASGI_APPLICATION = "scriptdeck.asgi.application"

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

# --- database: SQLite in the home folder by default (WAL, busy timeout), or DATABASE_URL.
_sqlite_default = f"sqlite:///{SCRIPTDECK_HOME / 'scriptdeck.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", _sqlite_default), conn_max_age=0)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Several processes write (web, worker pool, sweeper): WAL lets readers go on,
        # IMMEDIATE takes the write lock up front so a busy writer waits instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_float("SCRIPTDECK_SQLITE_TIMEOUT", 30.0),
    }
    # Tests use a file too (not shared-cache memory), so threads see what production sees.
    DATABASES["default"]["TEST"] = {"NAME": str(SCRIPTDECK_HOME / "test.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the SQL (the extended protocol), as psycopg does by default.
    # Django's default for psycopg 3, client-side binding, quotes every value into the SQL text
    # in Python: most of a run's end was spent quoting its 10 MB of output, twice.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = env_bool(
        "SCRIPTDECK_DB_SERVER_SIDE_BINDING", True
    )
    if env_bool("SCRIPTDECK_DB_POOL", False):
        # The web server (asgi.py turns this on): every request runs in a thread of its own, so
        # persistent connections would be opened per request and leak. A pool per process
        # (psycopg_pool, Django 5.1+) hands out connections that are already open (opening one
        # costs about 5 ms on a local server, more across a network), and its ceiling keeps a
        # burst of requests (200 live viewers) from exhausting max_connections: they wait.
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("SCRIPTDECK_DB_POOL_MIN", 2),
            "max_size": env_int("SCRIPTDECK_DB_POOL_MAX", 24),
            "timeout": env_float("SCRIPTDECK_DB_POOL_TIMEOUT", 30.0),
        }
    else:
        # Workers, the sweeper, the scheduler, commands: one long-lived thread each, so a
        # persistent connection (checked before each task or request) is reused run after run.
        DATABASES["default"]["CONN_MAX_AGE"] = env_int("SCRIPTDECK_DB_CONN_MAX_AGE", 300)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TZ", "UTC") or "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = SCRIPTDECK_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# The console's Vite assets carry their content hash (assets/<name>-<8 chars>.<ext>): cached
# for a year, immutable. (Django's own static files are not hashed here.)
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/static/console/assets/.+-[A-Za-z0-9_-]{8}\.\w+$"

# --- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "scriptdeck.access.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON only: the browsable API's pages carry inline script, which the CSP forbids.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "scriptdeck.api.limits.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "scriptdeck.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "scriptdeck API",
    "DESCRIPTION": "Run operational scripts, follow their executions, read their results.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # An execution's status has one name in the document wherever it appears.
    "ENUM_NAME_OVERRIDES": {"StatusEnum": "scriptdeck.executions.models.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "scriptdeck.api.schema.staff_only_fields_are_optional",
    ],
}

# --- scripts
SCRIPTDECK_SCRIPTS_DIR = (
    Path(env_str("SCRIPTDECK_SCRIPTS_DIR", str(default_scripts_dir()))).expanduser().resolve()
)
# The sweeper watches the folder (inotify) and syncs after each batch of changes, and
# rescans it in full after this many seconds without one; 0 stops the watching.
SCRIPTDECK_RESCAN_SECONDS = env_float("SCRIPTDECK_RESCAN_SECONDS", 60.0)
SCRIPTDECK_PYTHON = env_str("SCRIPTDECK_PYTHON", "")  # empty: the server's own interpreter
# Python scripts start from a warm fork server per worker process when their own
# ``warm_start`` is empty and this is true; any trouble falls back to a cold start.
SCRIPTDECK_WARM_START = env_bool("SCRIPTDECK_WARM_START", False)
# Cold starts fork their launcher from a small exec server per worker process instead of
# starting an interpreter for it (~15 ms less a run); false: a launcher process per run.
SCRIPTDECK_EXEC_SERVER = env_bool("SCRIPTDECK_EXEC_SERVER", True)
# Runs are isolated (worker/isolation.py): "auto" runs them as SCRIPTDECK_RUN_AS when the
# worker is root, in bubblewrap namespaces when it is installed; "user": the user switch
# only, never bubblewrap; "off" is for development.
SCRIPTDECK_SANDBOX = env_choice("SCRIPTDECK_SANDBOX", ("auto", "user", "off"), "auto")
SCRIPTDECK_RUN_AS = env_str("SCRIPTDECK_RUN_AS", "scriptdeck-run")
SCRIPTDECK_OUTPUT_LIMIT = env_int("SCRIPTDECK_OUTPUT_LIMIT", 10 * 1024 * 1024)
# Resource limits of a script that leaves its own empty; 0 is no limit. CPU time is unlimited
# by default: the time limits already end a run that takes too long.
SCRIPTDECK_LIMIT_MEMORY_MB = env_limit("SCRIPTDECK_LIMIT_MEMORY_MB", 2048)
SCRIPTDECK_LIMIT_PROCESSES = env_limit("SCRIPTDECK_LIMIT_PROCESSES", 512)
SCRIPTDECK_LIMIT_CPU_SECONDS = env_limit("SCRIPTDECK_LIMIT_CPU_SECONDS", 0)
SCRIPTDECK_LIMIT_FILE_SIZE_MB = env_limit("SCRIPTDECK_LIMIT_FILE_SIZE_MB", 1024)
SCRIPTDECK_LIMIT_OPEN_FILES = env_limit("SCRIPTDECK_LIMIT_OPEN_FILES", 1024)
SCRIPTDECK_RUNS_DIR = SCRIPTDECK_HOME / "runs"
# Environments of scripts that declare their dependencies (PEP 723), one per distinct set,
# built by the worker that runs the script; a build longer than this many seconds fails.
SCRIPTDECK_ENVS_DIR = SCRIPTDECK_HOME / "envs"
SCRIPTDECK_DEPENDENCIES_TIMEOUT = env_float("SCRIPTDECK_DEPENDENCIES_TIMEOUT", 600.0)
SCRIPTDECK_UPLOAD_MAX_BYTES = env_int("SCRIPTDECK_UPLOAD_MAX_BYTES", 100 * 1024 * 1024)
# Per-user quotas (staff have none): uploads kept (count, bytes), open live streams in one
# web process, schedules owned.
SCRIPTDECK_QUOTA_UPLOADS = env_int("SCRIPTDECK_QUOTA_UPLOADS", 100)
SCRIPTDECK_QUOTA_UPLOAD_BYTES = env_int("SCRIPTDECK_QUOTA_UPLOAD_BYTES", 1024**3)
SCRIPTDECK_QUOTA_STREAMS = env_int("SCRIPTDECK_QUOTA_STREAMS", 20)
SCRIPTDECK_QUOTA_SCHEDULES = env_int("SCRIPTDECK_QUOTA_SCHEDULES", 50)
# Uploads older than this many hours that no pending or running execution names are
# deleted by the sweeper, row and file; 0 keeps them.
SCRIPTDECK_UPLOAD_EXPIRY_HOURS = env_hours("SCRIPTDECK_UPLOAD_EXPIRY_HOURS", 168)
SCRIPTDECK_ARTIFACT_MAX_FILES = env_int("SCRIPTDECK_ARTIFACT_MAX_FILES", 1000)
SCRIPTDECK_ARTIFACT_MAX_BYTES = env_int("SCRIPTDECK_ARTIFACT_MAX_BYTES", 1024**3)

# --- stored files (artifacts): a folder by default; any Django storage backend
# (django-storages' S3 one, say) when workers run on other machines.
MEDIA_ROOT = SCRIPTDECK_HOME / "media"
STORAGES = {
    "default": {
        "BACKEND": env_str(
            "SCRIPTDECK_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env_json("SCRIPTDECK_STORAGE_OPTIONS", {}),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- sweeper: PENDING executions whose message never reached the broker, lost workers.
SCRIPTDECK_SWEEP_INTERVAL = env_float("SCRIPTDECK_SWEEP_INTERVAL", 5.0)
SCRIPTDECK_DISPATCH_GRACE = env_float("SCRIPTDECK_DISPATCH_GRACE", 2.0)
SCRIPTDECK_REDISPATCH_AFTER = env_float("SCRIPTDECK_REDISPATCH_AFTER", 3600.0)
SCRIPTDECK_WORKER_LOST_AFTER = env_float("SCRIPTDECK_WORKER_LOST_AFTER", 60.0)
SCRIPTDECK_HEARTBEAT_INTERVAL = env_float("SCRIPTDECK_HEARTBEAT_INTERVAL", 5.0)
SCRIPTDECK_SHUTDOWN_GRACE = env_float("SCRIPTDECK_SHUTDOWN_GRACE", 10.0)
# How long a worker keeps trying to record a finished run while the database is away.
SCRIPTDECK_DB_RETRY_SECONDS = env_float("SCRIPTDECK_DB_RETRY_SECONDS", 60.0)
# Output, timelines and artifacts of executions older than this many days are removed by
# the sweeper (summary rows and result records stay). 0 keeps everything.
SCRIPTDECK_RETENTION_DAYS = env_float("SCRIPTDECK_RETENTION_DAYS", 0)

# --- scheduler and notifications
SCRIPTDECK_SCHEDULER_INTERVAL = env_float("SCRIPTDECK_SCHEDULER_INTERVAL", 0.5)
# A tick later than this (or than half the schedule's period, if less) counts as missed
# and follows the schedule's misfire policy.
SCRIPTDECK_SCHEDULE_GRACE = env_float("SCRIPTDECK_SCHEDULE_GRACE", 30.0)
SCRIPTDECK_NOTIFY_ATTEMPTS = env_int("SCRIPTDECK_NOTIFY_ATTEMPTS", 5)
SCRIPTDECK_PUBLIC_URL = env_str("SCRIPTDECK_PUBLIC_URL", "").rstrip("/")
EMAIL_BACKEND = env_str("SCRIPTDECK_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("SCRIPTDECK_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("SCRIPTDECK_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("SCRIPTDECK_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("SCRIPTDECK_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("SCRIPTDECK_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = env_str("SCRIPTDECK_EMAIL_FROM", "scriptdeck@localhost")
EMAIL_TIMEOUT = env_float("SCRIPTDECK_EMAIL_TIMEOUT", 10.0)

# --- Celery: the broker only carries "run execution N"; the database row is the truth.
_embedded_broker = embedded_broker_dir(SCRIPTDECK_HOME)
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_embedded_broker / "queue"),
        "data_folder_out": str(_embedded_broker / "queue"),
        "processed_folder": str(_embedded_broker / "processed"),
        "control_folder": str(_embedded_broker / "control"),
        "store_processed": False,
        "polling_interval": env_float("SCRIPTDECK_BROKER_POLL_INTERVAL", 0.1),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any hard limit, so an unacknowledged message is not handed out twice.
        "visibility_timeout": env_int("SCRIPTDECK_VISIBILITY_TIMEOUT", 6 * 3600),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("SCRIPTDECK_BROKER_TIMEOUT", 3.0)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A broker blip must not kill running scripts: a redelivered message finds its row
# already claimed (conditional start), so nothing runs twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Celery's Django fixup closes the database connections around every task unless this is
# set; then it only recycles them every this many tasks, and worker/lifecycle.py gives
# each task Django's own connection handling (CONN_MAX_AGE, health checks).
CELERY_DB_REUSE_MAX = env_int("SCRIPTDECK_DB_REUSE_TASKS", 1000)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False

# Webhook keys and API tokens are cut out of every log record, whatever logs it.
LOGGING_CONFIG = "scriptdeck.security.redaction.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("SCRIPTDECK_LOG_LEVEL", "INFO")},
}
