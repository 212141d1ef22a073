"""Routing quality: a seeded set of parent orders (bench/routing_cases.py) against the three
demo venues of the mock exchange, each order sent under every policy compared, one after the
other, from the same market.

Fairness: an order consumes the liquidity it takes, and the market would move between two
sends anyway, so each (order, policy) starts from the same books. Before every send the
order's books are set at all three venues (the exchange's PUT /venues/{v}/marketdata/{symbol}:
exact, and pinned: no walk, no refresh, so nothing moves while the order executes, and what
it takes stays taken), and the order is sent only once the OMS's own market data (the quotes
the router and GET /api/v1/marketdata read) show exactly those books, refreshed after they
were set. The policies take turns per order (rotated, so none is always first), in one run:
this machine's speed changes from minute to minute, and it affects every policy alike.

Policies: BEST_PRICE and PRO_RATA (the router), and the baseline BEST_TOP: the whole order
DIRECTED to the single venue with the best top of book at arrival, by the raw quote (lowest
ask for a BUY, highest bid for a SELL; fees not counted; ties to the larger size), as a
trader looking at the screen would. Each policy trades for an account of its own.

    python -m bench.routing [--orders 1000] [--quick]      (bench/routing.py)
"""

from __future__ import annotations

import csv
import json
import threading
import time
import urllib.error
import uuid
from decimal import Decimal
from pathlib import Path

from bench.measure import log
from bench.routing_cases import Case, best_top_venue, cases
from bench.routing_report import row_costs, summarize
from bench.stack import REPO, Stack, http_json

POLICIES = ("BEST_PRICE", "PRO_RATA", "BEST_TOP")
BASELINE = "BEST_TOP"
TERMINAL = ("FILLED", "CANCELED", "REJECTED", "EXPIRED")
MD_TIMEOUT_S = 5.0
DONE_TIMEOUT_S = 15.0


class RoutingRun:
    def __init__(self, stack: Stack, *, count: int, seed: int, lanes: int,
                 policies: tuple[str, ...] = POLICIES):
        self.stack = stack
        self.cases = cases(count, seed=seed)
        self.seed = seed
        self.lanes = lanes
        self.policies = policies
        self.run_id = uuid.uuid4().hex[:8]
        self.rows: list[dict] = []
        self._lock = threading.Lock()
        self._done = 0
        from django.conf import settings

        self.md_depth = settings.OMS_MARKET_DATA_DEPTH
        from orders.models import Order, OrderEvent
        from executions.models import Fill

        self.t = {"order": Order._meta.db_table, "event": OrderEvent._meta.db_table,
                  "fill": Fill._meta.db_table}
        from venues.models import Venue

        self.fees = {v.code: v.taker_fee_per_share for v in Venue.objects.all()}

    # --- the exchange's books and the OMS's view of them -----------------------------------

    def _exchange(self, method: str, path: str, body=None):
        return http_json(method, f"{self.stack.exchange_url}{path}", body)

    def freeze_all(self) -> None:
        """Pin every venue's book of every symbol as it is: no walk, so the exchange sends
        market data only when a case sets a book (the holder's load stays the orders')."""
        for venue in self.stack.venues:
            for symbol in sorted({c.symbol for c in self.cases}):
                book = self._exchange("GET", f"/venues/{venue}/marketdata/{symbol}")
                self._exchange("PUT", f"/venues/{venue}/marketdata/{symbol}",
                               {"bids": book["bids"], "asks": book["asks"],
                                "last": book["last"]["price"] if book["last"] else None})

    def pin(self, case: Case) -> float:
        """Set the case's books at every venue; returns the wall time before the first."""
        started = time.time()
        for venue, book in case.books.items():
            self._exchange("PUT", f"/venues/{venue}/marketdata/{case.symbol}",
                           book.as_json(case.mid))
        return started

    def _shown(self, levels) -> list:
        return list(levels if not self.md_depth else levels[:self.md_depth])

    def wait_market_data(self, case: Case, since: float) -> dict | None:
        """Until each venue's quote in the OMS (Redis) is a refresh sent after `since` that
        shows the case's book (as deep as the OMS subscribes); the quotes, or None."""
        from marketdata.selectors import venue_quote

        floor = int(since * 1000) / 1000  # SendingTime has milliseconds
        deadline = time.monotonic() + MD_TIMEOUT_S
        while time.monotonic() < deadline:
            quotes = {v: venue_quote(venue=v, symbol=case.symbol) for v in case.books}
            if all(q is not None and q.timestamp.timestamp() >= floor and not q.stale
                   and q.bids == self._shown(list(case.books[v].bids))
                   and q.asks == self._shown(list(case.books[v].asks))
                   for v, q in quotes.items()):
                return quotes
            time.sleep(0.01)
        return None

    # --- one order ----------------------------------------------------------------------

    def send(self, case: Case, policy: str, venue: str | None) -> tuple[str, float]:
        body = {**case.order_body(), "accountId": f"RB-{policy}",
                "clientOrderId": f"rb-{self.run_id}-{case.n}-{policy}"}
        if venue is None:
            body["routing"] = policy
        else:
            body.update(routing="DIRECTED", venue=venue)
        started = time.monotonic()
        answer = http_json("POST", f"{self.stack.web_url}/api/v1/orders", body,
                           headers={"Authorization": f"Token {self.stack.token}"})
        return answer["orderId"], (time.monotonic() - started) * 1000

    def wait_done(self, conn, order_id: str) -> bool:
        deadline = time.monotonic() + DONE_TIMEOUT_S
        sql = (f"SELECT o.status, (SELECT count(*) FROM {self.t['order']} c WHERE "
               f"c.parent_id = o.id AND c.status <> ALL(%s)) FROM {self.t['order']} o "
               f"WHERE o.id = %s")
        while time.monotonic() < deadline:
            status, live_children = conn.execute(sql, (list(TERMINAL), order_id)).fetchone()
            if status in TERMINAL and not live_children:
                return True
            time.sleep(0.01)
        return False

    def measure(self, conn, order_id: str) -> dict:
        status, quantity, filled, created, updated = conn.execute(
            f"SELECT status, quantity, filled_quantity, created_at, updated_at "
            f"FROM {self.t['order']} WHERE id = %s", (order_id,)).fetchone()
        by_venue = conn.execute(
            f"SELECT o.venue_id, sum(f.last_quantity), sum(f.last_quantity * f.last_price), "
            f"coalesce(sum(f.fee), 0) FROM {self.t['fill']} f JOIN {self.t['order']} o "
            f"ON o.id = f.order_id WHERE (o.id = %s OR o.parent_id = %s) "
            f"AND f.state = 'APPLIED' GROUP BY o.venue_id", (order_id, order_id)).fetchall()
        children, venues = conn.execute(
            f"SELECT count(*), count(DISTINCT venue_id) FROM {self.t['order']} "
            f"WHERE parent_id = %s", (order_id,)).fetchone()
        routed, failed = conn.execute(
            f"SELECT count(*) FILTER (WHERE type = 'ROUTED'), "
            f"count(*) FILTER (WHERE type = 'ROUTE_FAILED') FROM {self.t['event']} "
            f"WHERE order_id = %s", (order_id,)).fetchone()
        filled_sum = sum((r[1] for r in by_venue), Decimal(0))
        return {
            "status": status, "filled": str(filled_sum),
            # The order's cumQty (a parent's: rolled up) must be its fills' sum (invariant 10).
            "cum_matches": filled == filled_sum,
            "notional": str(sum((r[2] for r in by_venue), Decimal(0))),
            "fees": str(sum((r[3] for r in by_venue), Decimal(0))),
            "by_venue": {r[0]: str(r[1]) for r in by_venue},
            # A DIRECTED order is its own only child.
            "children": children or 1, "child_venues": venues or 1,
            "reroutes": max(routed - 1, 0), "route_failed": failed,
            "done_ms": round((updated - created).total_seconds() * 1000, 1),
        }

    def one(self, conn, case: Case, policy: str) -> dict:
        row = {"n": case.n, "policy": policy, "symbol": case.symbol, "side": case.side,
               "order_type": case.order_type, "quantity": case.quantity,
               "limit_price": None if case.limit_price is None else str(case.limit_price),
               "mid": str(case.mid), "venue": None, "error": None}
        since = self.pin(case)
        quotes = self.wait_market_data(case, since)
        if quotes is None:
            return {**row, "error": "market data did not show the books in time"}
        mids = [q for q in quotes.values() if q.bid is not None and q.ask is not None]
        arrival = (max(q.bid for q in mids) + min(q.ask for q in mids)) / 2
        if arrival != case.mid:  # the OMS's consolidated mid is the pinned one
            return {**row, "error": f"arrival mid {arrival} is not the books' {case.mid}"}
        venue = best_top_venue(case) if policy == BASELINE else None
        row["venue"] = venue
        try:
            order_id, post_ms = self.send(case, policy, venue)
        except (urllib.error.URLError, OSError, KeyError) as exc:
            detail = exc.read().decode()[:300] if isinstance(exc, urllib.error.HTTPError) else ""
            return {**row, "error": f"POST failed: {exc} {detail}".strip()}
        row.update(order_id=order_id, post_ms=round(post_ms, 1))
        if not self.wait_done(conn, order_id):
            row["error"] = f"not done within {DONE_TIMEOUT_S} s"
        row.update(self.measure(conn, order_id))
        row.update(row_costs(row))
        return row

    # --- the run ------------------------------------------------------------------------

    def _lane(self, symbols: set[str]) -> None:
        import psycopg

        with psycopg.connect(self.stack.database_url, autocommit=True) as conn:
            for case in self.cases:
                if case.symbol not in symbols:
                    continue
                turn = case.n % len(self.policies)
                for policy in self.policies[turn:] + self.policies[:turn]:
                    try:
                        row = self.one(conn, case, policy)
                    except Exception as exc:  # one order's failure is a row, not the run's end
                        log(f"  routing: case {case.n} {policy}: {exc!r}")
                        row = {"n": case.n, "policy": policy, "error": repr(exc)}
                    with self._lock:
                        self.rows.append(row)
                with self._lock:
                    self._done += 1
                    if self._done % 50 == 0:
                        log(f"  routing: {self._done}/{len(self.cases)} orders")

    def run(self) -> dict:
        self.freeze_all()
        symbols = sorted({c.symbol for c in self.cases})
        groups = [set(symbols[i::self.lanes]) for i in range(min(self.lanes, len(symbols)))]
        started = time.monotonic()
        threads = [threading.Thread(target=self._lane, args=(g,)) for g in groups]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
        self.rows.sort(key=lambda r: (r["n"], self.policies.index(r["policy"])))
        return {"seconds": round(seconds, 1), "books_agree": self.books_agree(),
                **summarize(self.rows, policies=list(self.policies), baseline=BASELINE)}

    def books_agree(self) -> dict:
        """The exchange's trade log against our fills, per venue (shares): the outside view."""
        import psycopg

        out = {}
        with psycopg.connect(self.stack.database_url, autocommit=True) as conn:
            ours = dict(conn.execute(
                f"SELECT venue_id, sum(last_quantity) FROM {self.t['fill']} "
                f"WHERE state = 'APPLIED' GROUP BY venue_id").fetchall())
        for venue in self.stack.venues:
            trades = self._exchange("GET", f"/venues/{venue}/trades")["trades"]
            theirs = sum((Decimal(t["lastQty"]) for t in trades if not t["busted"]), Decimal(0))
            out[venue] = {"exchange": str(theirs), "oms": str(ours.get(venue, Decimal(0))),
                          "equal": theirs == ours.get(venue, Decimal(0))}
        return out

    # --- output -------------------------------------------------------------------------

    CSV_FIELDS = ("n", "policy", "symbol", "side", "order_type", "quantity", "limit_price",
                  "mid", "venue", "order_id", "status", "filled", "notional", "fees",
                  "cost_bps", "allin_bps", "children", "child_venues", "reroutes",
                  "route_failed", "post_ms", "done_ms", "by_venue", "error")

    def write(self, result: dict, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        (out / "routing.json").write_text(json.dumps(result, indent=2, default=str))
        with (out / "routing.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in self.rows:
                writer.writerow({**row, "by_venue": json.dumps(row.get("by_venue", {}))})
        written = [out / "routing.json", out / "routing.csv"]
        from bench import plots

        written.append(plots.routing_plot(result, self.rows, out / "routing.png"))
        return written


def stack_for(*, log_dir: Path, database: str, redis_url: str | None, pg: str,
              seed: int) -> Stack:
    """The three demo venues, market on; sized for a 2-core machine (one order at a time
    per lane: the API and dispatch are not what is measured)."""
    return Stack(log_dir=log_dir, database=database, redis_url=redis_url, pg=pg,
                 dispatchers=1, dispatcher_threads=6, web_workers=2, web_threads=2,
                 demo_venues=True, seed=seed)


def start(stack: Stack) -> None:
    stack.database_recreate()
    stack.redis_start()
    stack.exchange_start(rate_limit=100)  # each demo venue has its own (--venue-config)
    stack.bootstrap()
    stack.limiter_aged()
    stack.fix_start()
    stack.web_start()
    stack.dispatchers_start()


def headline(result: dict) -> dict:
    vs = result["versus_baseline"].get("BEST_PRICE", {})
    pol = result["policies"]
    return {
        "orders": result["orders"],
        "cost_vs_mid_bps": {p: s["cost_bps"]["mean"] for p, s in pol.items()},
        "allin_vs_mid_bps": {p: s["allin_bps"]["mean"] for p, s in pol.items()},
        "fill_rate": {p: s["fill_rate"] for p, s in pol.items()},
        # Over every order both filled (BEST_PRICE often fills more, deeper, so dearer per
        # share), and like for like: over the orders both filled in full.
        "best_price_improvement_allin_bps": vs.get("improvement_allin_bps", {}).get("mean"),
        "best_price_improvement_allin_bps_both_full":
            vs.get("improvement_allin_bps_both_full", {}).get("mean"),
    }


def measure(stack: Stack, *, count: int, seed: int, lanes: int, out: Path) -> dict:
    """Run the cases on a started stack; write routing.json, .csv and .png into `out`."""
    runner = RoutingRun(stack, count=count, seed=seed, lanes=lanes)
    log(f"routing: {count} orders x {len(runner.policies)} policies, seed {seed}, "
        f"{lanes} lanes")
    result = {"orders": count, "seed": seed, "lanes": lanes, "baseline": BASELINE,
              "design": "books pinned at every venue before each (order, policy); policies "
                        "take turns per order, rotated; arrival mid = the OMS's consolidated "
                        "mid once its quotes show the pinned books",
              "md_depth": runner.md_depth,
              "fees": {v: str(f) for v, f in runner.fees.items()}, **runner.run()}
    result["headline"] = headline(result)
    result["files"] = [str(p) for p in runner.write(result, out)]
    return result


def run(suite) -> dict:
    """In the suite: `python -m bench.routing` in a process of its own (Django there is set
    up on its own database, `<suite's>_routing`), with a stack of its own (three venues,
    market on, a redis-server of its own) beside the suite's idle one."""
    import subprocess
    import sys

    from bench.suite import RESULTS

    command = [sys.executable, "-m", "bench.routing", "--orders", "50" if suite.quick else
               "1000", "--pg", suite.stack.pg, "--database", f"{suite.stack.database}_routing",
               "--out", str(RESULTS), "--log-dir", str(RESULTS / "logs" / "routing"), "--drop"]
    started = time.time()
    done = subprocess.run(command, cwd=REPO, timeout=3 * 3600)
    written = RESULTS / "routing.json"
    if not written.exists() or written.stat().st_mtime < started:
        return {"error": f"python -m bench.routing exited {done.returncode}", "passed": False}
    result = json.loads(written.read_text())
    if done.returncode != 0:
        result["error"] = (f"python -m bench.routing exited {done.returncode}: orders not "
                           "measured, or the exchange's trades and our fills differ")
    best = result["versus_baseline"]["BEST_PRICE"]
    pol = result["policies"]
    result["target"] = ("BEST_PRICE fills at least as much as the best-top baseline and, on "
                        "the orders both fill in full, costs no more (fees included)")
    result["passed"] = bool(
        (best["improvement_allin_bps_both_full"]["mean"] or 0) >= 0
        and (pol["BEST_PRICE"]["fill_rate"] or 0) >= (pol[BASELINE]["fill_rate"] or 0))
    return result
