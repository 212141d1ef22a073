"""The floor's settings: what a plain Django + DRF API needs, from the environment the bench
stack gives (DATABASE_URL of its own database, SECRET_KEY, ALLOWED_HOSTS). The database
connection is kept as the OMS keeps its own (CONN_MAX_AGE 60, health checks), so neither
side pays a connect per request."""

import environ

env = environ.Env()

DEBUG = False
SECRET_KEY = env("SECRET_KEY", default="floor-bench-only-not-a-secret-" + "x" * 30)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework.authtoken",
    "bench.floor.intake",
]
# An API takes no cookies: no sessions, CSRF, messages (the OMS has them for its admin).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "bench.floor.urls"
WSGI_APPLICATION = "bench.floor.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL",
                               default="postgres://postgres@127.0.0.1:5432/oms_floor")}
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}

FLOOR_DEFAULT_VENUE = env("OMS_DEFAULT_VENUE", default="XMOCK")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
