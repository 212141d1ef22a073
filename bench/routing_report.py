"""The routing benchmark's numbers, from its rows (one per parent order and policy): cost
against the arrival mid in basis points, improvement against the baseline policy, fees, fill
rate, children per parent and latency. Pure, so it is tested on its own.

Signs: a cost is positive when the order paid more than the arrival mid (a BUY) or got less
(a SELL); an improvement is positive when the policy cost less than the baseline did on the
same order. Prices are averaged over the shares that filled; `allin` adds the fees paid per
share (negative fees, rebates, lower it).
"""

from __future__ import annotations

import math
import statistics
from decimal import Decimal

BPS = Decimal(10_000)


def row_costs(row: dict) -> dict:
    """cost_bps and allin_bps of one row ({} when nothing filled)."""
    filled = Decimal(row["filled"])
    if not filled:
        return {"cost_bps": None, "allin_bps": None, "fee_per_share": None}
    mid = Decimal(row["mid"])
    average = Decimal(row["notional"]) / filled
    sign = 1 if row["side"] == "BUY" else -1
    fee_per_share = Decimal(row["fees"]) / filled
    cost = sign * (average - mid) / mid * BPS
    return {"cost_bps": float(cost), "allin_bps": float(cost + fee_per_share / mid * BPS),
            "fee_per_share": float(fee_per_share)}


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def _mean_ci(values: list[float]) -> dict:
    """Mean with a 95% confidence half-width (normal approximation), rounded."""
    if not values:
        return {"mean": None, "ci95": None, "n": 0}
    half = 1.96 * statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    return {"mean": round(statistics.fmean(values), 3),
            "ci95": None if half is None else round(half, 3), "n": len(values)}


def _weighted_bps(rows: list[dict], field: str) -> float | None:
    """Share-weighted: each filled share counts once (a large order weighs more)."""
    shares = sum(float(r["filled"]) for r in rows if r[field] is not None)
    if not shares:
        return None
    return round(sum(r[field] * float(r["filled"]) for r in rows if r[field] is not None)
                 / shares, 3)


def policy_summary(rows: list[dict]) -> dict:
    ok = [r for r in rows if not r.get("error")]
    ordered = sum(Decimal(r["quantity"]) for r in ok)
    filled = sum(Decimal(r["filled"]) for r in ok)
    fees = sum(Decimal(r["fees"]) for r in ok)
    with_fills = [r for r in ok if r["cost_bps"] is not None]
    by_venue: dict[str, Decimal] = {}
    for r in ok:
        for venue, shares in r["by_venue"].items():
            by_venue[venue] = by_venue.get(venue, Decimal(0)) + Decimal(shares)
    done = [r["done_ms"] for r in ok if r.get("done_ms") is not None]
    children = [r["children"] for r in ok]
    return {
        "orders": len(rows), "errors": len(rows) - len(ok),
        "orders_with_fills": len(with_fills),
        "fully_filled": sum(1 for r in ok if Decimal(r["filled"]) >= Decimal(r["quantity"])),
        "fill_rate": round(float(filled / ordered), 4) if ordered else None,
        "cost_bps": _mean_ci([r["cost_bps"] for r in with_fills]),
        "cost_bps_share_weighted": _weighted_bps(with_fills, "cost_bps"),
        "allin_bps": _mean_ci([r["allin_bps"] for r in with_fills]),
        "allin_bps_share_weighted": _weighted_bps(with_fills, "allin_bps"),
        "fee_per_share": round(float(fees / filled), 6) if filled else None,
        "children_per_parent": {"mean": round(statistics.fmean(children), 2) if children else None,
                                "max": max(children, default=None),
                                "more_than_one": sum(1 for c in children if c > 1)},
        "reroutes": sum(r["reroutes"] for r in ok),
        "route_failed": sum(r["route_failed"] for r in ok),
        "cum_qty_not_fills_sum": sum(1 for r in ok if not r.get("cum_matches", True)),
        "shares_by_venue": {v: float(s) for v, s in sorted(by_venue.items())},
        "done_ms": {"p50": _pct(done, 50), "p90": _pct(done, 90), "p99": _pct(done, 99)},
    }


def versus(rows: list[dict], policy: str, baseline: str) -> dict:
    """`policy` against `baseline`, order by order (paired): baseline cost - policy cost in
    bps, on the orders both filled something, and on those both filled in full (like for
    like: the same shares bought); and the fill rates' difference."""
    by_case: dict[int, dict[str, dict]] = {}
    for r in rows:
        if not r.get("error"):
            by_case.setdefault(r["n"], {})[r["policy"]] = r
    pairs = [(c[policy], c[baseline]) for c in by_case.values() if policy in c and baseline in c]
    both = [(p, b) for p, b in pairs if p["cost_bps"] is not None and b["cost_bps"] is not None]
    full = [(p, b) for p, b in both
            if Decimal(p["filled"]) >= Decimal(p["quantity"])
            and Decimal(b["filled"]) >= Decimal(b["quantity"])]
    more = sum(1 for p, b in pairs if Decimal(p["filled"]) > Decimal(b["filled"]))
    less = sum(1 for p, b in pairs if Decimal(p["filled"]) < Decimal(b["filled"]))
    return {
        "pairs": len(pairs),
        "improvement_bps": _mean_ci([b["cost_bps"] - p["cost_bps"] for p, b in both]),
        "improvement_allin_bps": _mean_ci([b["allin_bps"] - p["allin_bps"] for p, b in both]),
        "improvement_bps_both_full": _mean_ci([b["cost_bps"] - p["cost_bps"] for p, b in full]),
        "improvement_allin_bps_both_full": _mean_ci(
            [b["allin_bps"] - p["allin_bps"] for p, b in full]),
        "filled_more": more, "filled_less": less,
    }


def all_filled(rows: list[dict], policies: list[str]) -> dict:
    """Like for like: on the orders every policy filled in full (the same shares bought or
    sold by each), each policy's cost against the arrival mid."""
    by_case: dict[int, dict[str, dict]] = {}
    for r in rows:
        if not r.get("error") and Decimal(r["filled"]) >= Decimal(r["quantity"]):
            by_case.setdefault(r["n"], {})[r["policy"]] = r
    full = [c for c in by_case.values() if all(p in c for p in policies)]
    return {"orders": len(full), **{
        p: {"cost_bps": _mean_ci([c[p]["cost_bps"] for c in full]),
            "allin_bps": _mean_ci([c[p]["allin_bps"] for c in full])} for p in policies}}


def summarize(rows: list[dict], *, policies: list[str], baseline: str) -> dict:
    summary = {"policies": {p: policy_summary([r for r in rows if r["policy"] == p])
                            for p in policies},
               "all_filled_in_full": all_filled(rows, policies)}
    summary["versus_baseline"] = {p: versus(rows, p, baseline) for p in policies
                                  if p != baseline}
    return summary
