"""Dispatch at a trickle: 60 orders/s offered (open loop) to a venue whose limit (1,000/s) is
far away, and what dispatching them costs: the dispatchers' CPU an order (the issue's
target: <= 2 ms), the FIX holder's beside it, and POST -> venue ACK.

Two dispatchers side by side, in alternating slices of one run: drains that wait for the
next order once the queue is empty (OMS_DISPATCH_DRAIN_IDLE_SECONDS=2, the default: intake's
nudge wakes a running drain) and drains that end as soon as the queue is empty (=0: a Celery
message and a drain for almost every order, as before). Switching restarts the dispatchers,
then a warm-up; CPU is counted over each slice's load and its drain."""

from __future__ import annotations

import time

from bench.measure import CpuMeter, log, summary_ms, wait_for

RATE = 60
IDLE_S = 3
SIDES = {"waiting": "2", "per_task": "0"}  # OMS_DISPATCH_DRAIN_IDLE_SECONDS
GROUPS = ("dispatchers", "fix_holder", "web", "postgres", "redis")


def _slice(suite, side: str, seconds: float) -> dict:
    stack, db = suite.stack, suite.db
    suite.dispatchers(env={"OMS_DISPATCH_DRAIN_IDLE_SECONDS": SIDES[side]})
    suite.clean()
    # What the processes spend with no orders at all (Celery's polling, the holder's ticks
    # and heartbeats): the part of a trickle's cost that is per second, not per order.
    with CpuMeter(stack) as idle:
        time.sleep(IDLE_S)
    with CpuMeter(stack) as meter:
        r = suite.load(rate=RATE, duration=seconds, modify_fraction=0.0, cancel_fraction=0.0,
                       quiet=True)
        wait_for(lambda: db.queue_depth() == (0, 0), timeout=30, every=0.1)
    books = db.e2e_acks(r.run_id)
    orders = len(books["latencies_ms"])
    return {"side": side, "orders": orders, "offered": r.by_kind.get("create", 0),
            "cpu_s": {g: meter.seconds.get(g, 0.0) for g in GROUPS},
            "idle_cpu_s": {g: idle.seconds.get(g, 0.0) * meter.wall_seconds / idle.wall_seconds
                           for g in GROUPS},
            "latencies": books["latencies_ms"], "errors": r.error_count}


def _side(slices: list[dict]) -> dict:
    orders = sum(s["orders"] for s in slices)
    cpu = {g: round(1000 * sum(s["cpu_s"][g] for s in slices) / max(orders, 1), 3)
           for g in GROUPS}
    idle = {g: round(1000 * sum(s["idle_cpu_s"][g] for s in slices) / max(orders, 1), 3)
            for g in GROUPS}
    return {"orders_acknowledged": orders, "offered": sum(s["offered"] for s in slices),
            # Of cpu_ms_per_order, what the same processes spend in as long with no orders.
            "idle_cpu_ms_per_order": idle,
            "errors": sum(s["errors"] for s in slices), "cpu_ms_per_order": cpu,
            "e2e_ms": summary_ms([ms for s in slices for ms in s["latencies"]])}


def run(suite) -> dict:
    suite.stack.venue_limit(1000, latency_ms="1-3")
    seconds = 10 if suite.quick else 20
    rounds = 1 if suite.quick else 2
    slices = []
    for r in range(rounds):
        order = list(SIDES) if r % 2 == 0 else list(SIDES)[::-1]
        for side in order:
            result = _slice(suite, side, seconds)
            log(f"  round {r} {side}: {result['orders']} acknowledged, dispatchers "
                f"{1000 * result['cpu_s']['dispatchers'] / max(result['orders'], 1):.2f} "
                f"ms an order")
            slices.append(result)
    suite.dispatchers()  # the stack's own again for what follows
    sides = {side: _side([s for s in slices if s["side"] == side]) for side in SIDES}
    suite.plots["trickle"] = sides
    waiting = sides["waiting"]["cpu_ms_per_order"]["dispatchers"]
    per_task = sides["per_task"]["cpu_ms_per_order"]["dispatchers"]
    return {
        "target": "dispatcher CPU per order at 60 orders/s <= 2 ms",
        "passed": waiting <= 2.0,
        "rate": RATE, "slice_s": seconds, "rounds": rounds,
        "sides": sides,
        "dispatcher_cpu_waiting_over_per_task": round(waiting / per_task, 3)
        if per_task else None,
        "headline": {"dispatcher_cpu_ms_per_order": waiting,
                     "dispatcher_cpu_ms_per_order_task_per_order": per_task,
                     "fix_holder_cpu_ms_per_order": sides["waiting"]["cpu_ms_per_order"][
                         "fix_holder"],
                     "e2e_p50_ms": sides["waiting"]["e2e_ms"]["p50"],
                     "e2e_p99_ms": sides["waiting"]["e2e_ms"]["p99"]},
    }
