"""Django settings for Jiayuan.

Everything that differs between the laptop install and a shared deployment comes from the
environment: ``DATABASE_URL`` (dj-database-url syntax; default SQLite under ``var/``),
``REDIS_URL`` (cache and sessions), ``CELERY_BROKER_URL`` (background work; without it tasks run
in a thread of the app process), and the secrets (see ``jiayuan.localsecrets``).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE
from django.utils.translation import gettext_lazy as _

from jiayuan import localsecrets

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("JIAYUAN_VAR_DIR", BASE_DIR / "var"))

_secrets = localsecrets.load(VAR_DIR)
SECRET_KEY = _secrets["JIAYUAN_SECRET_KEY"]
# Data-encryption keys for ID numbers and phones (MultiFernet: the first encrypts, all decrypt).
JIAYUAN_FIELD_KEYS = [k.strip() for k in _secrets["JIAYUAN_FIELD_KEYS"].split(",") if k.strip()]
# Key for the keyed hash stored beside each encrypted value (exact lookup, de-duplication).
JIAYUAN_HASH_KEY = _secrets["JIAYUAN_HASH_KEY"]

DEBUG = os.environ.get("JIAYUAN_DEBUG", "") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("JIAYUAN_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("JIAYUAN_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "ninja",  # its Swagger page from the app's own static files (no CDN, no inline script: CSP)
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "jiayuan.core",
    "jiayuan.accounts",
    "jiayuan.places",
    "jiayuan.people",
    "jiayuan.screening",
    "jiayuan.control",
    "jiayuan.supplies",
    "jiayuan.volunteers",
    "jiayuan.operations",
    "jiayuan.gates",
    "jiayuan.care",
    "jiayuan.bulletin",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "jiayuan.core.middleware.RejectNulMiddleware",
    "jiayuan.core.replicas.ReplicaRoutingMiddleware",  # before sessions: sees a new session cookie
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "jiayuan.accounts.middleware.SecondFactorMiddleware",  # before the password: who it is, first
    "jiayuan.accounts.middleware.MustChangePasswordMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "jiayuan.core.middleware.RequestContextMiddleware",
    "jiayuan.core.errors.DatabaseUnavailableMiddleware",  # innermost: sees the view's exception
]

ROOT_URLCONF = "jiayuan.urls"
WSGI_APPLICATION = "jiayuan.wsgi.application"
ASGI_APPLICATION = "jiayuan.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "jiayuan" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jiayuan.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'jiayuan.sqlite3'}"),
        conn_max_age=int(os.environ.get("JIAYUAN_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while the single writer commits; IMMEDIATE avoids "database is
    # locked" upgrades from read to write transactions under concurrent requests; a writer waits
    # up to 20 s for the lock (bursts of orders or scans from many phones at once).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
    }
    VAR_DIR.mkdir(parents=True, exist_ok=True)
# Streaming replicas for reads that tolerate a few seconds of lag (dashboards, exports, missed
# lists): comma-separated URLs; without any, every query goes to the primary (ADR 0008).
for _i, _url in enumerate(u.strip() for u in os.environ.get("DATABASE_REPLICA_URLS", "").split(",") if u.strip()):
    _replica = dj_database_url.parse(_url, conn_max_age=DATABASES["default"]["CONN_MAX_AGE"])
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    _replica["TEST"] = {"MIRROR": "default"}  # tests read the primary's test database through the replica
    DATABASES[f"replica{_i + 1}"] = _replica
DATABASE_ROUTERS = ["jiayuan.core.replicas.ReplicaRouter"] if len(DATABASES) > 1 else []
# Behind PgBouncer in transaction mode (ADR 0016): each transaction may run on another server
# connection, so nothing may outlive one. No server-side cursors (``.iterator()`` would DECLARE
# a cursor WITH HOLD outside a transaction) and no psycopg prepared statements (PgBouncer 1.18,
# Debian's, does not carry them between server connections).
DATABASE_PGBOUNCER = os.environ.get("DATABASE_PGBOUNCER", "0").lower() in {"1", "true", "yes", "on"}
if DATABASE_PGBOUNCER:
    for _db in DATABASES.values():
        if _db["ENGINE"] == "django.db.backends.postgresql":
            _db["DISABLE_SERVER_SIDE_CURSORS"] = True
            _db.setdefault("OPTIONS", {})["prepare_threshold"] = None
else:
    # The hot paths' hand-written statements run on server-side-binding cursors
    # (``core.rawsql.hot_cursor``): psycopg prepares each once it has run 5 times on a connection,
    # and PostgreSQL stops planning it (ADR 0023). The ORM's client-side-binding cursors never
    # prepare anything, whatever this says. Django's default is None (never prepare).
    for _db in DATABASES.values():
        if _db["ENGINE"] == "django.db.backends.postgresql":
            _db.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
JIAYUAN_REPLICA_PIN_SECONDS = int(os.environ.get("JIAYUAN_REPLICA_PIN_SECONDS", "10"))
JIAYUAN_REPLICA_RETRY_SECONDS = int(os.environ.get("JIAYUAN_REPLICA_RETRY_SECONDS", "10"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions, background work ---------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Asia/Shanghai"
# Daily jobs for `celery -A jiayuan beat` in shared deployments; the laptop runs the same
# commands from cron (docs/operator-guide.md, "Daily jobs").
CELERY_BEAT_SCHEDULE = {
    "recompute-zones": {"task": "control.recompute_zones", "schedule": 3600.0},  # hourly: overrides expire mid-day
    "purge": {"task": "core.purge", "schedule": 86400.0},  # daily: data past its retention (core.retention)
    "suspend-expired-leaders": {"task": "supplies.suspend_expired_leaders", "schedule": 3600.0},
    "mark-no-shows": {"task": "volunteers.mark_no_shows", "schedule": 3600.0},  # shifts ended without a check-in
    # daily at 20:00 local time: every neighbourhood's bulletin draft, for the editor to publish
    "bulletin-compose": {"task": "bulletin.compose_all", "schedule": crontab(hour=20, minute=0)},
}
# How background jobs run without a broker: "thread" (laptop: a thread in the app process, so
# the page can show progress) or "inline" (tests: in the calling thread).
JIAYUAN_TASK_RUNNER = os.environ.get("JIAYUAN_TASK_RUNNER", "thread")

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Wrong passwords are counted per account and per client address (``accounts.throttle``, in the
# cache: per process on the laptop, shared through Redis when configured); past the limit, sign-in
# is refused for the lock period even with the right password. A success clears the account's count.
AUTHENTICATION_BACKENDS = ["jiayuan.accounts.backends.ThrottledModelBackend"]
JIAYUAN_LOGIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("JIAYUAN_LOGIN_MAX_FAILURES_PER_ACCOUNT", "5"))
JIAYUAN_LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("JIAYUAN_LOGIN_MAX_FAILURES_PER_ADDRESS", "30"))
JIAYUAN_LOGIN_LOCK_SECONDS = int(os.environ.get("JIAYUAN_LOGIN_LOCK_SECONDS", "900"))
# Two-factor sign-in (TOTP + backup codes, django-otp) for every account whose roles can reveal ID
# numbers or phones, export unmasked or manage the team; the demo neighbourhood's accounts are
# offered it, not made to (``accounts.otp``). Off only for tests of other things.
JIAYUAN_2FA_REQUIRED = os.environ.get("JIAYUAN_2FA_REQUIRED", "1") != "0"
OTP_TOTP_ISSUER = "Jiayuan 家园"
OTP_TOTP_THROTTLE_FACTOR = 1  # django-otp: after each wrong code, wait 1, 2, 4 … seconds
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- HTTPS (docs/operator-guide.md, "HTTPS") ---------------------------------------------------
# JIAYUAN_HTTPS=1 when the app is reached over https (its own certificate or a proxy in front):
# plain http is redirected, cookies travel over https only, browsers are told to keep to https
# (HSTS). JIAYUAN_BEHIND_PROXY=1 trusts the proxy's X-Forwarded-Proto header.
JIAYUAN_HTTPS = os.environ.get("JIAYUAN_HTTPS", "") == "1"
SECURE_SSL_REDIRECT = JIAYUAN_HTTPS
SESSION_COOKIE_SECURE = JIAYUAN_HTTPS
CSRF_COOKIE_SECURE = JIAYUAN_HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("JIAYUAN_HSTS_SECONDS", "31536000")) if JIAYUAN_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = JIAYUAN_HTTPS and os.environ.get("JIAYUAN_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
SECURE_HSTS_PRELOAD = JIAYUAN_HTTPS and os.environ.get("JIAYUAN_HSTS_PRELOAD", "") == "1"
if os.environ.get("JIAYUAN_BEHIND_PROXY", "") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload puts the domain on the browsers' built-in list, a commitment that outlives
    # this app (most installs sit on a street's own sub-domain or an intranet name): the operator
    # opts in with JIAYUAN_HSTS_PRELOAD=1, it is not a default.
    "security.W021",
]

# --- Content-Security-Policy (django-csp, ADR 0012) ---------------------------------------------
# Scripts only from the app itself (no inline code, no inline event handlers: behaviour.js reads
# data-confirm / data-print / data-autosubmit), or carrying the per-request nonce. Styles allow
# 'unsafe-inline': a few templates use style="" attributes and htmx adds its indicator style;
# inline styles cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "jiayuan" / "locale"]
TIME_ZONE = os.environ.get("JIAYUAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files (served by the app itself: no CDN) ----------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "jiayuan" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders until `collectstatic` has run (tests, development).
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_ROOT.exists()
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
JIAYUAN_IMPORT_MAX_BYTES = 50 * 1024 * 1024
# Spreadsheet uploads (core.spreadsheets): a sheet larger than this is refused before it is read,
# and the reader runs in a child process with this much memory and time (docs/operator-guide.md).
JIAYUAN_IMPORT_MAX_ROWS = int(os.environ.get("JIAYUAN_IMPORT_MAX_ROWS", "200000"))
JIAYUAN_IMPORT_MAX_COLUMNS = int(os.environ.get("JIAYUAN_IMPORT_MAX_COLUMNS", "200"))
JIAYUAN_IMPORT_MAX_CELLS = int(os.environ.get("JIAYUAN_IMPORT_MAX_CELLS", "5000000"))
JIAYUAN_IMPORT_MEMORY_MB = int(os.environ.get("JIAYUAN_IMPORT_MEMORY_MB", "2048"))
JIAYUAN_IMPORT_TIMEOUT = int(os.environ.get("JIAYUAN_IMPORT_TIMEOUT", "300"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("JIAYUAN_LOG_LEVEL", "WARNING")},
}

JIAYUAN_PAGE_SIZE = 50
# Retention (``jiayuan purge``, daily): days after which data is deleted. Idempotency records
# only answer retries (minutes, at most hours, later); antigen photos were only evidence for the
# day's check, the result itself is kept.
JIAYUAN_IDEMPOTENCY_DAYS = int(os.environ.get("JIAYUAN_IDEMPOTENCY_DAYS", "7"))
# Day partitions on PostgreSQL (ADR 0015): created this many days ahead by the daily purge; the
# append-only tables' retention in days (0 keeps them for ever), applied by dropping whole partitions.
JIAYUAN_PARTITION_DAYS_AHEAD = int(os.environ.get("JIAYUAN_PARTITION_DAYS_AHEAD", "7"))
JIAYUAN_SAMPLE_DAYS = int(os.environ.get("JIAYUAN_SAMPLE_DAYS", "0"))
JIAYUAN_ANTIGEN_REPORT_DAYS = int(os.environ.get("JIAYUAN_ANTIGEN_REPORT_DAYS", "0"))
JIAYUAN_GATE_PASSAGE_DAYS = int(os.environ.get("JIAYUAN_GATE_PASSAGE_DAYS", "0"))
JIAYUAN_AUDIT_DAYS = int(os.environ.get("JIAYUAN_AUDIT_DAYS", "0"))
# The published bulletin shows a count of people below this as "少量" (never the number).
JIAYUAN_BULLETIN_SMALL_COUNT = int(os.environ.get("JIAYUAN_BULLETIN_SMALL_COUNT", "3"))
JIAYUAN_ANTIGEN_PHOTO_DAYS = int(os.environ.get("JIAYUAN_ANTIGEN_PHOTO_DAYS", "14"))
# The address residents' phones reach the app at (e.g. http://192.168.1.20:8000): household QR
# codes are printed with it. Empty: the address the page was opened with.
JIAYUAN_PUBLIC_URL = os.environ.get("JIAYUAN_PUBLIC_URL", "").rstrip("/")
JIAYUAN_SITE_NAME = _("家园")
