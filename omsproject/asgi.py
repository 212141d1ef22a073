"""The ASGI application: the Procfile's `live` process (uvicorn) serves the long-lived event
stream (GET /api/v1/events) from it. It is the whole project, like wsgi.py; gunicorn keeps
serving everything else, and answers the stream's path with a pointer here."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omsproject.settings")

application = get_asgi_application()
