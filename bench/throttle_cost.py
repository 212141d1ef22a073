"""The API throttle's cost a request, ours (omsproject/throttles.py: one Lua call) against
DRF's UserRateThrottle (what it replaced: the whole log read and written through the
cache), side by side, interleaved, against the same Redis, at a steady log of `--rate`
entries (a token running at its full rate): each round empties both logs, fills each with
`--rate` entries (not timed), then times `--requests` more.

    .venv/bin/python -m bench.throttle_cost [--rate 2000] [--rounds 6] [--requests 200]

Needs the test settings' database and Redis (DATABASE_URL / REDIS_URL as for ./oms test).
"""

import argparse
import os
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omsproject.test_settings")
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.cache import cache
    from django.test import RequestFactory, override_settings
    from rest_framework.request import Request
    from rest_framework.throttling import UserRateThrottle

    from omsproject.throttles import PerTokenRateThrottle

    # A limit no round reaches, over a long window: every request is let through and the
    # log holds what was sent, as for a token at its rate.
    limit = f"{10 * (args.rate + args.requests)}/hour"

    class DrfThrottle(UserRateThrottle):
        rate = limit

    class User:
        pk = 987654321
        is_authenticated = True

    request = Request(RequestFactory().post("/api/v1/orders"))
    request._user = User()

    raw = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])

    def empty_logs() -> None:
        cache.delete(f"throttle_user_{User.pk}")
        for key in raw.keys(f"oms:throttle*user:{User.pk}/*"):
            raw.delete(key)

    def per_request_micros(throttle_class) -> float:
        for _ in range(args.rate):
            assert throttle_class().allow_request(request, None)
        started = time.perf_counter()
        for _ in range(args.requests):
            assert throttle_class().allow_request(request, None)
        return (time.perf_counter() - started) / args.requests * 1e6

    results: dict[str, list[float]] = {"drf": [], "ours": []}
    with override_settings(OMS_API_THROTTLE_RATE=limit):
        for _ in range(args.rounds):
            empty_logs()
            results["drf"].append(per_request_micros(DrfThrottle))
            results["ours"].append(per_request_micros(PerTokenRateThrottle))
        empty_logs()
    drf, ours = (statistics.median(results[k]) for k in ("drf", "ours"))
    print(f"log of {args.rate}: DRF {drf:.0f} us/request, ours {ours:.0f} us/request "
          f"(medians of {args.rounds} interleaved rounds): {drf / ours:.1f}x")


if __name__ == "__main__":
    main()
