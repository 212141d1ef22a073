"""The benchmark suite (issue 5): the whole stack over FIX 4.4 on PostgreSQL and Redis, nine
scenarios, bench/results/report.json, summary.md (first the "Performance and scale" issue's
table filled from this run: bench/issue_table.py) and PNG plots.

    python -m bench.suite [--quick] [--scenarios ingest,floor,e2e,throttle,backlog,latency,
                                                 trickle,soak,routing]

Benchmarks are not pass/fail: each scenario records its numbers and whether they met the
issue's target, and the command exits 0 either way; non-zero only when the stack could not
start. The database `oms_bench` is dropped and created afresh (`--database` chooses
another); Redis is a redis-server of the suite's own (`--redis-db N` uses database N of the
server at 127.0.0.1:6379 instead, flushed). The stack is bench/stack.py's; each scenario is
a module of bench/scenarios/. `routing` runs `python -m bench.routing` (a stack of its own:
three venues, market on, database `<--database>_routing`) and writes routing.json, .csv, .png.
`floor` starts the floor app (bench/floor/) beside the web, database `<--database>_floor`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime

from bench import issue_table, loadgen
from bench.db import Db
from bench.measure import log, wait_for
from bench.scenarios import SCENARIOS, SUMMARIES
from bench.stack import REPO, Stack, StackError

RESULTS = REPO / "bench" / "results"


class Suite:
    def __init__(self, *, quick: bool, scenarios: list[str], database: str = "oms_bench",
                 redis_url: str | None = None):
        self.quick = quick
        self.scenarios = scenarios
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "logs").mkdir(exist_ok=True)
        # Two venues besides the one most scenarios measure, for e2e's three.
        self.stack = Stack(log_dir=RESULTS / "logs", database=database, redis_url=redis_url,
                           extra_venues=("XFAST", "XSLOW"))
        self.report: dict = {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": quick,
            # The load average says whether anything else shared the cores meanwhile.
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(),
                        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
            "stack": {},
            "scenarios": {},
        }
        self.plots: dict = {}  # data for the PNGs
        self.db: Db | None = None
        self.saturation: float | None = None  # set by ingest; soak runs at half of it
        # Ingest's closed-loop orders/s (32 connections): e2e offers 80% of it.
        self.closed_loop_rate: float | None = None
        self.dispatchers_up: tuple | None = None  # (count, threads, env items)
        self.default_dispatchers = (self.stack.dispatcher_count, self.stack.dispatcher_threads)

    # --- lifecycle ---

    def start(self) -> None:
        s = self.stack
        log(f"fresh database {s.database_url}, Redis {s.redis_url} "
            f"({'its own redis-server' if s.redis_own else 'flushed'})")
        s.database_recreate()
        s.redis_start()
        s.exchange_start(rate_limit=1000)
        s.bootstrap()  # migrate, operator token, the venue at the exchange's FIX port, open
        s.limiter_aged()
        s.fix_start()  # returns once the holder has logged the venue on
        s.web_start()
        if "floor" in self.scenarios:
            s.floor_start()
        self.db = Db(s.database_url)
        self.report["stack"] = {
            "database": s.database_url, "redis": s.redis_url, "web": s.web_url,
            "exchange": f"{s.exchange_url} (FIX 4.4 on port {s.fix_port})",
            "web_processes": f"gunicorn {s.web_workers} workers x {s.web_threads} threads",
            "dispatchers": f"{s.dispatcher_count} processes x {s.dispatcher_threads} threads",
            "fix_holder": "one process (python -m omsproject.fixholder) holding the venue's "
                          "FIX session",
            "beat": "not run: the venue is forced open and reconciled once by the suite",
        }
        if s.floor_token:
            self.report["stack"]["floor"] = (
                f"{s.floor_url}: bench/floor/ under the web's gunicorn settings, database "
                f"{s.floor_database_url}")
        log(f"web {s.web_url}, exchange {s.exchange_url}, FIX port {s.fix_port}: logged on")

    def dispatchers(self, count: int | None = None, threads: int | None = None,
                    env: dict[str, str] | None = None) -> None:
        """The dispatchers running, as many as given (the stack's own numbers by default),
        with these settings in their environment (none but the stack's by default)."""
        wanted = (count or self.default_dispatchers[0], threads or self.default_dispatchers[1],
                  tuple(sorted((env or {}).items())))
        if self.dispatchers_up == wanted:
            return
        if self.dispatchers_up:
            self.stack.stop("dispatcher")
        log(f"starting dispatchers ({wanted[0]} x {wanted[1]} threads{', ' if env else ''}"
            f"{' '.join(f'{k}={v}' for k, v in wanted[2])})")
        self.stack.dispatcher_count, self.stack.dispatcher_threads = wanted[:2]
        self.stack.dispatcher_env = dict(wanted[2])
        self.stack.dispatch_queue_purge()
        self.stack.dispatchers_start()
        self.dispatchers_up = wanted
        # Warm up: a few sends through the whole path (and the limiter's start-up guard).
        self.clean()
        self.db.copy_backlog(5, prefix="warmup")
        self.stack.nudge(1)
        if not wait_for(lambda: self.db.answered() >= 5, timeout=30):
            log("warning: warm-up sends not answered within 30 s")
        self.clean()

    def clean(self) -> None:
        """Empty queue and order tables, no pending nudges: each scenario starts level. What
        is on the wire gets its answer first (else the holder would find reports for orders
        no longer in the books, and flag them)."""
        self.db.withdraw_queued()
        if not wait_for(lambda: self.db.queue_depth() == (0, 0), timeout=30, every=0.1):
            log(f"warning: requests still in flight before cleaning: {self.db.queue_depth()}")
        self.db.truncate()
        self.stack.dispatch_queue_purge()

    def load(self, *, rate: float, duration: float, **kw) -> loadgen.Report:
        return loadgen.run(url=self.stack.web_url, token=self.stack.token, rate=rate,
                           duration=duration, concurrency=kw.pop("concurrency", 64),
                           quiet=kw.pop("quiet", False), timeout=10, **kw)

    def run(self) -> None:
        for name in self.scenarios:
            log(f"--- {name}")
            started = time.monotonic()
            try:
                result = SCENARIOS[name](self)
            except Exception as exc:  # one scenario failing must not lose the others
                traceback.print_exc()
                result = {"error": repr(exc), "passed": False}
            result["wall_seconds"] = round(time.monotonic() - started, 1)
            self.report["scenarios"][name] = result
            log(f"{name}: {_verdict(result)} "
                f"{json.dumps(result.get('headline', result.get('error')), default=str)}")
            self.save()  # partial results survive an interrupted run

    # --- output ---

    def save(self) -> None:
        self.report["issue_table"] = issue_table.rows(self.report)
        self.report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.report["machine"]["loadavg_at_finish"] = [round(x, 2) for x in os.getloadavg()]
        (RESULTS / "report.json").write_text(json.dumps(self.report, indent=2, default=str))

    def summary(self) -> str:
        table = issue_table.markdown(self.report)
        lines = [table, ""] if table else []
        lines += ["| scenario | target | result | measured |", "|---|---|---|---|"]
        for name, r in self.report["scenarios"].items():
            measured = r.get("headline") or r.get("error")
            lines.append(f"| {name} | {r.get('target', '')} | "
                         f"{_verdict(r)} | {json.dumps(measured, default=str)} |")
        for name, r in self.report["scenarios"].items():
            if name in SUMMARIES and (table := SUMMARIES[name](r)):
                lines += ["", table]
        return "\n".join(lines)

    def write_outputs(self) -> None:
        self.save()
        try:
            from bench import plots

            written = plots.write_all(self.plots, RESULTS)
            self.report["plots"] = [str(p.relative_to(REPO)) for p in written]
        except Exception as exc:  # plots are a nicety; the numbers are in report.json
            traceback.print_exc()
            self.report["plots_error"] = repr(exc)
        self.save()
        text = self.summary()
        (RESULTS / "summary.md").write_text(
            f"# Benchmark summary ({'quick' if self.quick else 'full'}, "
            f"{self.report['started']})\n\nMachine: {self.report['machine']}\n\n{text}\n")
        print("\n" + text)


def _verdict(result: dict) -> str:
    """PASS / MISS against a scenario's target; a measure with no pass mark (floor) is
    neither, unless it failed to run."""
    if result.get("passed") is None and "error" not in result:
        return "measured"
    return "PASS" if result.get("passed") else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a few minutes)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma list from {','.join(SCENARIOS)}")
    # Several people on one machine each give their own, so no run drops another's data.
    parser.add_argument("--database", default="oms_bench",
                        help="PostgreSQL database to drop and create (default oms_bench)")
    parser.add_argument("--redis-db", type=int, default=None,
                        help="use (and flush) this database of the Redis at 127.0.0.1:6379 "
                             "instead of a redis-server of the suite's own")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown or not chosen:
        parser.error(f"unknown scenarios {unknown}; choose from {','.join(SCENARIOS)}")
    suite = Suite(quick=args.quick, scenarios=[s for s in SCENARIOS if s in chosen],
                  database=args.database,
                  redis_url=None if args.redis_db is None
                  else f"redis://127.0.0.1:6379/{args.redis_db}")
    try:
        suite.start()
    except (StackError, OSError, Exception) as exc:
        traceback.print_exc()
        log(f"the stack could not start: {exc}")
        suite.stack.stop()
        return 1
    try:
        suite.run()
    except KeyboardInterrupt:
        log("interrupted; writing what was measured")
    finally:
        codes = suite.stack.stop()
        suite.report["stack"]["exit_codes"] = codes
        suite.write_outputs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
