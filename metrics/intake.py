"""How long intake takes: every POST /api/v1/orders and /api/v1/orders/batch, timed around
the whole middleware stack, by endpoint and HTTP status.

Web is many gunicorn processes on many hosts and a scrape lands on one of them, so the
histogram is not kept in process memory (prometheus_client's multiprocess mode would add up
one host's processes only, through files on that host). Each request adds its observation to
one Redis hash, in one round trip (MULTI: its bucket and its sum), and every web replica's
/metrics reads the same hash: the same answer whichever serves it. The counts restart from 0
with Redis, as the limiter's do, which rate() takes as a counter reset.

A Redis that does not answer costs a request at most SOCKET_TIMEOUT, and then nothing for
PAUSE_SECONDS: the observation is dropped (metrics are not worth an order's latency).
"""

import logging
import time
from bisect import bisect_left
from functools import lru_cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

KEY = "oms:metrics:intake"
# Upper bounds in seconds: the design's ACK target is 50 ms; a full batch of 500 orders
# takes about a second on two cores.
BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The views intake is, by URL name (orders/urls.py), and the label each gets.
ENDPOINTS = {"order-list": "orders", "order-batch": "orders/batch"}
SOCKET_TIMEOUT = 0.25
PAUSE_SECONDS = 10.0

_paused_until: dict[str, float] = {}


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT,
                                socket_connect_timeout=SOCKET_TIMEOUT)


def intake_observe(*, endpoint: str, status: int, seconds: float) -> None:
    url = settings.REDIS_URL
    if time.monotonic() < _paused_until.get(url, 0.0):
        return
    field = f"{endpoint}|{status}"
    try:
        with _client(url).pipeline(transaction=True) as pipe:
            pipe.hincrby(KEY, f"{field}|{bisect_left(BUCKETS_SECONDS, seconds)}", 1)
            pipe.hincrbyfloat(KEY, f"{field}|sum", seconds)
            pipe.execute()
    except redis.RedisError as exc:
        _paused_until[url] = time.monotonic() + PAUSE_SECONDS
        logger.warning("intake timing not recorded for %.0f s (Redis: %r)", PAUSE_SECONDS, exc)


class IntakeTimingMiddleware:
    """Times POSTs to the intake views, outermost, so authentication, parsing, the
    transaction and the error handler are all inside the measurement."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST":
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        endpoint = ENDPOINTS.get(match.url_name) if match is not None else None
        if endpoint is not None:
            intake_observe(endpoint=endpoint, status=response.status_code,
                           seconds=time.perf_counter() - started)
        return response


def intake_histogram(raw: dict[bytes, bytes]) -> dict[tuple[str, str], tuple[list[int], float]]:
    """The Redis hash as Prometheus wants it: per (endpoint, status), the cumulative count
    at each bound of BUCKETS_SECONDS then +Inf, and the sum of seconds."""
    found: dict[tuple[str, str], tuple[list[int], float]] = {}
    for name, value in raw.items():
        endpoint, status, part = name.decode().rsplit("|", 2)
        counts, total = found.get((endpoint, status), ([0] * (len(BUCKETS_SECONDS) + 1), 0.0))
        if part == "sum":
            total = float(value)
        else:
            counts[int(part)] += int(value)
        found[(endpoint, status)] = (counts, total)
    for key, (counts, total) in found.items():
        cumulative, running = [], 0
        for count in counts:
            running += count
            cumulative.append(running)
        found[key] = (cumulative, total)
    return found
