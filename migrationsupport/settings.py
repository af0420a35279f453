"""Settings for Migration Support: one file, every deploy-time value from the environment.

Development defaults are safe for a laptop (SQLite in ``var/``, local-memory cache); a
production deploy sets ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` and usually
``REDIS_URL``. See the configuration table in README.md.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from exc


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, or DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105 - only ever used with DEBUG on

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "migrationsupport.admin_site.OfficerAdminConfig",  # django.contrib.admin with the officers' site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "django_rq",  # `manage.py rqworker`: the task queue's worker (migrationsupport/tasks.py)
    "simple_history",
    "axes",
    "migrationsupport",
    "regions",
    "funding",
    "agreements",
    "migrationsupport.site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Cross-origin GETs of /api/ (answers from the page cache included), preflights answered here.
    "migrationsupport.cors.ApiCorsMiddleware",
    # Before the page cache, which asks it whether a page was read from a replica.
    "migrationsupport.db_router.ReplicaRoutingMiddleware",
    "migrationsupport.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's ConditionalGetMiddleware, whose 304 keeps the API's X-RateLimit-* headers.
    "migrationsupport.api.conditional.RateKeepingConditionalGetMiddleware",
    "migrationsupport.cache.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # ?as_of=: after the user is known (an as_of view is anonymous), around every view.
    "migrationsupport.asof.AsOfMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "migrationsupport.urls"

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
                "migrationsupport.asof.as_of_context",
            ],
        },
    },
]

# Django's form templates, with <select> and <input> written in Python (migrationsupport/forms.py).
FORM_RENDERER = "migrationsupport.forms.PageFormRenderer"

WSGI_APPLICATION = "migrationsupport.wsgi.application"

# Database: DATABASE_URL when set (PostgreSQL in production and tests), otherwise an embedded
# SQLite file so `make run` works with no server at all.
DATABASE_URL = env("DATABASE_URL")
if not DATABASE_URL and not DEBUG:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Set DATABASE_URL (e.g. postgres://user@host:5432/db) in production, "
        "or DEBUG=1 to use the embedded SQLite file var/db.sqlite3."
    )
# Behind PgBouncer in transaction mode (DB_PGBOUNCER=1) a connection is the server's for one
# transaction only: no server-side cursors (they outlive it), and no startup options (PgBouncer
# forwards only the parameters it tracks): set jit there with ALTER ROLE (docs/deployment.md).
DB_PGBOUNCER = envbool("DB_PGBOUNCER", False)
# A statement a connection has run this many times (the same text, values included) is prepared:
# parsed and planned once per connection (migrationsupport/prepared.py). Empty: never. Off by
# default behind PgBouncer, which keeps prepared statements in transaction mode only from 1.22,
# with max_prepared_statements set.
_prepare_threshold = env("DB_PREPARE_THRESHOLD", "" if DB_PGBOUNCER else "2")
DB_PREPARE_THRESHOLD: int | None = int(_prepare_threshold) if _prepare_threshold else None
if DB_PREPARE_THRESHOLD is not None and DB_PREPARE_THRESHOLD < 1:
    # 0 would prepare every statement on its first run, and a text of several statements cannot be.
    raise ImproperlyConfigured("DB_PREPARE_THRESHOLD must be 1 or more, or empty (never prepare).")


def database(url: str) -> dict[str, Any]:
    """One DATABASES entry from a database URL, with this site's connection options."""
    config: dict[str, Any] = {
        **dj_database_url.parse(url, conn_max_age=envint("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
    }
    if config["ENGINE"] == "django.db.backends.postgresql":
        if DB_PGBOUNCER:
            config["DISABLE_SERVER_SIDE_CURSORS"] = True
        else:
            # PostgreSQL's JIT compiles any query it costs above 100 000 (a total over every
            # funding record) and spends longer compiling than the query then runs
            # (docs/performance.md): a web request is never long enough to win that back. A
            # sequential scan starts at the table's first page, not where another one running
            # has got to: search ranks the first matches a scan finds (``RANKED_MATCHES``), the
            # same ones on every request. A DATABASE_URL with its own ?options= keeps those.
            config.setdefault("OPTIONS", {}).setdefault("options", "-c jit=off -c synchronize_seqscans=off")
    return config


DATABASES = {"default": database(DATABASE_URL or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}

# Read replicas (PostgreSQL streaming replicas of DATABASE_URL): public reads go to them,
# officers, API writers, writes and migrations to the primary (migrationsupport/db_router.py).
# None configured: one database, no router, exactly as before.
DATABASE_REPLICAS: list[str] = []
for _number, _url in enumerate(envlist("DATABASE_REPLICA_URLS"), start=1):
    _replica = database(_url)
    # A replica that does not answer must not hold a request: fall back to the primary.
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica{_number}")
if DATABASE_REPLICAS:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL.")
    DATABASE_ROUTERS = ["migrationsupport.db_router.PrimaryReplicaRouter"]
# A replica whose replay is further behind than this is not read; its health is checked at most
# once per REPLICA_CHECK_SECONDS per process. A client that wrote reads the primary for
# REPLICA_PIN_SECONDS, which must cover both: a replica in use has then replayed that write.
REPLICA_MAX_LAG_SECONDS = envint("REPLICA_MAX_LAG_SECONDS", 5)
REPLICA_CHECK_SECONDS = envint("REPLICA_CHECK_SECONDS", 2)
REPLICA_PIN_SECONDS = envint("REPLICA_PIN_SECONDS", REPLICA_MAX_LAG_SECONDS + REPLICA_CHECK_SECONDS + 3)
if DATABASE_REPLICAS and REPLICA_PIN_SECONDS < REPLICA_MAX_LAG_SECONDS + REPLICA_CHECK_SECONDS:
    raise ImproperlyConfigured(
        "REPLICA_PIN_SECONDS must be at least REPLICA_MAX_LAG_SECONDS + REPLICA_CHECK_SECONDS: "
        "a client that just wrote could otherwise read a replica that has not replayed it yet."
    )
REPLICA_PIN_COOKIE = "primary_until"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set (shared by every app process), local memory otherwise.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis reuses one client per connection pool; Django's own backend builds a
            # new one per call, 2.5 times the cost of a cached page's reads (docs/performance.md).
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX"),
        },
        # Each process's copy of the pages it served last, in front of Redis (migrationsupport/
        # cache.py): at most 100 pages of at most 512 kB each (a few MB for most pages).
        "local": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "pages",
            "OPTIONS": {"MAX_ENTRIES": 100},
        },
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Public pages and anonymous API answers are cached for this many seconds (0 turns it off); any
# edit makes them fresh at once (migrationsupport/cache.py). Officers are never served from it.
# The edit is seen through a counter in the cache, so every process serving pages must share that
# cache: without REDIS_URL each process would keep its own pages and counter, and an unpublished
# page would stay on the others for PAGE_CACHE_SECONDS. That holds even for one web process:
# `publish_due` (cron), imports and restores write from processes of their own. So without Redis
# the page cache is off, and turning it on is refused.
PAGE_CACHE_SECONDS = envint("PAGE_CACHE_SECONDS", 600 if REDIS_URL else 0)
if PAGE_CACHE_SECONDS and not REDIS_URL:
    raise ImproperlyConfigured(
        "PAGE_CACHE_SECONDS needs REDIS_URL: several app processes, each with its own cache, would "
        "keep serving a page after it is unpublished. Set REDIS_URL, or PAGE_CACHE_SECONDS=0."
    )
PAGE_CACHE_EXCLUDE: tuple[str, ...] = ("/admin/", "/healthz")
# Each process keeps the content version it read and Redis tells it when that changes
# (migrationsupport/version_copy.py): a cached page without a round trip to Redis. 0: read it on
# every request, as before 6 December 2026.
PAGE_CACHE_VERSION_COPY = envbool("PAGE_CACHE_VERSION_COPY", True)
# With the copy, an anonymous API answer the page cache serves is counted against the API's rate
# without waiting for Redis's reply (migrationsupport/rate_count.py): judged by the count Redis
# answered last plus this process's increments since. 0: wait for the count on every request.
API_COUNT_WITHOUT_WAITING = envbool("API_COUNT_WITHOUT_WAITING", True)

# ?as_of= views (migrationsupport/asof.py): at most this many snapshot schemas are kept (the least
# recently used are dropped); answers carry Cache-Control max-age this long (a past snapshot never
# changes); a moment must be at least this many seconds old (a change saved just before it may not
# be committed yet).
AS_OF_MAX_SNAPSHOTS = envint("AS_OF_MAX_SNAPSHOTS", 20)
AS_OF_CACHE_SECONDS = envint("AS_OF_CACHE_SECONDS", 365 * 24 * 3600)
AS_OF_SETTLE_SECONDS = envint("AS_OF_SETTLE_SECONDS", 120)

# Work a request need not wait for (migrationsupport/tasks.py), such as rebuilding the stored
# funding totals: with TASK_QUEUE=1 it goes to a Redis queue that `make worker` serves; otherwise
# it runs in the request's process once its transaction commits. Off by default: with it on and no
# worker running, nothing queued would ever run.
TASK_QUEUE = envbool("TASK_QUEUE", False)

# Whether readers see which officer made a public change (record pages, "What changed", feeds).
# Off by default: the public sees the date, the fields and the officer's public change note.
SHOW_OFFICER_NAMES = envbool("SHOW_OFFICER_NAMES", False)
if TASK_QUEUE and not REDIS_URL:
    raise ImproperlyConfigured("TASK_QUEUE=1 needs REDIS_URL: the queue is kept in Redis.")
# "webhooks": one short job per delivery (migrationsupport/webhooks/delivery.py).
RQ_QUEUES = {
    "default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 900},
    "webhooks": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 60},
}
RQ_SHOW_ADMIN_LINK = False

# The site's public address, for the absolute addresses in what is built outside a request (the
# webhooks' payloads): SITE_URL, else https:// and the first ALLOWED_HOSTS name.
_named_hosts = [host for host in ALLOWED_HOSTS if host and not host.startswith((".", "*"))]
SITE_URL = env("SITE_URL").rstrip("/") or (
    "http://localhost:8000" if DEBUG or not _named_hosts else f"https://{_named_hosts[0]}"
)

# Webhooks (migrationsupport/webhooks, docs/api.md): each delivery is tried again after these many
# seconds in turn (on the queue; in-process, once); a subscription is paused after
# WEBHOOKS_PAUSE_AFTER_FAILURES deliveries in a row gave up, or after failing for
# WEBHOOKS_PAUSE_AFTER_HOURS. Targets on loopback, private or link-local networks are refused
# unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=1 (a receiver on the same network; the tests).
_retry_intervals = envlist("WEBHOOKS_RETRY_INTERVALS", "10,30,90,270,810,2430")
if not all(seconds.isdigit() for seconds in _retry_intervals):
    raise ImproperlyConfigured("WEBHOOKS_RETRY_INTERVALS must be seconds separated by commas, e.g. 10,30,90.")
WEBHOOKS_RETRY_INTERVALS = [int(seconds) for seconds in _retry_intervals]
WEBHOOKS_PAUSE_AFTER_FAILURES = envint("WEBHOOKS_PAUSE_AFTER_FAILURES", 5)
WEBHOOKS_PAUSE_AFTER_HOURS = envint("WEBHOOKS_PAUSE_AFTER_HOURS", 24)
WEBHOOKS_ALLOW_PRIVATE_TARGETS = envbool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
WEBHOOKS_CONNECT_TIMEOUT = envint("WEBHOOKS_CONNECT_TIMEOUT", 5)
WEBHOOKS_READ_TIMEOUT = envint("WEBHOOKS_READ_TIMEOUT", 10)

# Email (a paused webhook subscription's owner is told): SMTP from the environment; on DEBUG the
# console. The tests use Django's in-memory outbox.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "Europe/Brussels"
# The site is in English only. Off, Django skips its translation machinery (its documented
# optimisation): every lazy label, choice display and number a template renders otherwise asks
# for the active language and its catalogue. At +100 000 records this took the timeline from
# 376 to 197 ms and the overview from 664 to 412 ms (docs/performance.md).
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "migrationsupport" / "static"]
# Hashed, compressed static files (run collectstatic) in production; plain names in development
# and for app processes started by tests (STATICFILES_MANIFEST=0).
STATICFILES_MANIFEST = envbool("STATICFILES_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATICFILES_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# The officers' exports escape formula-like cells themselves (``PublishableResource.export_field``,
# the same ``safe_cell`` as every CSV of the site); the library's own escaping would drop a leading
# "=" from the text and miss "+", "-" and "@". Control characters XLSX cannot hold are replaced.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True

# REST API (/api/v1/): the pieces are in migrationsupport/api/ and api_defaults.py. Anonymous
# clients are throttled per address at API_ANON_RATE ("<n>/<second|minute|hour|day>"), far above
# what a reader needs. The answers that cost the most are throttled on the pages as in the API
# (migrationsupport/throttling.py), per address too: the funding explorer, its totals and search
# at EXPENSIVE_ANON_RATE, CSV downloads at EXPORT_ANON_RATE.
API_ANON_RATE = env("API_ANON_RATE", "300/min")
EXPENSIVE_ANON_RATE = env("EXPENSIVE_ANON_RATE", "60/min")
EXPORT_ANON_RATE = env("EXPORT_ANON_RATE", "10/min")
for _name, _rate in [
    ("API_ANON_RATE", API_ANON_RATE),
    ("EXPENSIVE_ANON_RATE", EXPENSIVE_ANON_RATE),
    ("EXPORT_ANON_RATE", EXPORT_ANON_RATE),
]:
    if not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        raise ImproperlyConfigured(f"{_name} must look like 300/min or 20/second, not {_rate!r}.")

# Behind a TLS proxy the client is the last address the proxy appends to X-Forwarded-For;
# otherwise REMOTE_ADDR (a client-sent X-Forwarded-For must not dodge the throttle).
_num_proxies = envint("API_NUM_PROXIES", 1 if envbool("BEHIND_TLS_PROXY") else 0)

REST_FRAMEWORK = {
    # Token first: an anonymous write then gets 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["migrationsupport.api_defaults.ReadOnlyOrStaffModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "migrationsupport.api_defaults.StrictOrderingFilter",
        "migrationsupport.api_defaults.PublicationFilter",
        "migrationsupport.api_defaults.UpdatedSinceFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "migrationsupport.api_defaults.ApiPagination",
    "DEFAULT_RENDERER_CLASSES": ["migrationsupport.api_defaults.DecimalJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["migrationsupport.api_defaults.DecimalJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["migrationsupport.api_defaults.AnonymousRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": API_ANON_RATE,
        "expensive": EXPENSIVE_ANON_RATE,
        "export": EXPORT_ANON_RATE,
    },
    "NUM_PROXIES": _num_proxies,
    "EXCEPTION_HANDLER": "migrationsupport.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "migrationsupport.api.schema.ApiAutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Amounts, figures and percentages are JSON numbers, written and read exactly (docs/api.md;
    # migrationsupport/exactjson.py).
    "COERCE_DECIMAL_TO_STRING": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Migration Support API",
    "DESCRIPTION": (
        "The published records of EU support to partner countries on migration and forced "
        "displacement: regions, countries, routes, instruments, funding (with totals that never "
        "count money twice), conferences, agreements, documents, themes and sources. Read for "
        "everyone; staff write with their model permissions (token or session): Editors work "
        "on drafts, a published record, its status and schedule are a Publisher's. Lists are JSON "
        "or CSV (`?format=csv`); answers carry ETags; amounts are JSON numbers in EUR with "
        "their qualifier; partial dates are ISO 8601 reduced to what is known (`2024`, `2023-06`) "
        "with `<name>_precision` beside them; absent values are null; rich text comes as "
        "`<name>_html` and `<name>_text`. Reads come first here; writes, for staff, are under "
        '"staff writes". The guide for readers, with examples: docs/api.md in the repository.'
    ),
    "VERSION": "1.1.1",
    # Reads first, one tag per record type; writes last, for staff (migrationsupport.api.schema).
    "TAGS": [
        *(
            {"name": name}
            for name in (
                "funding",
                "countries",
                "regions",
                "routes",
                "route-figures",
                "population-figures",
                "instruments",
                "conferences",
                "agreements",
                "agreement-events",
                "documents",
                "themes",
                "sources",
            )
        ),
        {
            "name": "changes",
            "description": "Every public change in order: replay it from the start to rebuild the "
            "published data, then poll for what changed since (docs/api.md).",
        },
        {
            "name": "staff writes",
            "description": "Creating, changing and deleting records: staff accounts with model "
            "permissions only (Authorization: Token <key>), with If-Match. Everyone else reads.",
        },
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PublicationStatusEnum": "migrationsupport.models.Status",
        "QualifierEnum": "migrationsupport.values.Qualifier",
        "DatePrecisionEnum": "migrationsupport.values.DatePrecision",
        "AgreementKindEnum": "agreements.models.AgreementKind",
        "AgreementStatusEnum": "agreements.models.AgreementStatus",
        "EventKindEnum": "agreements.models.EventKind",
        "DocumentKindEnum": "agreements.models.DocumentKind",
        "FundingKindEnum": "funding.models.FundingKind",
    },
}

# Security: production values unless DEBUG is on; `check --deploy --fail-level WARNING` is clean.
# HTTPS is the only way in: plain HTTP is redirected, and browsers are told (HSTS) to never try it.
# Processes started on loopback by tests, `make bench` and `make loadtest` speak plain HTTP and
# set SECURE_SSL_REDIRECT=0 themselves (see the Makefile and docs/reliability.md).
BEHIND_TLS_PROXY = envbool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_HTTPONLY = True  # the admin and the API docs read the token from the form, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every answer (migrationsupport/security.py): scripts only from this
# site, never inline. CSP_REPORT_URI, when set, receives the browsers' violation reports.
CSP_REPORT_URI = env("CSP_REPORT_URI")

# Admin brute force (django-axes): after AXES_FAILURE_LIMIT failed logins the account (from any
# address) and the address (for any account) are locked for AXES_COOLOFF_MINUTES, even when the
# right password follows. Lockouts are logged (logger "axes") and listed in the admin, where a
# superuser lifts them; or `manage.py axes_reset`, `axes_reset_username <name>`, `axes_reset_ip <ip>`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = envbool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The client address the same way as the API throttle: behind the proxy, the one it appended.
AXES_CLIENT_IP_CALLABLE = "migrationsupport.security.client_ip"
AXES_NUM_PROXIES = _num_proxies

# The open-data catalogue's contact point (DCAT-AP, the data package): an address that someone
# reads and a contact page. Without them the catalogue names the publisher's page the records come
# from (migrationsupport/site/catalogue.py), never an invented address.
DATA_CONTACT_EMAIL = env("DATA_CONTACT_EMAIL")
DATA_CONTACT_URL = env("DATA_CONTACT_URL")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
