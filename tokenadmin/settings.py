"""Settings for tokenadmin: one module, every knob from the environment.

Defaults run the demo on a laptop (SQLite, the Keycloak emulator on 127.0.0.1:8180, Redis on
127.0.0.1:6379, mail to a local sink). Production sets DJANGO_DEBUG=false and must then provide a
secret key and allowed hosts; see docker/.env.example for the full list.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str:
    """A string from the environment; secrets may come from a file named by NAME_FILE."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, str(default).lower())
    if raw not in ("true", "false"):
        raise ImproperlyConfigured(f"{name}: expected true or false, got {raw!r}")
    return raw == "true"


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", True)
if DEBUG:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
else:
    # Production refuses to start without these; no default could be safe.
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG=false")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# The address admins use to reach tokenadmin; links in emails point here.
TOKENADMIN_BASE_URL = env_str("TOKENADMIN_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "mozilla_django_oidc",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "tokenadmin.core",
    "tokenadmin.accounts",
    "tokenadmin.realms",
    "tokenadmin.ledger",
    "tokenadmin.sessionindex",
    "tokenadmin.revocation",
    "tokenadmin.lifespans",
    "tokenadmin.reports",
    "tokenadmin.metrics",
    "tokenadmin.findings",
    "tokenadmin.alerts",
    "tokenadmin.policies",
    "tokenadmin.history",
    "tokenadmin.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tokenadmin.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tokenadmin.core.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tokenadmin.accounts.middleware.LoginRequiredMiddleware",
    "tokenadmin.accounts.middleware.TokenRefreshMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tokenadmin.core.middleware.GatewayErrorMiddleware",
    "tokenadmin.core.middleware.DatabaseBusyMiddleware",
]

WSGI_APPLICATION = "tokenadmin.wsgi.application"
ASGI_APPLICATION = "tokenadmin.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% partialdef %} everywhere without a {% load %} in each template.
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tokenadmin.accounts.context_processors.admin_rights",
                "tokenadmin.accounts.context_processors.keycloak_outage",
                "tokenadmin.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE_S", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Web, worker and beat share the file: WAL lets readers work beside one writer, and
        # IMMEDIATE takes the write lock up front instead of failing half-way with
        # "database is locked".
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;",
        "transaction_mode": "IMMEDIATE",
        # The busy timeout: how long a write waits (SQLite retrying) for another writer's lock
        # before "database is locked", which pages show as a 503 message (docs/FAULTS.md).
        "timeout": env_int("DATABASE_BUSY_TIMEOUT_S", 20),
    }
    # A file, not memory, so Celery workers started by the tests see the test database; one
    # per test run (pid), so runs side by side never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / "var" / f"test-db-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Redis and Celery -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Redis down must not hold a page: queuing a task gives up within a few seconds (Celery's
# defaults retry the result store 20 times, 19 s) and the caller says what happens next; work
# recorded in the database is queued again by the sweeper (docs/FAULTS.md).
_QUICK_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
CELERY_TASK_PUBLISH_RETRY_POLICY = _QUICK_RETRY
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": _QUICK_RETRY}
# Every this many seconds beat runs the sweeper, which queues again the work the database holds
# as waiting for longer than QUEUE_SWEEP_AFTER_S (a job or a report run whose task was lost).
QUEUE_SWEEP_EVERY_S = env_int("QUEUE_SWEEP_EVERY_S", 30)
QUEUE_SWEEP_AFTER_S = env_int("QUEUE_SWEEP_AFTER_S", 60)
CELERY_TIMEZONE = "UTC"

# --- Keycloak and the admin login -----------------------------------------------------------
# KEYCLOAK_URL is where this server reaches Keycloak; KEYCLOAK_PUBLIC_URL is where the admin's
# browser does (they differ in docker compose: http://keycloak:8080 vs http://localhost:8080).
KEYCLOAK_URL = env_str("KEYCLOAK_URL", "http://127.0.0.1:8180").rstrip("/")
KEYCLOAK_PUBLIC_URL = env_str("KEYCLOAK_PUBLIC_URL", KEYCLOAK_URL).rstrip("/")
KEYCLOAK_REALM = env_str("KEYCLOAK_REALM", "master")
KEYCLOAK_CLIENT_ID = env_str("KEYCLOAK_CLIENT_ID", "tokenadmin")
# The `tokenadmin` command line signs in with this public client (device grant; /cli.json).
CLI_CLIENT_ID = env_str("TOKENADMIN_CLI_CLIENT_ID", "tokenadmin-cli")
KEYCLOAK_CLIENT_SECRET = env_str("KEYCLOAK_CLIENT_SECRET", "tokenadmin-dev-secret")
KEYCLOAK_WORKER_CLIENT_ID = env_str("KEYCLOAK_WORKER_CLIENT_ID", "tokenadmin-worker")
KEYCLOAK_WORKER_CLIENT_SECRET = env_str("KEYCLOAK_WORKER_CLIENT_SECRET", "tokenadmin-worker-secret")
# The demo's and the tests' secrets are published (README, emulator seed): production refuses
# to run on them, as it refuses to run without DJANGO_SECRET_KEY.
DEV_CLIENT_SECRETS = frozenset({"tokenadmin-dev-secret", "tokenadmin-worker-secret"})
if not DEBUG:
    for _name, _secret in (
        ("KEYCLOAK_CLIENT_SECRET", KEYCLOAK_CLIENT_SECRET),
        ("KEYCLOAK_WORKER_CLIENT_SECRET", KEYCLOAK_WORKER_CLIENT_SECRET),
    ):
        if _secret in DEV_CLIENT_SECRETS:
            raise ImproperlyConfigured(
                f"{_name} is the published development secret; set the client's real secret "
                "when DJANGO_DEBUG=false"
            )
KEYCLOAK_TIMEOUT_S = env_int("KEYCLOAK_TIMEOUT_S", 10)
# Refresh the admin's access token when less than this is left (master's tokens live 60 s).
KEYCLOAK_REFRESH_MARGIN_S = env_int("KEYCLOAK_REFRESH_MARGIN_S", 15)
# Renewing the admin's login waits this long for Keycloak (once, no retry): a page must not
# hang on a Keycloak that accepts connections and never answers (docs/FAULTS.md).
KEYCLOAK_RENEW_TIMEOUT_S = env_int("KEYCLOAK_RENEW_TIMEOUT_S", 3)
# After Keycloak failed to answer, stop asking it for this long (the circuit breaker).
KEYCLOAK_BREAKER_OPEN_S = env_int("KEYCLOAK_BREAKER_OPEN_S", 30)


def keycloak_endpoints(internal_url: str, public_url: str, realm: str) -> dict[str, str]:
    """mozilla-django-oidc's endpoint settings: the browser's go public, the server's internal."""
    public = f"{public_url}/realms/{realm}/protocol/openid-connect"
    internal = f"{internal_url}/realms/{realm}/protocol/openid-connect"
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{public}/auth",
        "OIDC_OP_LOGOUT_ENDPOINT": f"{public}/logout",
        "OIDC_OP_TOKEN_ENDPOINT": f"{internal}/token",
        "OIDC_OP_USER_ENDPOINT": f"{internal}/userinfo",
        "OIDC_OP_JWKS_ENDPOINT": f"{internal}/certs",
    }


def content_security_policy(keycloak_public_url: str) -> str:
    """Every page works under this policy: no inline script or style, no third-party origin."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        f"form-action 'self' {keycloak_public_url}; object-src 'none'"
    )


_endpoints = keycloak_endpoints(KEYCLOAK_URL, KEYCLOAK_PUBLIC_URL, KEYCLOAK_REALM)
OIDC_OP_AUTHORIZATION_ENDPOINT = _endpoints["OIDC_OP_AUTHORIZATION_ENDPOINT"]
OIDC_OP_LOGOUT_ENDPOINT = _endpoints["OIDC_OP_LOGOUT_ENDPOINT"]
OIDC_OP_TOKEN_ENDPOINT = _endpoints["OIDC_OP_TOKEN_ENDPOINT"]
OIDC_OP_USER_ENDPOINT = _endpoints["OIDC_OP_USER_ENDPOINT"]
OIDC_OP_JWKS_ENDPOINT = _endpoints["OIDC_OP_JWKS_ENDPOINT"]
OIDC_RP_CLIENT_ID = KEYCLOAK_CLIENT_ID
OIDC_RP_CLIENT_SECRET = KEYCLOAK_CLIENT_SECRET
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_STORE_ACCESS_TOKEN = True
OIDC_STORE_ID_TOKEN = True
OIDC_TIMEOUT = KEYCLOAK_TIMEOUT_S
OIDC_OP_LOGOUT_URL_METHOD = "tokenadmin.accounts.logout.keycloak_logout_url"
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
OIDC_CALLBACK_CLASS = "tokenadmin.accounts.views.KeycloakCallbackView"
AUTHENTICATION_BACKENDS = ["tokenadmin.accounts.backend.KeycloakBackend"]
LOGIN_URL = "oidc_authentication_init"
LOGIN_REDIRECT_URL = "/"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login-failed/"
LOGOUT_REDIRECT_URL = "/accounts/signed-out/"

# --- Email ----------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_S", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "tokenadmin <tokenadmin@localhost>")

# --- Alerts (tokenadmin/alerts/) ------------------------------------------------------------
ALERTS_HTTP_TIMEOUT_S = env_int("ALERTS_HTTP_TIMEOUT_S", 10)
ALERTS_MAX_ATTEMPTS = env_int("ALERTS_MAX_ATTEMPTS", 6)  # retries wait 30 s, 1, 2, 4, 8 min
ALERTS_RETRY_BASE_S = env_int("ALERTS_RETRY_BASE_S", 30)
ALERTS_PAUSE_AFTER_FAILURES = env_int("ALERTS_PAUSE_AFTER_FAILURES", 3)  # failed deliveries
ALERTS_IMMEDIATE_MAX = env_int("ALERTS_IMMEDIATE_MAX", 20)  # more at once: one grouped message
ALERTS_DIGEST_MAX_FINDINGS = env_int("ALERTS_DIGEST_MAX_FINDINGS", 100)
ALERTS_DELIVERIES_KEEP_DAYS = env_int("ALERTS_DELIVERIES_KEEP_DAYS", 30)
# A report run being sent belongs to its worker this long; after it the worker is presumed
# dead and the run is settled (sent again, or marked possibly delivered: docs/FAULTS.md).
REPORT_SEND_LEASE_S = env_int("REPORT_SEND_LEASE_S", 120)
# A report the mail server may have received without confirming it is sent once more after
# this pause (recipients may then get it twice; the run history says so).
REPORT_UNCONFIRMED_RESEND_AFTER_S = env_int("REPORT_UNCONFIRMED_RESEND_AFTER_S", 1800)
# A report mail carries its full CSV gzipped only up to this size (bytes, compressed); a bigger
# one is left to the download link the mail always has. 0: never attach.
REPORT_ATTACHMENT_MAX_BYTES = env_int("REPORT_ATTACHMENT_MAX_BYTES", 1_000_000)
# Set by `manage.py demo`: the folder where its SMTP sink keeps mail, shown at /demo/mailbox/.
TOKENADMIN_DEMO_MAILDIR = env_str("TOKENADMIN_DEMO_MAILDIR", "")
# The demo's own pages (its mailbox) are routed only when the demo runs.
ROOT_URLCONF = "tokenadmin.demo.root_urls" if TOKENADMIN_DEMO_MAILDIR else "tokenadmin.urls"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE_S", 12 * 3600)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds the whole domain and its subdomains to HTTPS in every browser for
        # months; that is the domain owner's decision, so it stays opt-in and check --deploy
        # does not nag about it (security.W021).
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    # /health is probed over plain HTTP by the container healthcheck.
    SECURE_REDIRECT_EXEMPT = [r"^health$"]
if env_bool("DJANGO_TRUST_PROXY_HEADERS", False):
    # Only behind a proxy that sets these headers itself and strips them from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
CONTENT_SECURITY_POLICY = content_security_policy(KEYCLOAK_PUBLIC_URL)

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("DJANGO_LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "tokenadmin.core.logging.JsonFormatter"},
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # requests/urllib3 log full URLs at DEBUG; some carry tokens as query parameters.
        "urllib3": {"level": "WARNING"},
        "mozilla_django_oidc": {"level": "WARNING"},
    },
}


# --- /metrics (tokenadmin/metrics/) --------------------------------------------------------------
# Off unless enabled (404). Readable with `Authorization: Bearer <METRICS_TOKEN>` or from an
# address in METRICS_ALLOW_IPS (addresses or networks, comma-separated). Keycloak call counters
# add up across processes only with PROMETHEUS_MULTIPROC_DIR set (README, "Metrics").
METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOW_IPS = env_list("METRICS_ALLOW_IPS", "")
# Clients beyond this many per realm add up under client="other".
METRICS_TOP_CLIENTS = env_int("METRICS_TOP_CLIENTS", 10)
