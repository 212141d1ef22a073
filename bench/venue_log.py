"""What the venue saw, from the mock exchange's message log (GET /venues/{v}/messages): when
each application message arrived, on the exchange's monotonic clock, and the FIX answers it
sent. The suite's outside observer for rates, exactness and acknowledgements."""

from __future__ import annotations

import statistics
from collections import Counter

from bench.windows import most_in_any_window

SECOND_NS = 1_000_000_000
ACK_EXEC_TYPE = "0"  # ExecutionReport 150=0: the venue accepted the order


def fix_field(raw: str | None, tag: str) -> str | None:
    """A tag's value in the log's FIX text (`|` for SOH), or None."""
    prefix = f"{tag}="
    for field in (raw or "").split("|"):
        if field.startswith(prefix):
            return field[len(prefix):]
    return None


def refusal(answer: dict) -> str | None:
    """Why an answer refuses what it answers (ExecutionReport 150=8, OrderCancelReject,
    BusinessMessageReject, Reject), as `MsgType:first word of Text`; None for the rest."""
    if answer.get("execType") != "8" and answer.get("msgType") not in ("3", "9", "j"):
        return None
    text = fix_field(answer.get("raw"), "58") or "?"
    return f"{answer.get('msgType')}:{text.split()[0] if text.strip() else '?'}"


def acknowledged(messages: list[dict]) -> set[str]:
    """ClOrdIDs of the NewOrderSingles the venue acknowledged (an answer with 150=0 sent)."""
    return {m["clOrdId"] for m in messages if m["msgType"] == "D" and any(
        a.get("execType") == ACK_EXEC_TYPE and a.get("raw") for a in m["answers"])}


def wire_profile(messages: list[dict], limit: int) -> dict:
    """From the exchange's receive times of every application message (all count against
    the venue's limit): busiest sliding second, rates, messages per calendar-free second
    from the first, and the refusals by reason."""
    if not messages:
        return {"count": 0, "busiest": 0, "seconds": 0.0, "rate": 0.0, "sustained_rate": None,
                "per_second": [], "by_type": {}, "rejects": {}}
    times = sorted(m["receivedMonotonicNs"] for m in messages)
    busiest = most_in_any_window(times, SECOND_NS)
    first, last = times[0], times[-1]
    span = (last - first) / SECOND_NS
    per_second = Counter((t - first) // SECOND_NS for t in times)
    # Sustained: L over the mean time L consecutive sends take (as tests/system measure).
    # The first and last 0.5 s are left out, as in tests/system/test_exactness.py.
    half = SECOND_NS // 2
    spans = [times[i + limit] - times[i] for i in range(len(times) - limit)
             if times[i] >= first + half and times[i + limit] <= last - half]
    sustained = limit / (statistics.fmean(spans) / SECOND_NS) if spans else None
    rejects = Counter(reason for m in messages for a in m["answers"]
                      if (reason := refusal(a)) is not None)
    return {
        "count": len(times),
        "busiest": busiest,
        "seconds": round(span, 3),
        "rate": round((len(times) - 1) / span, 1) if span > 0 else None,
        "sustained_rate": round(sustained, 1) if sustained else None,
        "per_second": [per_second.get(s, 0) for s in range(int(span) + 1)],
        "by_type": dict(Counter(m["msgType"] for m in messages)),
        "rejects": dict(rejects),
    }
