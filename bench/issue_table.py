"""The issue's table ("Performance and scale"), each row filled from one suite run's report:
the figure, its target, whether it was met, and for throughput the ratio to the floor and to
raw PostgreSQL measured in the same run. A row whose scenario did not run says so."""

from __future__ import annotations


def _ratio(a, b) -> float | None:
    return round(a / b, 3) if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
        and a and b else None


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "missed")


def rows(report: dict) -> list[dict]:
    s = report.get("scenarios", {})
    floor, ingest, e2e = s.get("floor") or {}, s.get("ingest") or {}, s.get("e2e") or {}
    throttle, trickle, latency = s.get("throttle") or {}, s.get("trickle") or {}, \
        s.get("latency") or {}
    sides = floor.get("sides") or {}
    rate = {side: (sides.get(side) or {}).get("orders_per_second") for side in
            ("oms", "oms_batch", "floor", "raw_pg")}
    p99 = {side: ((sides.get(side) or {}).get("latency_ms") or {}).get("p99")
           for side in ("oms", "oms_batch", "floor")}
    out = []

    def add(figure, measured, target, ok, *, of=None):
        out.append({"figure": figure, "measured": measured, "target": target,
                    "verdict": _verdict(ok),
                    "to_floor": _ratio(of, rate["floor"]) if of is not None else None,
                    "to_raw_pg": _ratio(of, rate["raw_pg"]) if of is not None else None})

    if sides:
        add("single-order intake, closed loop, 32 connections",
            f"{rate['oms']} orders/s, p99 {p99['oms']} ms", ">= 1.0x the floor, same run",
            (_ratio(rate["oms"], rate["floor"]) or 0) >= 1.0, of=rate["oms"])
        add("the floor (bench/floor/: Django + DRF, token auth, one serializer, the same "
            "three inserts)", f"{rate['floor']} orders/s, p99 {p99['floor']} ms", "(reference)",
            None, of=rate["floor"])
        add("raw PostgreSQL, the same rows", f"{rate['raw_pg']} orders/s",
            "(the physical limit)", None, of=rate["raw_pg"])
        add("batch intake (100 orders a request, 4 connections)",
            f"{rate['oms_batch']} orders/s (a batch's p99 {p99['oms_batch']} ms)",
            ">= 2,500 orders/s", (rate["oms_batch"] or 0) >= 2500, of=rate["oms_batch"])
    at80 = ingest.get("open_loop_at_80_percent")
    if at80:
        closed = ingest["closed_loop"]["orders_per_second"]
        add("p99 ACK at 80% of the saturated rate, open loop",
            f"p99 {at80['latency_ms']['p99']} ms at {at80['offered']}/s offered "
            f"({at80['achieved']}/s served; closed loop {closed}/s)", "<= 50 ms",
            ingest.get("passed"))
    spread = e2e.get("spread")
    if spread:
        acked = spread["acknowledged_at_venues"]
        add(f"end to end, L=1,000 a venue, {len(spread['venues'])} venues",
            f"{spread['offered_rate']}/s offered (80% of a closed loop's "
            f"{(e2e.get('sustained') or {}).get('closed_loop_per_s_with_dispatch')}/s with "
            f"dispatch running), {spread['api']['achieved_rate']}/s accepted; "
            f"{acked} of {spread['orders_created']} acknowledged at their venues and in our "
            f"books; p50 {spread['e2e_latency_ms_acknowledged']['p50']} ms, p99 "
            f"{spread['e2e_p99_ms_all_orders']} ms",
            "every accepted order at its venue, p99 POST -> venue ACK <= 250 ms",
            e2e.get("passed"), of=spread["api"]["achieved_rate"])
    runs = throttle.get("runs") or []
    if runs:
        add("send-limit use under a backlog",
            ", ".join(f"{r['utilization']} at L={r['limit']} (max {r['max_in_any_sliding_second']}"
                      f" in any second, {r['violations']} violations)" for r in runs),
            ">= 0.95 at each", all(r["utilization"] >= 0.95 for r in runs))
    if trickle.get("sides"):
        waiting = trickle["sides"]["waiting"]["cpu_ms_per_order"]
        per_task = trickle["sides"]["per_task"]["cpu_ms_per_order"]
        idle = (trickle["sides"]["waiting"].get("idle_cpu_ms_per_order") or {}).get(
            "dispatchers")
        add(f"dispatcher CPU per order at a trickle ({trickle['rate']} orders/s)",
            f"{waiting['dispatchers']} ms"
            + (f" ({idle} ms of it spent as much with no orders)" if idle is not None else "")
            + f" (a drain task an order, same run: {per_task['dispatchers']} ms); the FIX "
              f"holder {waiting['fix_holder']} ms",
            "<= 2 ms", trickle.get("passed"))
    one = latency.get("one_in_flight")
    if one:
        add("latency accuracy (venue latency fixed at 5 ms)",
            f"+{one['overhead_ms']} ms (median {one['median_us'] / 1000:.2f} ms, "
            f"{one['samples']} one at a time)", "<= +1.0 ms", latency.get("passed"))
    return out


def markdown(report: dict) -> str:
    table = rows(report)
    if not table:
        return ""
    lines = ["### The issue's table, from this run", "",
             "| figure | measured | target | | / the floor | / raw PostgreSQL |",
             "|---|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['figure']} | {r['measured']} | {r['target']} | {r['verdict']} | "
                     f"{r['to_floor'] if r['to_floor'] is not None else ''} | "
                     f"{r['to_raw_pg'] if r['to_raw_pg'] is not None else ''} |")
    return "\n".join(lines)
