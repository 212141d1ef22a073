"""How the suite measures: waiting for a condition, percentiles, the CPU each part of the
stack spends per order, queue depth and RSS sampled during a run, and its progress log."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

from bench import loadgen


def log(message: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def pct(samples: list[float], p: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, -(-p * len(ordered) // 100))
    return round(ordered[int(rank) - 1], 3)


def summary_ms(samples: list[float]) -> dict:
    return loadgen.latency_summary(samples)


def wait_for(predicate, *, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


class CpuMeter:
    """CPU seconds (user + system) each part of the stack spent between enter and exit: what
    an order costs, and so the most orders/s the 2 cores can carry, whatever the latency."""

    def __init__(self, stack):
        self.stack = stack
        self.seconds: dict[str, float] = {}

    def _groups(self) -> dict[str, list]:
        import psutil

        def tree(pids: list[int], *, children: bool = True) -> list:
            procs = []
            for pid in pids:
                try:
                    proc = psutil.Process(pid)
                    procs += [proc, *(proc.children(recursive=True) if children else ())]
                except psutil.Error:
                    pass
            return procs

        if self.stack.redis_own:
            redis = tree(self.stack.pids("redis"))
        else:  # a shared server: all of it, whoever else uses it
            redis = [p for p in psutil.process_iter(["name"])
                     if (p.info["name"] or "").startswith("redis-server")]
        return {"web": tree(self.stack.pids("web")), "floor": tree(self.stack.pids("floor")),
                "dispatchers": tree(self.stack.pids("dispatcher")),
                "fix_holder": tree(self.stack.pids("fix")),
                "exchange": tree(self.stack.pids("exchange")),
                "postgres": tree(self._postgres_pids(), children=False),
                "redis": redis, "load_generator": [psutil.Process()]}

    def _postgres_pids(self) -> list[int]:
        """The server's own processes and the backends of the bench database (and the
        floor's), not those of whoever else shares the server (other databases' tests, say)."""
        import psycopg

        with psycopg.connect(self.stack.database_url, autocommit=True) as conn:
            return [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE (datname IN (current_database(), %s) "
                "AND pid <> pg_backend_pid()) OR backend_type <> 'client backend'",
                (self.stack.floor_database,))]

    @staticmethod
    def _cpu(procs: list) -> dict[int, float]:
        import psutil

        out = {}
        for proc in procs:
            try:
                times = proc.cpu_times()
                out[proc.pid] = times.user + times.system
            except psutil.Error:
                pass
        return out

    def __enter__(self):
        self._groups_at_start = self._groups()
        self._start = {g: self._cpu(p) for g, p in self._groups_at_start.items()}
        self._wall = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.wall_seconds = time.monotonic() - self._wall
        for group, procs in self._groups().items():
            before = self._start.get(group, {})
            # A backend that connected meanwhile started from zero.
            self.seconds[group] = round(sum(
                cpu - before.get(pid, 0.0) for pid, cpu in self._cpu(procs).items()), 3)

    def per_order_ms(self, orders: int) -> dict:
        per = {g: round(1000 * s / max(orders, 1), 3) for g, s in self.seconds.items() if s}
        total = round(sum(per.values()), 3)
        cores = os.cpu_count() or 0
        return {"orders": orders, "wall_seconds": round(self.wall_seconds, 2),
                "cpu_ms_per_order": per, "total_cpu_ms_per_order": total,
                # Every core busy, nothing else running: the most this machine could carry.
                "cpu_bound_orders_per_second": round(cores * 1000 / total, 1) if total else None}


class Sampler:
    """Queue depth (QUEUED, SENDING) and process RSS, sampled in a thread during a run."""

    def __init__(self, db_url: str, *, every: float = 0.5,
                 pids: dict[str, list[int]] | None = None):
        self.db_url = db_url
        self.every = every
        self.pids = pids or {}
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _rss_mb(self) -> dict[str, float]:
        import psutil

        out = {}
        for group, pids in self.pids.items():
            total = 0
            for pid in pids:
                try:
                    proc = psutil.Process(pid)
                    total += proc.memory_info().rss
                    for child in proc.children(recursive=True):
                        total += child.memory_info().rss
                except psutil.Error:
                    pass
            out[group] = round(total / 2**20, 2)
        return out

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self._stop.is_set():
                queued, sending = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'QUEUED'), "
                    "count(*) FILTER (WHERE state = 'SENDING') FROM dispatch_venuerequest"
                ).fetchone()
                sample = {"t": round(time.monotonic() - self.t0, 2), "queued": queued,
                          "sending": sending}
                if self.pids:
                    sample["rss_mb"] = self._rss_mb()
                self.samples.append(sample)
                self._stop.wait(self.every)
