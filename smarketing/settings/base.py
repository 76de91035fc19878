"""What every environment shares (`local`, `production` and `test` start from here).

Everything that differs between installations comes from the environment (or a `.env`
file beside manage.py); `.env.example` and the README's table list every variable, and a
test holds them to what the code reads. Importing settings only reads: the folders the
embedded default keeps its state in are made when the apps load
(`smarketing.core.apps`).
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Mutable runtime state of the embedded default (SQLite file, broker queue folders,
# beat schedule) lives here, outside the source tree's tracked files.
VAR_DIR = Path(env.str("SMARKETING_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    # The product's apps, lowest layer first (docs/architecture.md): each imports only
    # the ones listed before it.
    "smarketing.core",
    "smarketing.org",
    "smarketing.notifications",
    "smarketing.agreement",
    "sla",
    "leads",
    "smarketing.intake",
    "reports",
    "smarketing.privacy",  # consent's audit lives in leads; export, erasure, retention here
    "smarketing.demo",
    "smarketing.ops",  # probes, metrics, log context (docs/operations.md)
]

MIDDLEWARE = [
    # First: /healthz, /readyz and /metrics answered before the host check; then every
    # request's id (its log lines, X-Request-ID) and its time (docs/operations.md).
    "smarketing.ops.middleware.OpsEndpointsMiddleware",
    "smarketing.ops.middleware.RequestIdMiddleware",
    "smarketing.ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "smarketing.org.middleware.ViewerTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "smarketing.core.middleware.ContentSecurityPolicyMiddleware",
    "smarketing.core.middleware.RefusalMiddleware",
    # Last: turns a locked-out login attempt into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "smarketing.urls"
WSGI_APPLICATION = "smarketing.wsgi.application"
ASGI_APPLICATION = "smarketing.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smarketing.org.context_processors.roles",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'smarketing.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one SQLite file: WAL lets readers run
    # beside a writer, IMMEDIATE takes the write lock up front so that two writers queue
    # instead of failing with "database is locked" half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-smarketing.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # JIT compiles a query whose estimate is large (a million leads) before running it:
        # 100-370 ms added to list queries that then read a few rows (bench/, docs/performance.md).
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
            "options", env.str("DATABASE_PG_OPTIONS", default="-c jit=off")
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login lockout (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username
# from one address, that pair is locked out for AXES_COOLOFF_MINUTES (pages and the API
# token endpoint alike); a successful login resets the count. Attempts are stored, not
# logged (no usernames or addresses in the logs).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "smarketing.org.security.lockout_response"
# Who the client is, for lockouts and rate limits alike: the reverse proxies in front of
# the app that append to X-Forwarded-For. 0 (the default) when clients connect directly:
# the connection's address counts, whatever a client writes in that header. Behind one
# TLS proxy (docker-compose.yml's production setup behind yours), 1.
TRUSTED_PROXIES = env.int("SMARKETING_TRUSTED_PROXIES", default=0)
# Where rate limits count (DRF's throttles, the inbound form's): in each process's memory by
# default (one machine, one process), in Redis when several processes or hosts serve —
# otherwise each of them would allow a client the whole rate (docs/deploy.md).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
AXES_CLIENT_IP_CALLABLE = "smarketing.org.security.client_ip"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en"
USE_I18N = True
USE_TZ = True
# The organisation's time zone: ISO weeks in reports and the default team calendar.
SMARKETING_TIME_ZONE = env.str("SMARKETING_TIME_ZONE", default="Europe/Berlin")
TIME_ZONE = SMARKETING_TIME_ZONE
# The organisation's currency (ISO 4217) and how its money, numbers and dates read
# (smarketing/core/formats.py): a Babel locale, "en" (the default: LANGUAGE_CODE), "en-GB",
# "de-DE"… Both are checked when the app starts (smarketing/core/checks.py).
SMARKETING_CURRENCY = env.str("SMARKETING_CURRENCY", default="EUR")
SMARKETING_LOCALE = env.str("SMARKETING_LOCALE", default=LANGUAGE_CODE)

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
# CSV imports: an uploaded file waits for the worker where every web and worker node
# reaches it (smarketing/intake/files.py): in the database, in 1 MB chunks (the default),
# or with "s3" in an S3-compatible bucket through django-storages (boto3 comes with
# `pip install ".[s3]"`; credentials from boto3's own chain: AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, or the host's role). Nothing is shared on disk.
SMARKETING_IMPORT_STORAGE = env.str("SMARKETING_IMPORT_STORAGE", default="database")
if SMARKETING_IMPORT_STORAGE == "s3":
    STORAGES["imports"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("SMARKETING_IMPORT_S3_BUCKET"),
            "location": env.str("SMARKETING_IMPORT_S3_PREFIX", default="imports"),
            "endpoint_url": env.str("SMARKETING_IMPORT_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("SMARKETING_IMPORT_S3_REGION", default="") or None,
            "file_overwrite": False,
            # A file read back spills to a temporary file past 1 MB instead of memory.
            "max_memory_size": 1024 * 1024,
        },
    }
elif SMARKETING_IMPORT_STORAGE != "database":
    raise environ.ImproperlyConfigured(
        f'SMARKETING_IMPORT_STORAGE is "{SMARKETING_IMPORT_STORAGE}"; it must be "database" or "s3".'
    )
SMARKETING_IMPORT_MAX_MB = env.int("SMARKETING_IMPORT_MAX_MB", default=100)

# --- Email ------------------------------------------------------------------------------
# EMAIL_URL in one variable (django-environ's forms: consolemail://, smtp+tls://…), spelled
# out into Django's settings.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = _email.get("OPTIONS", {}).get("EMAIL_TIMEOUT")
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Smarketing <smarketing@localhost>")
SMARKETING_BASE_URL = env.str("SMARKETING_BASE_URL", default="http://127.0.0.1:8000")

# --- Celery -----------------------------------------------------------------------------
# Default: kombu's filesystem transport, a real broker in a folder, so that the embedded
# default runs a real worker and beat without any server. Set CELERY_BROKER_URL (or
# REDIS_URL) to redis://... for production.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = SMARKETING_TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
ROLLUPS_CATCH_UP_EVERY_SECONDS = env.int("ROLLUPS_CATCH_UP_EVERY_SECONDS", default=5)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The worker keeps the handlers of LOGGING below (plain or JSON, with the task's id)
# instead of replacing them with its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The beat schedule: code, in one place. Deadlines live in the database; these scans find
# what is due, so a second run (two beats, a retry) finds nothing left to do.
# An import with no sign of life for this long (its worker died) is queued again.
IMPORT_STALLED_AFTER_SECONDS = env.int("IMPORT_STALLED_AFTER_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "sla-enforce": {
        "task": "sla.tasks.sla_enforce",
        "schedule": timedelta(seconds=env.int("SLA_ENFORCE_EVERY_SECONDS", default=60)),
        "options": {"expires": 55},
    },
    "sla-commitments": {
        "task": "reports.tasks.commitments_close_weeks",
        "schedule": crontab(minute=7),
        "options": {"expires": 3500},
    },
    "leads-rescore": {
        "task": "leads.tasks.leads_rescore_pending",
        "schedule": crontab(minute="*/10"),
        "options": {"expires": 590},
    },
    "notifications-deliver": {
        "task": "smarketing.notifications.tasks.notifications_deliver_pending",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 290},
    },
    "imports-resume-stalled": {
        "task": "smarketing.intake.tasks.imports_resume_stalled",
        "schedule": timedelta(seconds=env.int("IMPORT_WATCHDOG_EVERY_SECONDS", default=120)),
        "options": {"expires": 110},
    },
    "deferred-tasks-send": {
        "task": "smarketing.core.tasks.deferred_tasks_send",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 55},
    },
    # Often: a dashboard read soon after a large import (more dirty leads than
    # ROLLUP_READ_REFRESH_LIMIT) finds the rollups up to date; a run with nothing dirty is
    # one query. A tick not run before the next one is dropped.
    "reports-rollups": {
        "task": "reports.tasks.reports_rollups_catch_up",
        "schedule": timedelta(seconds=ROLLUPS_CATCH_UP_EVERY_SECONDS),
        "options": {"expires": max(ROLLUPS_CATCH_UP_EVERY_SECONDS - 1, 1)},
    },
    "reports-freeze-weeks": {
        "task": "reports.tasks.reports_freeze_weeks",
        "schedule": crontab(minute=12),
        "options": {"expires": 3500},
    },
    # Nightly: the retention policy, when a manager switched it on (docs/privacy.md).
    "privacy-retention": {
        "task": "smarketing.privacy.tasks.privacy_retention_nightly",
        "schedule": crontab(hour=3, minute=40),
        "options": {"expires": 3 * 3600},
    },
    "reports-send-digest": {
        "task": "reports.tasks.reports_send_digest",
        "schedule": crontab(minute=17),
        "options": {"expires": 3500},
    },
}

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an API client without credentials gets 401 with a WWW-Authenticate
        # header (not 403), and a revoked token is told so.
        # DRF's token authentication, with the user's roles read in the same query.
        "smarketing.org.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "smarketing.core.api.FilterBackend",  # django-filter's, refusing `?name=` without a value
        "rest_framework.filters.OrderingFilter",
    ],
    # The API speaks JSON (DRF's parser, with a nesting limit); the views that take a file
    # upload or a website's form post say so themselves.
    "DEFAULT_PARSER_CLASSES": ["smarketing.core.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "smarketing.core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "smarketing.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "smarketing.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute"},
    "NUM_PROXIES": TRUSTED_PROXIES,  # DRF's own throttles; ours use smarketing.org.security.client_ip
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Smarketing API",
    "DESCRIPTION": "One funnel for marketing and sales: leads, hand-offs, the SLA and the closed loop.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # An id in an address is at most 18 digits (smarketing.core.routes).
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "smarketing.core.schema.document_errors",
        "smarketing.core.schema.add_links",
        "smarketing.core.schema.bound_dates",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "leads.models.Stage",
        "PrivacyActionEnum": "smarketing.privacy.models.PrivacyAction",
        "TeamKindEnum": "smarketing.org.models.TeamKind",
        "ReasonKindEnum": "smarketing.agreement.models.ReasonKind",
        "TouchKindEnum": "leads.models.TouchKind",
        "NotificationKindEnum": "smarketing.notifications.models.NotificationKind",
        "SourceEnum": "smarketing.org.models.Source",
        "EngagementTypeEnum": "smarketing.org.models.EngagementType",
        "TouchOutcomeEnum": "leads.models.TouchOutcome",
        "ImportRowOutcomeEnum": "smarketing.intake.models.RowOutcome",
        "ImportKindEnum": "smarketing.intake.models.ImportKind",
        "MigrationSystemEnum": "smarketing.intake.models.MigrationSystem",
        "ImportPlanOutcomeEnum": ["create", "update", "skip", "fail"],
        "AgreementVersionStatusEnum": "smarketing.agreement.models.VersionStatus",
    },
}

# --- Product rules (defaults; managers refine them in later screens) ----------------------
# The hand-off gate: profile fields a lead must have before it can become an MQL.
SMARKETING_HANDOFF_REQUIRED_FIELDS = env.list(
    "SMARKETING_HANDOFF_REQUIRED_FIELDS", default=["first_name", "last_name", "company", "job_title"]
)
SMARKETING_HANDOFF_MIN_ENGAGEMENTS = env.int("SMARKETING_HANDOFF_MIN_ENGAGEMENTS", default=1)
# Sales' response obligation until per-team policies exist: business hours after hand-off.
SLA_RESPONSE_BUSINESS_HOURS = env.int("SLA_RESPONSE_BUSINESS_HOURS", default=8)
SLA_FOLLOW_UP_TOUCHES = env.int("SLA_FOLLOW_UP_TOUCHES", default=3)
SLA_FOLLOW_UP_BUSINESS_DAYS = env.int("SLA_FOLLOW_UP_BUSINESS_DAYS", default=5)
SLA_WARN_AT_PERCENT = env.int("SLA_WARN_AT_PERCENT", default=80)
SLA_ENFORCE_BATCH_SIZE = env.int("SLA_ENFORCE_BATCH_SIZE", default=500)
# The dashboard reads kept-up-to-date counts (reports.rollups) on PostgreSQL. With more leads
# changed than this since the last refresh, a read counts from the event log instead.
ROLLUPS_ENABLED = env.bool("ROLLUPS_ENABLED", default=True)
ROLLUP_READ_REFRESH_LIMIT = env.int("ROLLUP_READ_REFRESH_LIMIT", default=2000)

# --- Watching it run (docs/operations.md) -------------------------------------------------
# /metrics answers only with this bearer token; unset, it answers 404.
SMARKETING_METRICS_TOKEN = env.str("SMARKETING_METRICS_TOKEN", default="")
# "plain" (the default) or "json": one JSON object per line. Either way each line carries
# the request's id (X-Request-ID) or the Celery task's.
SMARKETING_LOG_FORMAT = env.str("SMARKETING_LOG_FORMAT", default="plain")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "smarketing.ops.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(context)s %(message)s"},
        "json": {"()": "smarketing.ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if SMARKETING_LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Celery's task logger (get_task_logger) writes through the same handler.
        "celery.task": {"handlers": ["console"], "propagate": False},
        # The filesystem broker has no host by design; kombu warns about that on every
        # connection. Real brokers keep the warning.
        "kombu.connection": {
            "level": "ERROR" if CELERY_BROKER_URL.startswith("filesystem://") else "WARNING"
        },
    },
}
