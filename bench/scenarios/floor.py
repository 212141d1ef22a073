"""Floor: our intake against the floor and against raw PostgreSQL, side by side in one run.

The floor (bench/floor/) is Django + DRF with token authentication, one serializer and the
same three inserts in one transaction (order, CREATED event, NEW request), into tables shaped
like ours, and nothing else: what the framework costs. It runs beside the OMS web under the
same gunicorn command line (Stack._gunicorn: workers, threads, worker class), on the same
PostgreSQL server, and the same load generator loads both: closed loop (`--max`), 32
connections, creates only. Raw PostgreSQL is ingest's measure (Db.raw_insert_rate): the same
three rows per order into our own tables, one transaction each, from as many connections as
the web has threads, without HTTP or Django.

This machine's speed swings by 2x from one run to the next (and, shared, within seconds),
so the three take turns in short slices (rotated each round so none always goes first), and
each side's figure is its orders over its slices' time; the ratios are of those, with the
per-round ratios beside them to show the spread. CPU per order (CpuMeter) is counted over
each side's slices, for the processes that serve it (SERVING): what an order costs, the
figure least moved by whoever else shares the cores. Dispatchers are not running (as in ingest): our orders wait
in the queue, as the floor's do."""

from __future__ import annotations

from statistics import median

from bench import loadgen
from bench.measure import CpuMeter, log

SIDES = ("oms", "oms_batch", "floor", "raw_pg")
NAMES = {"oms": "our intake (POST /api/v1/orders)",
         "oms_batch": "our batch intake (POST /api/v1/orders/batch, 100 an request)",
         "floor": "the floor (bench/floor/)",
         "raw_pg": "raw PostgreSQL (same rows, no HTTP)"}
# The CpuMeter groups that do a side's work; the others (the idle FIX holder and exchange,
# a shared Redis) spend per second, not per order, and would count against the slower side.
SERVING = {"oms": ("web", "postgres", "redis", "load_generator"),
           "oms_batch": ("web", "postgres", "redis", "load_generator"),
           "floor": ("floor", "postgres", "load_generator"),
           "raw_pg": ("postgres", "load_generator")}
CONNECTIONS = 32
# Batch intake: 100 orders a request, closed loop; 4 connections keep 4 of the web's 6
# threads busy and leave the cores to them (measured by hand: 739/s at 4, 475/s at 2 of 500).
BATCH, BATCH_CONNECTIONS = 100, 4
# Short slices, many rounds: the machine's speed swings within 10 s when it is shared.
SLICE_S = 5
WARMUP_S = 3


def _load(suite, side: str, seconds: float) -> loadgen.Report:
    stack = suite.stack
    url, token = ((stack.floor_url, stack.floor_token) if side == "floor"
                  else (stack.web_url, stack.token))
    batch = side == "oms_batch"
    return loadgen.run(url=url, token=token, max_mode=True,
                       concurrency=BATCH_CONNECTIONS if batch else CONNECTIONS,
                       batch=BATCH if batch else 1, duration=seconds, modify_fraction=0,
                       cancel_fraction=0, timeout=30 if batch else 10, quiet=True)


def _slice(suite, side: str, n: int) -> dict:
    stack = suite.stack
    meter = CpuMeter(stack)
    if side == "raw_pg":
        # Metered from when its connections are open to before they close: their backends.
        raw = suite.db.raw_insert_rate(seconds=SLICE_S,
                                       threads=stack.web_workers * stack.web_threads,
                                       prefix=f"floor{n}raw", during=meter)
        orders, seconds, latencies, errors = raw["orders"], raw["seconds"], [], {}
    else:
        with meter:
            report = _load(suite, side, SLICE_S)
            orders = report.orders_accepted if side == "oms_batch" else \
                report.status_codes.get("create", {}).get("201", 0)
            seconds, latencies, errors = report.elapsed, report.create_latencies_ms, \
                report.errors
    return {"side": side, "orders": orders, "seconds": seconds, "latencies": latencies,
            "errors": errors, "cpu_s": dict(meter.seconds),
            "per_second": round(orders / seconds, 1) if seconds else 0.0}


def _side(side: str, slices: list[dict]) -> dict:
    orders = sum(s["orders"] for s in slices)
    seconds = sum(s["seconds"] for s in slices)
    cpu: dict[str, float] = {}
    for s in slices:
        for group, spent in s["cpu_s"].items():
            cpu[group] = cpu.get(group, 0.0) + spent
    per_order = {g: round(1000 * spent / max(orders, 1), 3) for g, spent in cpu.items()
                 if g in SERVING[side]}
    errors: dict[str, int] = {}
    for s in slices:
        for what, count in s["errors"].items():
            errors[what] = errors.get(what, 0) + count
    latency = loadgen.latency_summary([ms for s in slices for ms in s["latencies"]])
    return {"orders": orders, "seconds": round(seconds, 2),
            "orders_per_second": round(orders / seconds, 1) if seconds else None,
            "slices_per_second": [s["per_second"] for s in slices],
            "latency_ms": latency if latency["count"] else None,
            "errors": errors, "cpu_ms_per_order": per_order,
            "cpu_s_elsewhere": {g: round(spent, 3) for g, spent in cpu.items()
                                if g not in SERVING[side] and spent >= 0.001},
            "total_cpu_ms_per_order": round(sum(per_order.values()), 3)}


def _ratio(a, b) -> float | None:
    return round(a / b, 3) if a and b else None


def run(suite) -> dict:
    stack = suite.stack
    rounds = 4 if suite.quick else 12
    suite.clean()
    stack.floor_truncate()
    for side in ("oms", "oms_batch", "floor"):  # first requests: imports, connections
        _load(suite, side, WARMUP_S)
    slices: list[dict] = []
    for r in range(rounds):
        for side in SIDES[r % len(SIDES):] + SIDES[:r % len(SIDES)]:
            result = _slice(suite, side, len(slices))
            result["round"] = r
            slices.append(result)
            log(f"  round {r} {side}: {result['per_second']}/s "
                f"({result['orders']} orders in {result['seconds']} s)")
    suite.clean()
    stack.floor_truncate()

    sides = {side: _side(side, [s for s in slices if s["side"] == side]) for side in SIDES}
    rate = {side: sides[side]["orders_per_second"] for side in SIDES}
    by_round = [{s["side"]: s["per_second"] for s in slices if s["round"] == r}
                for r in range(rounds)]
    paired = [_ratio(row["oms"], row["floor"]) for row in by_round]
    paired = [x for x in paired if x is not None]
    ingest_raw = (suite.report["scenarios"].get("ingest") or {}).get("raw_postgres")
    suite.plots["floor"] = {"slices": [(s["side"], s["per_second"]) for s in slices],
                            "oms_cdf": [ms for s in slices if s["side"] == "oms"
                                        for ms in s["latencies"]],
                            "floor_cdf": [ms for s in slices if s["side"] == "floor"
                                          for ms in s["latencies"]]}
    ratios = {
        "oms_to_floor": _ratio(rate["oms"], rate["floor"]),
        "oms_batch_to_floor": _ratio(rate["oms_batch"], rate["floor"]),
        "oms_batch_to_raw_pg": _ratio(rate["oms_batch"], rate["raw_pg"]),
        "oms_batch_to_oms": _ratio(rate["oms_batch"], rate["oms"]),
        "oms_to_raw_pg": _ratio(rate["oms"], rate["raw_pg"]),
        "floor_to_raw_pg": _ratio(rate["floor"], rate["raw_pg"]),
        "oms_to_floor_by_round": paired,
        "oms_to_floor_by_round_median": round(median(paired), 3) if paired else None,
        # CPU an order costs us over what it costs the floor (higher: we spend more).
        "cpu_oms_over_floor": _ratio(sides["oms"]["total_cpu_ms_per_order"],
                                     sides["floor"]["total_cpu_ms_per_order"]),
    }
    latency = {side: sides[side]["latency_ms"] or {} for side in ("oms", "oms_batch", "floor")}
    return {
        "target": "the bar: our intake's orders/s over the floor's (1.0: we cost no more "
                  "than the framework); no pass mark yet",
        "passed": None,
        "how": {"connections": CONNECTIONS, "mode": "closed loop, creates only",
                "slice_s": SLICE_S, "rounds": rounds, "warmup_s": WARMUP_S,
                "web": f"gunicorn {stack.web_workers} workers x {stack.web_threads} threads "
                       f"(gthread), each side",
                "raw_pg_connections": stack.web_workers * stack.web_threads,
                "batch": f"{BATCH} orders a request, {BATCH_CONNECTIONS} connections, "
                         f"closed loop (its latencies are a whole batch's)"},
        "sides": sides,
        "ratios": ratios,
        "rounds": by_round,
        "raw_pg_in_ingest": ingest_raw,
        "note": "dispatchers not running; the load generator and PostgreSQL share the 2 "
                "cores with the web processes; each side loaded alone in its slices",
        "headline": {"oms_per_s": rate["oms"], "floor_per_s": rate["floor"],
                     "oms_batch_per_s": rate["oms_batch"],
                     "oms_batch_to_floor": ratios["oms_batch_to_floor"],
                     "raw_pg_per_s": rate["raw_pg"],
                     "oms_to_floor": ratios["oms_to_floor"],
                     "oms_to_raw_pg": ratios["oms_to_raw_pg"],
                     "cpu_oms_over_floor": ratios["cpu_oms_over_floor"],
                     "p50_ms": {s: latency[s].get("p50") for s in latency},
                     "p99_ms": {s: latency[s].get("p99") for s in latency}},
    }


def summary(result: dict) -> str:
    """The three sides as a table, for summary.md."""
    if "sides" not in result:
        return ""
    lines = [f"### floor: our intake (single and batch) against the floor and raw PostgreSQL ("
             f"{result['how']['connections']} connections, closed loop, "
             f"{result['how']['rounds']} x {result['how']['slice_s']} s slices each, "
             f"interleaved)", "",
             "| | orders/s | p50 ms | p99 ms | CPU ms/order | errors | our intake / this | "
             "this / the floor |",
             "|---|---|---|---|---|---|---|---|"]
    floor = result["sides"]["floor"]["orders_per_second"]
    oms = result["sides"]["oms"]["orders_per_second"]
    for side in SIDES:
        s = result["sides"][side]
        latency = s["latency_ms"] or {}
        lines.append(
            f"| {NAMES[side]} | {s['orders_per_second']} | {latency.get('p50', '-')} | "
            f"{latency.get('p99', '-')} | {s['total_cpu_ms_per_order']} | "
            f"{sum(s['errors'].values())} | {_ratio(oms, s['orders_per_second'])} | "
            f"{_ratio(s['orders_per_second'], floor)} |")
    by_round = result["ratios"]["oms_to_floor_by_round"]
    lines += ["", f"Our intake / the floor, round by round: {by_round}. CPU an order costs "
                  f"us over the floor's: {result['ratios']['cpu_oms_over_floor']}."]
    return "\n".join(lines)
