"""The suite's scenarios, one module each; each `run(suite) -> dict` returns its numbers,
`target`, `passed` and a short `headline`."""

from bench.scenarios import (
    backlog, e2e, floor, ingest, latency, routing, soak, throttle, trickle,
)

# In the order they run: ingest first (the API alone, and the saturation rate that soak
# uses), floor (the API against the floor app and raw PostgreSQL, still without
# dispatchers; our batch intake beside them), then dispatch with the dispatchers up (trickle
# restarts them with and without drains that wait for work); routing last, on a stack of its
# own (three venues, market on) while the suite's waits.
SCENARIOS = {
    "ingest": ingest.run,
    "floor": floor.run,
    "e2e": e2e.run,
    "throttle": throttle.run,
    "backlog": backlog.run,
    "latency": latency.run,
    "trickle": trickle.run,
    "soak": soak.run,
    "routing": routing.run,
}
# Scenarios with a table of their own in summary.md, after the one-line-each table.
SUMMARIES = {"floor": floor.summary}
