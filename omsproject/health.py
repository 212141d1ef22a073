import logging

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from metrics.selectors import venue_sessions
from sessions.selectors import iso_instant

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _venues() -> dict:
    """Each venue's session: what it should be, what it is, and its FIX session's record.
    Shown, not checked: a venue logged out (its window closed, its holder reconnecting) is
    the venue's state, not this web process's ill health."""
    try:
        rows = venue_sessions()
    except Exception as exc:  # the database check says what is wrong
        logger.warning("/healthz could not read the venues' sessions: %r", exc)
        return {}
    return {
        row.venue: {
            "desired": row.desired,
            "state": row.state,
            "fixSession": None if row.fix_state is None else {
                "state": row.fix_state,
                "nextSenderSeqNum": row.next_sender_seq,
                "nextTargetSeqNum": row.next_target_seq,
                "owner": row.owner,
                "leaseUntil": iso_instant(row.lease_until),
            },
        }
        for row in rows
    }


@require_GET
def healthz(request):
    checks = {
        "database": "ok" if _database_ok() else "unavailable",
        "broker": "ok" if _broker_ok() else "unavailable",
    }
    healthy = all(v == "ok" for v in checks.values())
    venues = _venues() if checks["database"] == "ok" else {}
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks, "venues": venues},
        status=200 if healthy else 503,
    )
