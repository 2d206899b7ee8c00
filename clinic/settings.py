"""Mesotrack settings: everything comes from the environment, with defaults for the embedded mode.

Embedded mode (`make run`, `make test`): SQLite and Celery's filesystem broker under var/, email to
the console and var/outbox/. Production (docker compose, CI): DATABASE_URL, CELERY_BROKER_URL,
EMAIL_URL and SECRET_KEY from the environment, DEBUG off. Every variable is listed in README.md.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# `make test` runs the suite in parallel processes (pytest-xdist names them gw0, gw1…). Each gets
# its own Redis database, cache folder and filesystem queue below, as pytest-django gives each its
# own test database: otherwise one process's cache.clear() or queued task would reach another's.
_TEST_PROCESS = env.str("PYTEST_XDIST_WORKER", default="")
TEST_PROCESS_INDEX = int(_TEST_PROCESS[2:]) if _TEST_PROCESS[2:].isdigit() else None


def _own_redis_database(url: str) -> str:
    """The Redis URL with the database number moved on by the test process's index."""
    if TEST_PROCESS_INDEX is None or not url.startswith(("redis://", "rediss://")):
        return url
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + TEST_PROCESS_INDEX
    return urlunsplit(parts._replace(path=f"/{number}"))


def _test_process_broker(url: str) -> str:
    """The broker URL of this test process, moved on once: Celery reads the CELERY_BROKER_URL
    variable before these settings, so the moved URL is written back to it, and
    MESOTRACK_BROKER_OF names the process it was moved for, so a subprocess (a worker, a
    manage.py command), which inherits both, uses it as it is."""
    if TEST_PROCESS_INDEX is None or os.environ.get("MESOTRACK_BROKER_OF") == _TEST_PROCESS:
        return url
    moved = _own_redis_database(url)
    os.environ["CELERY_BROKER_URL"] = moved
    os.environ["MESOTRACK_BROKER_OF"] = _TEST_PROCESS
    return moved


# Files the running processes share (the cache, the filesystem broker's folders).
SHARED_DIR = VAR_DIR if TEST_PROCESS_INDEX is None else VAR_DIR / "test" / _TEST_PROCESS

# The embedded mode runs on a developer's machine, so DEBUG defaults on; the Docker image and
# .env.example turn it off. With DEBUG off a real SECRET_KEY is required (checked below).
DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "insecure-dev-key-only-for-debug-mode-never-for-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG off) refuses to start without it: set "
            "SECRET_KEY in the environment, or DEBUG=true for local development."
        )
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "phonenumber_field",
    # Login throttling and lockout (django-axes) and the second factor (django-otp: TOTP devices
    # and single-use recovery codes as its static tokens).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "clinic",
    # formulations before patients: seed_demo follows this order, and patients' demo allergies
    # refer to the demo formulations.
    "formulations",
    "patients",
    "sessions.apps.TreatmentSessionsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Every page requires login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "clinic.middleware.ClinicTimezoneMiddleware",
    # After login: the clinic's idle timeout, then the second factor on every staff page and the
    # Django admin.
    "clinic.middleware.IdleTimeoutMiddleware",
    "clinic.middleware.SecondFactorMiddleware",
    # Last, so a lockout raised while authenticating is turned into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

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
                "clinic.context_processors.clinic_context",
            ],
        },
    },
]

# Database ---------------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'mesotrack.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes every transaction take the write lock up front, so the web process, the
    # worker and beat serialize their writes instead of failing with "database is locked".
    # https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-transaction-behavior
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Auth -------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username or address is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading the user and their permissions in fewer queries.
    "clinic.backends.StaffModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        # NCSC and NIST SP 800-63B: length over complexity rules.
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60  # a reset link works for one hour

# Lockout (django-axes, https://django-axes.readthedocs.io/en/latest/4_configuration.html): after
# AXES_FAILURE_LIMIT failures in a row for one username, or from one address, logins from it are
# refused for the cool-off; a clinic admin can unlock earlier (Django admin, "Access attempts").
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The cool-off counts from the last counted failure, so the lockout page can say when it ends.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "clinic.accounts.lockout_response"
# Failures and lockouts go to the sign-in audit log (SecurityEvent), not to the process log.
AXES_VERBOSE = False
# Behind a proxy that sets X-Forwarded-For, set AXES_IPWARE_PROXY_COUNT to the number of proxies.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=None)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if AXES_IPWARE_PROXY_COUNT else ("REMOTE_ADDR",)
)

# Second factor (django-otp): clinicians and clinic admins must use one, reception may. The demo
# (DEBUG on) turns the requirement off unless TWO_FACTOR_REQUIRED says otherwise; production
# always enforces it (a deploy check refuses TWO_FACTOR_REQUIRED=false with DEBUG off).
TWO_FACTOR_REQUIRED = env.bool("TWO_FACTOR_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Mesotrack")
RECOVERY_CODE_COUNT = 10

# Sessions: they end when the browser closes (shared reception PCs), after the clinic's idle
# timeout (Clinic.idle_timeout_minutes), and at the latest after a working day.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = 12 * 60 * 60
# Read from the shared cache (below), written through to the database: a staff page asks the
# database for the user and their rights, not for the session too. A cache miss or outage
# falls back to the database row (clinic/session_store.py: Django's cached_db, with login and
# logout that work while Redis is down); logout deletes the cached copy with the row.
# https://docs.djangoproject.com/en/5.2/topics/http/sessions/#using-cached-sessions
SESSION_ENGINE = "clinic.session_store"

# Internationalisation ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# The server zone; pages are rendered in the clinic's own zone (Clinic.time_zone).
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Static files -----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="GB")

# Email ------------------------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "clinic.mail.ConsoleAndFileEmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox" / "email"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Mesotrack <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery -----------------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = _test_process_broker(env.str("CELERY_BROKER_URL", default="filesystem://"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = SHARED_DIR / "celery" / "queue"
    # The filesystem transport expects its folders to exist before the first message.
    for _folder in (_queue_dir, SHARED_DIR / "celery" / "processed"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(SHARED_DIR / "celery" / "processed"),
        "store_processed": False,
        # Broadcast (pidbox) messages; kombu's default is ./control, inside the checkout.
        "control_folder": str(SHARED_DIR / "celery" / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"

# Cache ------------------------------------------------------------------------------------------
# The public pages' rate limits (sessions/outreach/throttle.py) count in the cache, so every web
# process must see one cache: a per-process LocMem cache would give each gunicorn worker its own
# count. CACHE_URL wins (django-environ's cache_url: redis://, filecache://, dbcache://);
# else Redis when the broker is Redis (Django's own RedisCache, on redis-py from celery[redis]);
# else files under var/cache/, which every process on this machine shares.
# https://docs.djangoproject.com/en/5.2/topics/cache/
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache_url("CACHE_URL")}
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,
            # Beside the broker's own keys in the same database.
            "KEY_PREFIX": "mesotrack-cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(SHARED_DIR / "cache"),
        }
    }
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "clinic.tasks.record_worker_heartbeat", "schedule": 60.0},
    # The outbox sweep (DESIGN.md decision 1): every minute, never eta/countdown.
    "dispatch-due-reminders": {
        "task": "sessions.tasks.dispatch_due_reminders",
        "schedule": 60.0,
    },
    # A freed slot whose waitlist offers all expired goes to the next patients in line.
    "pass-on-unanswered-waitlist-offers": {
        "task": "sessions.tasks.pass_on_unanswered_waitlist_offers",
        "schedule": 60.0,
    },
    # Serious adverse events reach clinic admins by email from this sweep.
    "notify-serious-adverse-events": {
        "task": "sessions.tasks.notify_serious_adverse_events",
        "schedule": 60.0,
    },
    # Queued FHIR bulk exports (/fhir/$export): often, so a clinic admin waits seconds, not a
    # minute; the sweep is one indexed query when nothing is queued.
    "run-fhir-exports": {"task": "sessions.tasks.run_fhir_exports", "schedule": 10.0},
    # Patient copies whose link expired lose their files (the request log stays).
    "remove-expired-patient-copies": {
        "task": "sessions.tasks.remove_expired_patient_copies",
        "schedule": 3600.0,
    },
    # De-identified research exports asked for on the export page (fired at once as well).
    "build-research-exports": {
        "task": "sessions.tasks.build_research_exports",
        "schedule": 60.0,
    },
}

# /healthz answers 503 when the worker, beat or the reminder sweep has been silent this long.
HEALTH_STALE_AFTER_SECONDS = env.int("HEALTH_STALE_AFTER_SECONDS", default=180)

# SMS ----------------------------------------------------------------------------------------------
# "console" and "file" (under var/outbox/sms/) for the embedded default; "twilio" in production.
SMS_BACKEND = env.str("SMS_BACKEND", default="console+file")
SMS_FILE_PATH = env.path("SMS_FILE_PATH", default=VAR_DIR / "outbox" / "sms")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
# Only for tests against a local fake of Twilio's API; empty means Twilio's own address.
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")

# Patient links (/r/<token>/) and reminders: the public address patients' messages point to.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
PATIENT_LINK_SALT = "mesotrack.patient-link"

# Security (checked by `manage.py check --deploy`) ----------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# The health check answers over plain HTTP so container health probes work behind the proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A strict Content-Security-Policy: scripts and styles only from our own static files, no inline
# code (https://django-csp.readthedocs.io/en/latest/configuration.html). Photos and Bootstrap's
# icons use data: URIs; nothing is framed, posted elsewhere or loaded from another host.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Nothing in Mesotrack uses the camera, microphone, location or payment APIs.
PERMISSIONS_POLICY = {
    feature: []
    for feature in [
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    ]
}
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Logging: no patient data is ever logged; records carry ids only. ------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every rendering step at INFO; its warnings (a missing font) still show.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # Axes narrates every login at INFO; the sign-in audit log (SecurityEvent) keeps them.
        "axes": {"level": "WARNING"},
    },
}
