"""Settings, all read from the environment (see README "Configuration" and .env.example).

With nothing configured the project runs on a SQLite file under var/ and the Redis at
REDIS_URL; `./oms run` starts an embedded Redis when nothing answers there.
"""

from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from omsproject.demo_venues import parse_oms_demo_venues

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def _optional_decimal(name: str, default: str = "") -> Decimal | None:
    """A decimal setting that may be left empty (no such limit)."""
    text = env.str(name, default=default).strip()
    return Decimal(text) if text else None


if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-local-development-only-key"  # local development default, DEBUG only

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "venues",
    "orders",
    "executions",
    "sessions.apps.TradingSessionsConfig",
    "dispatch",
    "risk",
    "routing",
    "marketdata",
    "metrics",
]

MIDDLEWARE = [
    # Outermost, so the time it records for intake is the whole request's (metrics/intake.py).
    "metrics.intake.IntakeTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "omsproject.urls"
WSGI_APPLICATION = "omsproject.wsgi.application"

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

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'oms.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) write at once: WAL lets readers run beside the
    # writer, IMMEDIATE takes the write lock at BEGIN so two writers queue on busy_timeout
    # instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that accepts TCP but never answers would hang each request until gunicorn
    # kills the worker; failing the connect turns it into a 503 (omsproject/errors.py).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis / Celery -------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Beat tasks reconcile desired with actual state, so a lost or late run is harmless;
    # `expires` drops nudges that queued up while no worker was there to take them.
    "sessions-reconcile": {
        "task": "sessions.reconcile", "schedule": 1.0, "options": {"expires": 5}
    },
    "dispatch-sweep": {"task": "dispatch.sweep", "schedule": 2.0, "options": {"expires": 10}},
    # Done orders and requests folded into /metrics' tallies (orders/tally.py,
    # dispatch/tally.py): a scrape then reads only what is open or done since.
    "orders-tally": {"task": "orders.tally", "schedule": 5.0, "options": {"expires": 10}},
    "dispatch-tally": {"task": "dispatch.tally", "schedule": 5.0, "options": {"expires": 10}},
}
CELERY_TASK_ROUTES = {"dispatch.drain": {"queue": "dispatch"}}

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve app static files straight from their packages: `collectstatic` is not a set-up step.
WHITENOISE_USE_FINDERS = True

# Request bodies larger than this are refused before parsing (orders are a few hundred bytes).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 * 1024)
# POST /api/v1/orders/batch: up to OMS_BATCH_MAX_ORDERS orders in a body of at most this
# (an order at its schema's longest is under 400 bytes of compact JSON; 1 KiB each).
OMS_BATCH_MAX_ORDERS = 500
OMS_BATCH_MAX_BYTES = env.int("OMS_BATCH_MAX_BYTES", default=OMS_BATCH_MAX_ORDERS * 1024)

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "omsproject.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["omsproject.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "omsproject.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# --- API throttling -------------------------------------------------------------------------
# The cache is Redis, shared by every web process on every host, under its own key prefix;
# the API throttle (omsproject/throttles.py) keeps its per-token request logs there.
CACHES = {
    "default": {
        "BACKEND": "omsproject.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "oms:cache",
        # A hung Redis must not hang requests: the throttle fails open when the cache errors.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
# Requests per token (user) in any sliding second, across all web processes; empty turns
# throttling off. Twice the 1,000 orders/s target, so one token can run the benchmark and
# poll besides, while a runaway client is cut off before it takes the whole API.
OMS_API_THROTTLE_RATE = env("OMS_API_THROTTLE_RATE", default="2000/second")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["omsproject.throttles.PerTokenRateThrottle"]
# --- end API throttling ---------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": "Order management system: order intake, modify, cancel, and venue sessions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "omsproject.schema.request_bodies_required",
    ],
}

# --- OMS ------------------------------------------------------------------------------------
OMS_DEFAULT_VENUE = env("OMS_DEFAULT_VENUE", default="XMOCK")
# How an order that names neither a venue nor `routing` is routed, unless its account says
# (Account.default_routing): DIRECTED (to OMS_DEFAULT_VENUE), BEST_PRICE or PRO_RATA.
OMS_DEFAULT_ROUTING = env("OMS_DEFAULT_ROUTING", default="DIRECTED")
OMS_THROTTLE_PER_SECOND = env.int("OMS_THROTTLE_PER_SECOND", default=100)
OMS_MAX_ORDER_QUANTITY = _optional_decimal("OMS_MAX_ORDER_QUANTITY", "100000")
OMS_MAX_ORDER_NOTIONAL = _optional_decimal("OMS_MAX_ORDER_NOTIONAL", "1000000")
# Pre-trade risk defaults (risk/limits.py); operators override them per account, or for all
# accounts, in the admin and at /api/v1/risk/limits. Empty: no such limit.
OMS_RISK_MAX_POSITION = _optional_decimal("OMS_RISK_MAX_POSITION")
OMS_RISK_BUYING_POWER = _optional_decimal("OMS_RISK_BUYING_POWER")
OMS_RISK_MAX_ORDERS_PER_SECOND = env.int("OMS_RISK_MAX_ORDERS_PER_SECOND", default=None)
OMS_RISK_DUPLICATE_WINDOW_SECONDS = env.int("OMS_RISK_DUPLICATE_WINDOW_SECONDS", default=0)
OMS_RISK_PRICE_BAND_PERCENT = _optional_decimal("OMS_RISK_PRICE_BAND_PERCENT", "5")
# `migrate` creates OMS_DEFAULT_VENUE with its sessions (venues/receivers.py), so an operator
# can set its schedule before the first order; off, it is created by the first order.
OMS_DEFAULT_VENUE_ON_MIGRATE = env.bool("OMS_DEFAULT_VENUE_ON_MIGRATE", default=True)
# More venues `migrate` creates the same way (when OMS_DEFAULT_VENUE_ON_MIGRATE is on), each
# with its own send limit: "CODE:LIMIT,..." (a bare CODE gets OMS_THROTTLE_PER_SECOND).
# `./oms run` sets XMOCK:100,XFAST:200,XSLOW:50, the demo venues (omsproject/demo_venues.py),
# which are also given the fees the mock exchange charges there.
OMS_DEMO_VENUES = parse_oms_demo_venues(env("OMS_DEMO_VENUES", default=""),
                                        OMS_THROTTLE_PER_SECOND)
# FIX 4.4 to the venues (venues/fix/). New venues get these; each venue's own settings are
# edited in the admin or with PUT/PATCH /api/v1/venues/{code}.
OMS_FIX_HOST = env("OMS_FIX_HOST", default="127.0.0.1")
OMS_FIX_PORT = env.int("OMS_FIX_PORT", default=9878)
OMS_SENDER_COMP_ID = env("OMS_SENDER_COMP_ID", default="OMS")
OMS_FIX_HEARTBEAT_SECONDS = env.int("OMS_FIX_HEARTBEAT_SECONDS", default=5)
# The session holder's lease on a venue's FIX session; it renews it twice a second and
# drops the connection itself when it cannot, before another holder may take over.
OMS_FIX_LEASE_SECONDS = env.float("OMS_FIX_LEASE_SECONDS", default=10.0)
OMS_FIX_LOGON_TIMEOUT_SECONDS = env.int("OMS_FIX_LOGON_TIMEOUT_SECONDS", default=5)
# A scheduled logout waits this long, at most, for answers to what was already written.
OMS_FIX_LOGOUT_WAIT_SECONDS = env.float("OMS_FIX_LOGOUT_WAIT_SECONDS", default=5.0)
# Reconnects back off 1, 2, 4 ... seconds up to this.
OMS_FIX_RECONNECT_MAX_SECONDS = env.float("OMS_FIX_RECONNECT_MAX_SECONDS", default=30.0)
# QuickFIX's own session event lines (connects, logons, resends, rejects) on stdout, two lines
# each, past the log level. Off by default: the holder logs logons, logouts, rejects and
# disconnects itself (venues.fix, sessions.services.holder); turn on to debug a session.
OMS_FIX_LOG_EVENTS = env.bool("OMS_FIX_LOG_EVENTS", default=False)
# A request written to a venue with no answer after this long has an unknown outcome: the
# venue is asked (35=H). Also how long a claim's rate-limit slot stays valid, plus 1 s.
OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS = env.float("OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS",
                                                default=5.0)
# A drain whose venue's queue is empty waits this long for the next order (a blocking Redis
# read, woken by intake's nudge) before it ends, so a trickle of orders is claimed by one
# running drain rather than by a Celery task each (dispatch/drain.py). 0: drains end at once.
OMS_DISPATCH_DRAIN_IDLE_SECONDS = env.float("OMS_DISPATCH_DRAIN_IDLE_SECONDS", default=2.0)
# GET /api/v1/stats/latency: each venue and kind's figures over at most this many of its
# latest answers (read backwards from the newest on an index: the same cost however long
# the history).
OMS_LATENCY_STATS_SAMPLE = env.int("OMS_LATENCY_STATS_SAMPLE", default=10_000)
# The send limiter's window is 1 s plus this, for clocks that tick at slightly different
# rates (the venue's and Redis's); exactness itself comes from dispatch/limiter.py's design.
OMS_THROTTLE_MARGIN_MS = env.int("OMS_THROTTLE_MARGIN_MS", default=2)
# New venues get a demo schedule open all day (UTC) so a fresh install trades at once;
# off: 09:30-16:00 America/New_York, Monday to Friday.
OMS_DEMO_SESSION = env.bool("OMS_DEMO_SESSION", default=True)

# --- Routing (routing/) ------------------------------------------------------------------------
# A venue whose queue holds more than this many seconds of its send limit (QUEUED requests >
# this x throttle_per_second) gets no routed orders: they would wait there while other
# venues could take them now.
OMS_ROUTING_MAX_BACKLOG_SECONDS = env.float("OMS_ROUTING_MAX_BACKLOG_SECONDS", default=2.0)
# The round trip routing assumes for a venue that has answered no new order yet (otherwise
# it uses the median of its 200 latest), milliseconds; latency breaks ties between prices.
OMS_ROUTING_DEFAULT_LATENCY_MS = env.float("OMS_ROUTING_DEFAULT_LATENCY_MS", default=5.0)

# --- Market data ----------------------------------------------------------------------------
# The FIX holder subscribes (35=V) to these symbols at each logon, besides the symbols of the
# venue's open orders, and to an order's symbol when it first sends one in a session.
OMS_MARKET_DATA_SYMBOLS = env.list(
    "OMS_MARKET_DATA_SYMBOLS", default=["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA", "SPY"])
# MarketDepth (264): book levels a side the venue is asked for; 0 = its full book. Routing
# sweeps what it sees: 10 covers the deepest demo venue (XFAST shows 10 levels).
OMS_MARKET_DATA_DEPTH = env.int("OMS_MARKET_DATA_DEPTH", default=10)
# A quote older than this (by the venue's SendingTime) is served with `stale: true`, and is
# not used for risk or routing.
OMS_MARKET_DATA_STALE_SECONDS = env.float("OMS_MARKET_DATA_STALE_SECONDS", default=5.0)

# --- Growth and retention (orders/services/retention.py; README "Growth and retention") ----
# History older than this many days is removed: done orders (a routed parent only with all
# its children) with their audit events, venue requests, execution reports and fills (their
# positions keep their figures), session and kill-switch history, venue messages that
# matched nothing. 0 or empty: everything is kept forever.
OMS_RETENTION_DAYS = int(env.str("OMS_RETENTION_DAYS", default="90").strip() or 0)
# Order families (or rows of the other history) per batch, each batch one short
# transaction; and batches per run, per kind of history: a run's work is bounded.
OMS_RETENTION_BATCH = env.int("OMS_RETENTION_BATCH", default=500)
OMS_RETENTION_MAX_BATCHES = env.int("OMS_RETENTION_MAX_BATCHES", default=20)
# Beat runs retention this often (each run at most OMS_RETENTION_MAX_BATCHES batches).
OMS_RETENTION_EVERY_SECONDS = env.float("OMS_RETENTION_EVERY_SECONDS", default=60.0)
# Set: each row is appended as a JSON line to <dir>/<table>/<UTC date>.jsonl (fsynced)
# before the batch that removes it commits. Empty: rows are dropped.
OMS_RETENTION_ARCHIVE_DIR = env.str("OMS_RETENTION_ARCHIVE_DIR", default="")
CELERY_BEAT_SCHEDULE["history-retention"] = {
    "task": "orders.retention", "schedule": OMS_RETENTION_EVERY_SECONDS,
    "options": {"expires": OMS_RETENTION_EVERY_SECONDS},
}

# --- Live event stream (orders/live/) ---------------------------------------------------------
# The ASGI process (`live` in the Procfile) serves GET /api/v1/events on this port.
OMS_LIVE_PORT = env.int("OMS_LIVE_PORT", default=8001)
# A stream looks at the table this often when no wake-up came (Redis down, a lost publish).
OMS_LIVE_POLL_SECONDS = env.float("OMS_LIVE_POLL_SECONDS", default=2.0)

# --- Metrics --------------------------------------------------------------------------------
# Bearer token Prometheus must send to /metrics. Unset, /metrics is open to anyone who can
# reach the web process: convenient locally, flagged by `manage.py check --deploy`; set it in
# production.
OMS_METRICS_TOKEN = env("OMS_METRICS_TOKEN", default="")
# Per account and symbol position series on /metrics, at most: the positions open or with
# realized P&L, most recently moved first (the rest are counted in oms_positions_omitted).
OMS_METRICS_POSITION_SERIES = env.int("OMS_METRICS_POSITION_SERIES", default=200)
# --- end Metrics ----------------------------------------------------------------------------

LOG_LEVEL = env("LOG_LEVEL", default="INFO").upper()
# What the processes do every second or two while idle: beat's "Sending due task", a worker's
# "Task ... received" / "succeeded" for each reconcile, sweep and drain. At INFO a person sees
# start-up, logons and logouts, orders and fills (the `orders` logger: one line when an order
# is accepted, one per status change and per fill), warnings and errors; these only with
# LOG_LEVEL=DEBUG. A task that fails is still logged (ERROR); our tasks never retry. Celery
# keeps named loggers' levels when it sets up its own handlers (its Django fixup runs
# django.setup(), and so this, first), so the Procfile's `--loglevel` cannot undo them.
_ROUTINE_LEVEL = "DEBUG" if LOG_LEVEL == "DEBUG" else "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # One INFO line per venue message would drown the logs; errors still show.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "celery.beat": {"level": _ROUTINE_LEVEL},
        "celery.worker.strategy": {"level": _ROUTINE_LEVEL},  # "Task ... received"
        "celery.app.trace": {"level": _ROUTINE_LEVEL},  # "Task ... succeeded in ...s"
    },
}
