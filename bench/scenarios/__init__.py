"""The suite's scenarios, one module each; each `run(suite) -> dict` returns its numbers,
`target`, `passed` and a short `headline`."""

from bench.scenarios import backlog, e2e, ingest, latency, routing, soak, throttle

# In the order they run: ingest first (the API alone, and the saturation rate that soak
# uses), then dispatch with the dispatchers up; routing last, on a stack of its own (three
# venues, market on) while the suite's waits.
SCENARIOS = {
    "ingest": ingest.run,
    "e2e": e2e.run,
    "throttle": throttle.run,
    "backlog": backlog.run,
    "latency": latency.run,
    "soak": soak.run,
    "routing": routing.run,
}
