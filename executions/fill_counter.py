"""Trades stored, counted per venue in Redis once their transaction commits: /metrics'
`oms_fills` (a counter). Not from the fill table: a count of it reads the whole history,
and retention takes old fills away, which a counter must not show as a fall. Like the
intake histogram (metrics/intake.py) the count restarts from 0 with Redis (rate() takes it
as a reset), and a Redis that does not answer loses the count, never the fill."""

import logging
from functools import lru_cache, partial

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

KEY = "oms:metrics:fills"


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)


def _count(venue_code: str) -> None:
    try:
        _client(settings.REDIS_URL).hincrby(KEY, venue_code, 1)
    except redis.RedisError as exc:
        logger.warning("fill of %s not counted for /metrics (Redis: %r)", venue_code, exc)


def count_fill_on_commit(venue_code: str) -> None:
    transaction.on_commit(partial(_count, venue_code))


def fills_counted(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {venue.decode(): int(count) for venue, count in raw.items()}
