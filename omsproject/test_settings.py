"""Settings for the test suite: PostgreSQL and Redis, as in production.

The defaults below are the local services the README's test command expects; the
environment overrides them. The secret is for tests only.
"""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-key")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from omsproject.settings import *  # noqa: E402,F403

# QuickFIX's event lines would fill the test output.
OMS_FIX_LOG_EVENTS = os.environ.get("OMS_FIX_LOG_EVENTS", "false") == "true"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user set-up only

# Tests make the venues they need, each pointing at its own exchange. A default venue made by
# every migrate and flush would be held by the tests' session holders (which hold every
# venue) against whatever listens on the default FIX port; tests/venues/test_default_venue.py
# turns it on to check it.
OMS_DEFAULT_VENUE_ON_MIGRATE = False
