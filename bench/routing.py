"""The routing-quality benchmark: a seeded set of parent orders against the mock exchange's
three demo venues (market on), each sent under BEST_PRICE, PRO_RATA and the baseline
BEST_TOP (all of it DIRECTED to the venue with the best raw top of book) from the same books;
average execution price against the baseline and against the arrival mid in basis points,
fees, fill rate, children per parent, latency. How it is kept fair: bench/scenarios/routing.py.

    python -m bench.routing [--orders 1000] [--quick] [--seed 1] [--lanes 3]
                            [--database oms_bench_routing] [--redis-url URL] [--out DIR]

Writes routing.json, routing.csv (a row per order and policy) and routing.png into --out
(bench/results/ by default) and prints the summary as one JSON line; exit status 0 when every
order was measured and the exchange's trade log equals our fills, else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.measure import log
from bench.scenarios import routing
from bench.stack import REPO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.routing",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000, help="parent orders (default 1000)")
    parser.add_argument("--quick", action="store_true", help="50 orders (a smoke run)")
    parser.add_argument("--seed", type=int, default=1, help="the cases' seed (default 1)")
    parser.add_argument("--lanes", type=int, default=3,
                        help="symbols worked at once, one order at a time each (default 3)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL, without a database")
    parser.add_argument("--database", default="oms_bench_routing",
                        help="database to drop and create (default oms_bench_routing)")
    parser.add_argument("--redis-url", default=None,
                        help="a Redis database to flush and use (default: a redis-server of "
                             "the stack's own)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results",
                        help="where routing.json, .csv and .png go (default bench/results)")
    parser.add_argument("--log-dir", type=Path, help="process logs (default: a temp dir)")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args(argv)
    count = 50 if args.quick else args.orders
    if count < 1 or args.lanes < 1:
        parser.error("--orders and --lanes must be at least 1")
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="oms-bench-routing-"))
    stack = routing.stack_for(log_dir=log_dir, database=args.database,
                              redis_url=args.redis_url, pg=args.pg, seed=args.seed)
    started = time.monotonic()
    result: dict = {"log_dir": str(log_dir)}
    try:
        routing.start(stack)
        log(f"stack up in {time.monotonic() - started:.1f} s: web {stack.web_url}, "
            f"exchange {stack.exchange_url}, venues {', '.join(stack.venues)} logged on")
        result.update(routing.measure(stack, count=count, seed=args.seed, lanes=args.lanes,
                                      out=args.out))
    except Exception as exc:
        traceback.print_exc()
        result["error"] = repr(exc)
    finally:
        result["exit_codes"] = stack.stop()
        if args.drop:
            stack.database_drop()
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    ok = ("error" not in result
          and all(p["errors"] == 0 and p["orders"] == count
                  for p in result["policies"].values())
          and all(v["equal"] for v in result["books_agree"].values()))
    result["ok"] = ok
    print(json.dumps({k: result[k] for k in ("ok", "wall_seconds", "headline", "books_agree",
                                             "error", "log_dir", "files") if k in result},
                     default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
