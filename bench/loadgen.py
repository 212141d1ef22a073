"""Open-loop load generator for the order API.

    python -m bench.loadgen --url http://127.0.0.1:8000 --token T --rate 1000 --duration 60
    python -m bench.loadgen --url ... --token T --max --concurrency 32 --duration 10
    python -m bench.loadgen --url ... --token T --max --batch 100   # POST /orders/batch

Open loop (`--rate`): request i is due at start + i / rate whatever happened to the ones
before it, and its latency runs from that *scheduled* time, not from when a connection
became free. A server that stalls for 200 ms therefore shows 200 ms of queueing on every
request due meanwhile instead of one slow sample (coordinated omission). The connection
pool is bounded (`--concurrency`); waiting for a connection is part of the latency.

`--max` is closed loop instead: `--concurrency` clients each send as soon as their previous
answer arrives, latency from the actual send. It finds throughput, not latency under load.

The mix: accounts ACC-0..ACC-{n-1} (an operator token trades for any account and they
auto-create), a few hundred symbols, ~70% LIMIT / 25% MARKET / 5% STOP, BUY/SELL, DAY/GTC,
and a fraction of the slots modify (PATCH) or cancel (DELETE) an order this run created;
each order is modified or cancelled at most once, so a well-behaved server answers 2xx.
`--batch N` (N > 1) makes each create a POST /api/v1/orders/batch of N orders; the report
adds the orders accepted and their rate, and counts each refused order as an error.

Errors (non-2xx, timeouts, connection errors) are counted and reported, never raised: the
exit code is non-zero only for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import uuid
from collections import Counter, defaultdict

import aiohttp

# The suite and the tests use these through this module.
from bench.load_report import KINDS, Report, latency_summary  # noqa: F401
from bench.order_mix import OrderMix


# --- the run ----------------------------------------------------------------------------------


class _Run:
    def __init__(self, *, url: str, token: str, mix: OrderMix, modify_fraction: float,
                 cancel_fraction: float, timeout: float, concurrency: int, seed: int | None,
                 batch: int = 1):
        self.base = url.rstrip("/") + "/api/v1/orders"
        self.batch = batch
        self.orders_accepted = 0
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.mix = mix
        self.modify_fraction = modify_fraction
        self.cancel_fraction = cancel_fraction
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.concurrency = concurrency
        self.rng = random.Random(None if seed is None else seed + 2)
        # Orders this run created and has not touched since: candidates to modify/cancel.
        self.touchable: list[tuple[str, dict]] = []
        self.created_ids: list[str] = []
        self.sent: Counter = Counter()
        self.status: dict[str, Counter] = defaultdict(Counter)
        self.errors: Counter = Counter()
        self.error_samples: list[str] = []
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.create_latency: list[tuple[float, float]] = []  # (due offset s, ms)
        self.per_second: dict[int, list] = defaultdict(lambda: [0, 0])
        self.in_flight = 0
        self.max_in_flight = 0
        self.last_answer = 0.0
        self.start = 0.0

    def pick(self) -> tuple[str, tuple | None]:
        roll = self.rng.random()
        if self.touchable and roll < self.modify_fraction + self.cancel_fraction:
            # Swap-remove a random one: each order is touched at most once.
            i = self.rng.randrange(len(self.touchable))
            self.touchable[i], self.touchable[-1] = self.touchable[-1], self.touchable[i]
            target = self.touchable.pop()
            return ("modify" if roll < self.modify_fraction else "cancel"), target
        return "create", None

    def _error(self, kind: str, what: str, detail: str) -> None:
        self.errors[what] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{kind}: {what}: {detail[:200]}")

    async def one(self, session: aiohttp.ClientSession, kind: str, target, due: float,
                  progress) -> None:
        """One request; `due` is its scheduled time (loop clock), where its latency starts."""
        self.sent[kind] += 1
        second = int(due - self.start)
        self.per_second[second][0] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        body = None
        try:
            if kind == "create" and self.batch > 1:
                body = [self.mix.new_order() for _ in range(self.batch)]
                request = session.post(f"{self.base}/batch", json={"orders": body})
            elif kind == "create":
                body = self.mix.new_order()
                request = session.post(self.base, json=body)
            elif kind == "modify":
                order_id, order = target
                request = session.patch(f"{self.base}/{order_id}",
                                        json=self.mix.modification(order))
            else:
                request = session.delete(f"{self.base}/{target[0]}")
            async with request as response:
                payload = await response.read()
                now = asyncio.get_running_loop().time()
            ms = (now - due) * 1000.0
            self.last_answer = max(self.last_answer, now)
            self.latency[kind].append(ms)
            self.status[kind][str(response.status)] += 1
            if 200 <= response.status < 300:
                self.per_second[second][1] += 1
                if kind == "create":
                    self.create_latency.append((due - self.start, ms))
                    if self.batch > 1:
                        self._batch_answered(json.loads(payload)["results"], body)
                    elif response.status == 201:
                        self.orders_accepted += 1
                        order_id = json.loads(payload)["orderId"]
                        self.created_ids.append(order_id)
                        self.touchable.append((order_id, body))
            else:
                self._error(kind, f"http_{response.status}",
                            payload.decode("utf-8", "replace"))
        except asyncio.TimeoutError:
            self._error(kind, "timeout", f"no answer in {self.timeout.total}s")
        except aiohttp.ClientConnectionError as exc:
            self._error(kind, "connection", repr(exc))
        except Exception as exc:  # a bad answer must not stop the run
            self._error(kind, "other", repr(exc))
        finally:
            self.in_flight -= 1
            if progress is not None:
                progress.update(1)

    def _batch_answered(self, results: list[dict], orders: list[dict]) -> None:
        for result, order in zip(results, orders):
            if result["error"] is not None:
                self._error("create", f"order_{result['status']}", json.dumps(result["error"]))
                continue
            self.orders_accepted += 1
            if result["status"] == 201:
                self.created_ids.append(result["orderId"])
                self.touchable.append((result["orderId"], order))

    def report(self, *, mode: str, url: str, offered: float | None, duration: float,
               elapsed: float) -> Report:
        all_status: Counter = Counter()
        for counts in self.status.values():
            all_status.update(counts)
        completed = sum(n for code, n in all_status.items() if code.startswith("2"))
        by_due = sorted(self.create_latency)
        timeline = []
        per_second_creates: dict[int, list[float]] = defaultdict(list)
        for due, ms in by_due:
            per_second_creates[int(due)].append(ms)
        for second in sorted(self.per_second):
            sent, ok = self.per_second[second]
            timeline.append({
                "second": second, "requests": sent, "ok": ok,
                "create_p99_ms": latency_summary(per_second_creates.get(second, []))["p99"],
            })
        return Report(
            mode=mode,
            url=url,
            run_id=self.mix.run_id,
            offered_rate=offered,
            duration=duration,
            elapsed=round(elapsed, 3),
            requests=sum(self.sent.values()),
            completed=completed,
            achieved_rate=round(completed / elapsed, 2) if elapsed > 0 else 0.0,
            by_kind={k: self.sent.get(k, 0) for k in KINDS},
            status_codes={"all": dict(all_status),
                          **{k: dict(v) for k, v in self.status.items()}},
            errors=dict(self.errors),
            error_count=sum(self.errors.values()),
            latency_ms={k: latency_summary(self.latency.get(k, [])) for k in KINDS},
            concurrency=self.concurrency,
            max_in_flight=self.max_in_flight,
            created_order_ids=self.created_ids,
            error_samples=self.error_samples,
            timeline=timeline,
            create_latencies_ms=[ms for _, ms in by_due],
            batch_size=self.batch,
            orders_accepted=self.orders_accepted,
        )


def _progress_bar(total: int | None, quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the bench extra is not installed: no bar, same run
        return None
    return tqdm(total=total, unit="req", dynamic_ncols=True, file=sys.stderr)


async def run_async(
    *,
    url: str,
    token: str,
    rate: float | None = None,
    duration: float = 10.0,
    max_mode: bool = False,
    concurrency: int = 64,
    modify_fraction: float = 0.05,
    cancel_fraction: float = 0.05,
    accounts: int = 200,
    symbols: int = 300,
    venue: str | None = None,
    timeout: float = 10.0,
    seed: int | None = None,
    run_id: str | None = None,
    quiet: bool = True,
    batch: int = 1,
) -> Report:
    if not 1 <= batch <= 500:
        raise BadArgument("--batch must be 1-500 (the API's most orders a batch)")
    _check(rate=rate, duration=duration, max_mode=max_mode, concurrency=concurrency,
           modify_fraction=modify_fraction, cancel_fraction=cancel_fraction,
           accounts=accounts, symbols=symbols, timeout=timeout)
    run_id = run_id or f"lg{uuid.uuid4().hex[:10]}"
    mix = OrderMix(run_id=run_id, accounts=accounts, symbols=symbols, venue=venue, seed=seed)
    state = _Run(url=url, token=token, mix=mix, modify_fraction=modify_fraction,
                 cancel_fraction=cancel_fraction, timeout=timeout, concurrency=concurrency,
                 seed=seed, batch=batch)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency,
                                     force_close=False, enable_cleanup_closed=True)
    progress = _progress_bar(None if max_mode else int(rate * duration), quiet)
    async with aiohttp.ClientSession(connector=connector, headers=state.headers,
                                     timeout=state.timeout) as session:
        state.start = start = loop.time() + 0.05  # a moment to set up before the first is due
        tasks: set[asyncio.Task] = set()
        if max_mode:
            end = start + duration

            async def client() -> None:
                while loop.time() < end:
                    kind, target = state.pick()
                    await state.one(session, kind, target, loop.time(), progress)

            await asyncio.sleep(max(0.0, start - loop.time()))
            await asyncio.gather(*(client() for _ in range(concurrency)))
        else:
            total = int(round(rate * duration))
            interval = 1.0 / rate
            for i in range(total):
                due = start + i * interval
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                kind, target = state.pick()
                task = loop.create_task(state.one(session, kind, target, due, progress))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)
    if progress is not None:
        progress.close()
    elapsed = max(state.last_answer - start, duration) if state.last_answer else duration
    return state.report(mode="max" if max_mode else "open", url=url,
                        offered=None if max_mode else float(rate), duration=duration,
                        elapsed=elapsed)


def run(**kwargs) -> Report:
    """The load generator, from synchronous code (tests, the suite). Arguments: run_async."""
    return asyncio.run(run_async(**kwargs))


# --- command line -----------------------------------------------------------------------------


class BadArgument(ValueError):
    pass


def _check(*, rate, duration, max_mode, concurrency, modify_fraction, cancel_fraction,
           accounts, symbols, timeout) -> None:
    if max_mode and rate is not None:
        raise BadArgument("give either --rate or --max, not both")
    if not max_mode and (rate is None or rate <= 0):
        raise BadArgument("--rate must be > 0 (or use --max)")
    if duration <= 0:
        raise BadArgument("--duration must be > 0")
    if concurrency < 1:
        raise BadArgument("--concurrency must be >= 1")
    if not (0 <= modify_fraction <= 1 and 0 <= cancel_fraction <= 1
            and modify_fraction + cancel_fraction < 1):
        raise BadArgument("--modify and --cancel are fractions in [0, 1) with a sum below 1")
    if accounts < 1 or symbols < 1:
        raise BadArgument("--accounts and --symbols must be >= 1")
    if timeout <= 0:
        raise BadArgument("--timeout must be > 0")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.loadgen",
        description="Open-loop load generator for POST/PATCH/DELETE /api/v1/orders.",
    )
    p.add_argument("--url", required=True, help="the OMS web root, e.g. http://127.0.0.1:8000")
    p.add_argument("--token", required=True, help="an API token (an operator's: any account)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--rate", type=float, help="requests per second, open loop")
    how.add_argument("--max", action="store_true", dest="max_mode",
                     help="closed loop, as fast as --concurrency clients can go")
    p.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    p.add_argument("--concurrency", type=int, default=64,
                   help="connection pool size (--max: clients) (default 64)")
    p.add_argument("--modify", type=float, default=0.05, dest="modify_fraction",
                   help="fraction of requests that modify an earlier order (default 0.05)")
    p.add_argument("--cancel", type=float, default=0.05, dest="cancel_fraction",
                   help="fraction of requests that cancel an earlier order (default 0.05)")
    p.add_argument("--accounts", type=int, default=200, help="ACC-0..ACC-(n-1) (default 200)")
    p.add_argument("--symbols", type=int, default=300, help="distinct symbols (default 300)")
    p.add_argument("--venue", help="venue code for every order (default: the OMS default); "
                                   "several, comma-separated, are taken in turn")
    p.add_argument("--timeout", type=float, default=10.0, help="per request, s (default 10)")
    p.add_argument("--batch", type=int, default=1,
                   help="orders a create sends, in one POST /orders/batch "
                        "(default 1: POST /orders)")
    p.add_argument("--seed", type=int, help="makes the order mix reproducible")
    p.add_argument("--run-id", help="clientOrderId prefix (default: random)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON here")
    p.add_argument("--with-ids", action="store_true",
                   help="include the created orderIds in the JSON report")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # exits 2 on a malformed command line
    options = vars(args).copy()
    json_path = options.pop("json")
    with_ids = options.pop("with_ids")
    try:
        report = run(**options)
    except BadArgument as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report.to_dict(with_ids=with_ids), f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
