"""Soak: half the saturation rate for 10 minutes (--quick: 30 s), orders going all the way
to the venue; the RSS of the long-running processes after warm-up against the end."""

from __future__ import annotations

import statistics

from bench.measure import Sampler, summary_ms, wait_for
from bench.scenarios.e2e import stages_ms

GROUPS = {"web": "web", "dispatchers": "dispatcher", "fix_holder": "fix"}


def run(suite) -> dict:
    suite.dispatchers()
    suite.clean()
    stack = suite.stack
    stack.venue_limit(1000, latency_ms="1-3")
    rate = round(suite.saturation / 2) if suite.saturation else 50
    duration = 30 if suite.quick else 600
    pids = {group: stack.pids(prefix) for group, prefix in GROUPS.items()}
    with Sampler(stack.database_url, every=1.0, pids=pids) as sampler:
        r = suite.load(rate=rate, duration=duration)
    print(r.text())
    # End to end at a rate the API carries: POST -> the venue's 150=0 in our books.
    wait_for(lambda: suite.db.queue_depth() == (0, 0), timeout=30, every=0.5)
    acks = suite.db.e2e_acks(r.run_id)
    e2e = {"latency_ms": summary_ms(acks["latencies_ms"]), "unacknowledged": acks["unacked"],
           "stages_ms": stages_ms(suite.db.e2e_stages(r.run_id))}
    suite.clean()
    samples = [s for s in sampler.samples if "rss_mb" in s]
    suite.plots["soak"] = samples
    warm = duration * 0.2
    growth = {}
    for group in pids:
        at_warm = [s["rss_mb"][group] for s in samples if s["t"] <= warm][-3:]
        tail = [s["rss_mb"][group] for s in samples if s["t"] >= duration * 0.9]
        if at_warm and tail:
            base = statistics.fmean(at_warm)
            growth[group] = {"after_warmup_mb": round(base, 1),
                             "end_mb": round(statistics.fmean(tail), 1),
                             "growth": round(statistics.fmean(tail) / base - 1, 4)}
    passed = bool(growth) and all(g["growth"] <= 0.10 for g in growth.values())
    return {
        "target": "RSS growth after warm-up <= 10% (web, dispatcher and FIX holder "
                  "processes)",
        "passed": passed,
        "rate": rate, "duration_s": duration,
        "rate_basis": "half the measured saturation rate" if suite.saturation
                      else "50/s (no saturation rate measured in this run)",
        "api": {"achieved_rate": r.achieved_rate, "errors": r.errors,
                "ack_latency_ms": r.latency_ms},
        "rss": growth,
        "e2e_at_this_rate": e2e,
        "queue_depth_max": max((s["queued"] for s in sampler.samples), default=0),
        "note": "warm-up = first 20% of the run; growth = mean of the last 10% over the "
                "last samples of the warm-up",
        "headline": {**{g: v["growth"] for g, v in growth.items()},
                     "e2e_p50_ms": e2e["latency_ms"]["p50"],
                     "e2e_p99_ms": e2e["latency_ms"]["p99"]},
    }
