"""Backlog scaling: what dispatch costs per order with 1,000 and with 100,000 orders queued
(the claim reads the queue's head through a partial index, so it should not grow)."""

from __future__ import annotations

import time

DRAIN = 1000  # orders timed from the first the venue receives


def _drain_cost(suite, queued: int) -> dict:
    stack, db = suite.stack, suite.db
    suite.clean()
    copy_s = db.copy_backlog(queued, prefix=f"bk{queued}")
    # Bulk-loaded rows wake autovacuum, which would then run on the same 2 cores in the
    # middle of the measurement (the large backlog's, not the small one's): do its work
    # first, so both measure the queue and not the maintenance of a bulk load.
    for table in db.t.values():
        db.conn.execute(f"VACUUM ANALYZE {table}")
    time.sleep(0.5)
    # Progress as the venue counts it: counting answered rows in the table would scan
    # the whole backlog every 50 ms, the measurement's own cost growing with the backlog.
    base = stack.exchange_stats()["received"]

    def received() -> int:
        return stack.exchange_stats()["received"] - base

    started = time.monotonic()
    stack.nudge(stack.dispatcher_count * stack.dispatcher_threads)
    first = None
    deadline = started + 120
    while time.monotonic() < deadline:
        n = received()
        if first is None and n > 0:
            first = time.monotonic()
        if n >= DRAIN:
            break
        time.sleep(0.05)
    end = time.monotonic()
    n = received()
    suite.clean()  # withdraws the rest of the backlog first
    seconds = end - (first or started)
    return {"queued": queued, "drained": n, "copy_seconds": round(copy_s, 2),
            "seconds": round(seconds, 3),
            "ms_per_order": round(seconds * 1000 / max(n, 1), 3),
            "orders_per_second": round(n / seconds, 1) if seconds else None}


def run(suite) -> dict:
    suite.dispatchers()
    suite.stack.venue_limit(100000, latency_ms="1")
    small = _drain_cost(suite, 1000)
    large = _drain_cost(suite, 100_000)
    suite.stack.venue_limit(1000, latency_ms="1-3")
    ratio = round(large["ms_per_order"] / small["ms_per_order"], 3)
    return {
        "target": "cost per order with 100,000 queued / with 1,000 queued <= 1.2",
        "passed": ratio <= 1.2,
        "drain_measured": DRAIN, "small": small, "large": large, "ratio": ratio,
        "note": "backlogs inserted with COPY (order + CREATED event + NEW request per "
                "order); venue limit 100,000/s; time from the venue's first NewOrderSingle "
                f"received to its {DRAIN}th",
        "headline": {"ms_per_order_1k": small["ms_per_order"],
                     "ms_per_order_100k": large["ms_per_order"], "ratio": ratio},
    }
