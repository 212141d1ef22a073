"""Throttle exactness at the venue with several dispatcher processes writing through one
FIX session: a backlog released at x.8 s (its first window straddles a calendar second),
limits 20/s, 100/s and 1,000/s. The exchange counts every application message in every sliding
second; the limit must hold there and, under a backlog, be used."""

from __future__ import annotations

import time

from bench.measure import CpuMeter, wait_for
from bench.venue_log import wire_profile
from bench.windows import sleep_until_fraction_of_second


def _run(suite, limit: int, count: int, timeout: float) -> dict:
    stack, db = suite.stack, suite.db
    suite.clean()
    stack.venue_limit(limit, latency_ms="1")
    time.sleep(1.2)  # the previous limit's window empties
    before = stack.exchange_stats()
    since = before["lastSeq"]
    db.copy_backlog(count, prefix=f"thr{limit}")
    sleep_until_fraction_of_second(0.8)
    started = time.monotonic()
    with CpuMeter(stack) as meter:
        stack.nudge(stack.dispatcher_count * stack.dispatcher_threads)
        done = wait_for(lambda: db.answered() >= count, timeout=timeout, every=0.2)
    elapsed = time.monotonic() - started
    sends = db.answered()
    after = stack.exchange_stats()
    wire = wire_profile(stack.exchange_messages(since), limit)
    suite.plots.setdefault("throttle_wire", {})[limit] = wire["per_second"]
    suite.clean()
    utilization = round(wire["sustained_rate"] / limit, 3) if wire["sustained_rate"] else \
        (round(wire["rate"] / limit, 3) if wire["rate"] else 0)
    return {
        "limit": limit, "backlog": count, "drained": done, "seconds": round(elapsed, 2),
        "max_in_any_sliding_second": wire["busiest"],
        "max_over_limit": round(wire["busiest"] / limit, 3),
        # The venue's own count over this run (its maxInAnySlidingSecond is since it started,
        # earlier scenarios at other limits included, so the log's figure above is the one).
        "violations": after["limitViolations"] - before["limitViolations"],
        "rate": wire["rate"], "sustained_rate": wire["sustained_rate"],
        "utilization": utilization,
        "by_type": wire["by_type"],
        "rejects": wire["rejects"],
        "per_second": wire["per_second"][:30],
        # A send's CPU (the web and load generator idle): what bounds the rate below L.
        "cpu_cost_per_send": meter.per_order_ms(sends),
    }


def run(suite) -> dict:
    suite.dispatchers()
    runs = [_run(suite, 20, 200 if suite.quick else 600, 60)]
    runs.append(_run(suite, 100, 400 if suite.quick else 1000, 60))
    # At least 3 s of sends: the sustained rate leaves out the first and last half second.
    runs.append(_run(suite, 1000, 3000 if suite.quick else 5000, 40 if suite.quick else 120))
    exact = all(r["max_over_limit"] <= 1.0 and r["violations"] == 0 for r in runs)
    used = all(r["utilization"] >= 0.95 for r in runs)
    return {
        "target": "max sends in any sliding second / limit <= 1.00 (exactness); "
                  "utilization >= 0.95 under a backlog",
        "passed": exact and used,
        "exact": exact, "utilization_met": used,
        "runs": runs,
        "headline": {f"L={r['limit']}": f"max {r['max_in_any_sliding_second']}/"
                     f"{r['limit']}, util {r['utilization']}" for r in runs},
    }
