"""A smoke run of the bench stack, so the suite stays runnable: start it as the suite does
(the exchange's FIX acceptor, the FIX holder, gunicorn, a dispatcher), send a few orders
through the API, see each acknowledged by the venue (ExecutionReport 150=0) both in the
exchange's message log and in our books, then stop it: every process exits 0 and the holder
logs out at the venue before the venue goes. Prints one JSON line; exit status 0 when all of
that held.

    python -m bench.smoke [--database oms_bench_smoke] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import loadgen
from bench.db import Db
from bench.measure import wait_for
from bench.stack import SENDER_COMP_ID, Stack
from bench.venue_log import acknowledged


def _start(stack: Stack) -> None:
    stack.database_recreate()
    stack.redis_start()
    stack.exchange_start(rate_limit=100)
    stack.bootstrap()
    stack.limiter_aged()
    stack.fix_start()
    stack.web_start()
    stack.dispatchers_start()


def _orders(stack: Stack, count: int) -> dict:
    since = stack.exchange_stats()["lastSeq"]
    report = loadgen.run(url=stack.web_url, token=stack.token, rate=10, duration=count / 10,
                         modify_fraction=0, cancel_fraction=0, concurrency=4, timeout=10)
    db = Db(stack.database_url)
    try:
        created = report.status_codes.get("create", {}).get("201", 0)
        wait_for(lambda: len(db.e2e_acks(report.run_id)["latencies_ms"]) >= created,
                 timeout=30, every=0.2)
        books = db.e2e_acks(report.run_id)
    finally:
        db.conn.close()
    at_venue = acknowledged(stack.exchange_messages(since)) & books["cl_ord_ids"]
    return {"created": created, "api_errors": report.error_count,
            "acked_in_books": len(books["latencies_ms"]), "acked_at_venue": len(at_venue),
            "unacked": books["unacked"],
            "e2e_ms_max": round(max(books["latencies_ms"], default=0), 1)}


def _stop(stack: Stack) -> dict:
    """Stop in the suite's order, and look at the venue between the holder and the venue."""
    codes = {**stack.stop("web"), **stack.stop("dispatcher"), **stack.stop("fix")}
    try:
        sessions = [s for s in stack.exchange_stats()["sessions"]
                    if s["clientCompId"] == SENDER_COMP_ID]
    except OSError:  # the exchange never came up
        sessions = []
    codes.update(stack.stop("exchange"))
    codes.update(stack.stop("redis"))
    return {"exit_codes": codes, "venue_sessions": sessions,
            "left_running": sorted(stack.processes)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.smoke",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL, without a database")
    parser.add_argument("--database", default="oms_bench_smoke",
                        help="database to drop and create (default oms_bench_smoke)")
    parser.add_argument("--redis-url", default=None,
                        help="a Redis database to flush and use (default: a redis-server of "
                             "the stack's own)")
    parser.add_argument("--orders", type=int, default=5)
    parser.add_argument("--log-dir", type=Path, help="process logs (default: a temp dir)")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args(argv)
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="oms-bench-smoke-"))
    stack = Stack(log_dir=log_dir, database=args.database, redis_url=args.redis_url,
                  pg=args.pg, dispatchers=1, dispatcher_threads=2, web_workers=1)
    result: dict = {"log_dir": str(log_dir)}
    started = time.monotonic()
    try:
        _start(stack)
        result["started_s"] = round(time.monotonic() - started, 1)
        result["orders"] = _orders(stack, args.orders)
    except Exception as exc:
        traceback.print_exc()
        result["error"] = repr(exc)
    finally:
        result["stop"] = _stop(stack)
        if args.drop:
            stack.database_drop()
    result["seconds"] = round(time.monotonic() - started, 1)
    orders, stop = result.get("orders") or {}, result["stop"]
    result["ok"] = bool(
        "error" not in result and orders.get("created") == args.orders
        and orders["acked_in_books"] == orders["acked_at_venue"] == args.orders
        and not orders["api_errors"]
        and all(code == 0 for code in stop["exit_codes"].values())
        and not stop["left_running"]
        and all(not s["loggedOn"] and s["logouts"] >= 1 for s in stop["venue_sessions"])
        and stop["venue_sessions"])
    print(json.dumps(result, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
