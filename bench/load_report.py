"""What a load-generator run reports: requests, status codes, errors, latency percentiles (ms)
per kind, and a per-second timeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

KINDS = ("create", "modify", "cancel")
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9))



def latency_summary(samples_ms: list[float]) -> dict:
    """count, mean, p50/p90/p99/p99.9 (nearest rank) and max, in ms."""
    if not samples_ms:
        return {"count": 0, "mean": None, **{k: None for k, _ in PERCENTILES}, "max": None}
    ordered = sorted(samples_ms)
    n = len(ordered)
    out = {"count": n, "mean": round(sum(ordered) / n, 3)}
    for name, pct in PERCENTILES:
        rank = max(1, -(-pct * n // 100))  # nearest rank: ceil(p/100 * n)
        out[name] = round(ordered[int(rank) - 1], 3)
    out["max"] = round(ordered[-1], 3)
    return out


@dataclass
class Report:
    mode: str  # "open" (fixed rate) or "max" (closed loop)
    url: str
    run_id: str
    offered_rate: float | None  # requests/s scheduled (open loop); None for --max
    duration: float  # the schedule's length, s
    elapsed: float  # first due time to last answer, s
    requests: int  # requests sent
    completed: int  # requests answered 2xx
    achieved_rate: float  # completed / elapsed
    by_kind: dict  # kind -> requests sent
    status_codes: dict  # "201" -> count, per kind and in all
    errors: dict  # "http_409" / "timeout" / "connection" / "other" -> count
    error_count: int
    latency_ms: dict  # kind -> latency_summary (answered requests, any status)
    concurrency: int
    max_in_flight: int  # the most requests outstanding at once (queued for a connection too)
    created_order_ids: list = field(default_factory=list, repr=False)
    error_samples: list = field(default_factory=list)  # a few, to see what went wrong
    # Per second of the run (by due time): requests, 2xx answers, creates' p99 ms.
    timeline: list = field(default_factory=list, repr=False)
    # Every create's latency in ms, in due-time order (for CDF plots); not in to_dict().
    create_latencies_ms: list = field(default_factory=list, repr=False)
    batch_size: int = 1  # orders a create sent (> 1: POST /orders/batch)
    orders_accepted: int = 0  # orders answered 201 or 200, alone or in a batch

    def to_dict(self, *, with_ids: bool = False) -> dict:
        data = asdict(self)
        data.pop("create_latencies_ms")
        if not with_ids:
            data.pop("created_order_ids")
        return data

    def text(self) -> str:
        lines = [
            f"mode {self.mode}, {self.url}, run {self.run_id}",
            f"offered   {self.offered_rate if self.offered_rate is not None else 'max'}"
            f"{'/s' if self.offered_rate is not None else ''} for {self.duration:g} s, "
            f"concurrency {self.concurrency}",
            f"achieved  {self.achieved_rate:.1f}/s 2xx ({self.completed}/{self.requests} in "
            f"{self.elapsed:.2f} s); most in flight {self.max_in_flight}",
            f"orders    {self.orders_accepted} accepted "
            f"({self.orders_accepted / self.elapsed if self.elapsed else 0:.1f}/s)"
            + (f" in batches of {self.batch_size}" if self.batch_size > 1 else ""),
            f"requests  " + ", ".join(f"{k} {v}" for k, v in self.by_kind.items()),
            f"status    " + ", ".join(f"{k} {v}" for k, v in sorted(
                self.status_codes.get("all", {}).items())),
            f"errors    {self.error_count}"
            + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) + ")"
               if self.errors else ""),
            "latency ms      count      p50      p90      p99    p99.9      max",
        ]
        for kind in KINDS:
            s = self.latency_ms.get(kind) or latency_summary([])
            if not s["count"]:
                continue
            lines.append(
                f"  {kind:<10} {s['count']:>8} {s['p50']:>8.2f} {s['p90']:>8.2f} "
                f"{s['p99']:>8.2f} {s['p999']:>8.2f} {s['max']:>8.2f}"
            )
        for sample in self.error_samples[:3]:
            lines.append(f"  e.g. {sample}")
        return "\n".join(lines)
