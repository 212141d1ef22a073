"""What the running-system tests check after every scenario: our books equal the venue's,
nothing acted twice at the venue, and the venue's wire never over the limit."""

import json
from collections import Counter
from decimal import Decimal

from dispatch.models import RequestKind, RequestState, VenueRequest
from executions.checks import books_problems
from orders.models import Order, OrderEvent

# Our status -> the words the exchange's book uses for the same state.
VENUE_WORD = {"NEW": "NEW", "PARTIALLY_FILLED": "PARTIALLY_FILLED", "FILLED": "FILLED",
              "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}


def queue_is_drained(venue_code: str) -> bool:
    return not VenueRequest.objects.filter(
        venue_id=venue_code, state__in=(RequestState.QUEUED, RequestState.SENDING)).exists()


def request_states(venue_code: str) -> dict[str, int]:
    return dict(Counter(VenueRequest.objects.filter(venue_id=venue_code)
                        .values_list("state", flat=True)))


def order_statuses(order_ids) -> dict[str, int]:
    return dict(Counter(Order.objects.filter(pk__in=list(order_ids))
                        .values_list("status", flat=True)))


def history_of(order_id) -> dict:
    """An order's requests and events, for a failure message."""
    return {
        "requests": list(VenueRequest.objects.filter(order_id=order_id).order_by("id")
                         .values_list("id", "kind", "state", "result", "reason", "attempts",
                                      "msg_seq_num")),
        "events": list(OrderEvent.objects.filter(order_id=order_id).order_by("id")
                       .values_list("type", "from_status", "to_status", "actor", "data")),
    }


def check_books(*, venue_code: str, book: dict, orders=None) -> dict:
    """Every order of the venue here equals the venue's book: the same orders, each in the
    same state with the same quantity, price and filled quantity; nothing left queued or of
    unknown outcome; nothing flagged; every order's fills and every position add up
    (executions/checks.py). Returns numbers worth printing."""
    assert queue_is_drained(venue_code), request_states(venue_code)
    problems = books_problems()
    assert not problems, "fills do not add up:\n" + "\n".join(problems)
    ours = Order.objects.filter(venue_id=venue_code)
    if orders is not None:
        ours = ours.filter(pk__in=[o.pk for o in orders])
    flagged = {str(o.pk): o.flag for o in ours if o.flag}
    assert not flagged, f"orders flagged for an operator: {flagged}"
    at_venue = {}
    for order in ours:
        new = VenueRequest.objects.filter(order=order, kind=RequestKind.NEW).first()
        key = str(new.request_id)
        if key in book:
            at_venue[key] = order
        else:  # never reached the venue: it must be closed here without it
            assert order.status in ("CANCELED", "EXPIRED", "REJECTED"), (
                "an order the venue does not have looks live here", str(order.pk),
                order.status, history_of(order.pk))
    mine = set(at_venue) if orders is not None else set(at_venue)
    if orders is None:
        assert set(book) == mine, ("the venue's book and ours hold different orders",
                                   set(book) ^ mine)
    wrong = {}
    for key, order in at_venue.items():
        entry = book[key]
        ours_now = (VENUE_WORD.get(order.status, order.status), order.quantity,
                    order.limit_price, order.filled_quantity)
        theirs = (entry["status"], Decimal(entry["quantity"]),
                  Decimal(entry["limitPrice"]) if entry.get("limitPrice") else None,
                  Decimal(entry["cumQty"]))
        if ours_now != theirs:
            wrong[str(order.pk)] = {"ours": ours_now, "venue": theirs,
                                    "history": history_of(order.pk)}
    assert not wrong, "books disagree:\n" + json.dumps(wrong, default=str, indent=1)
    return {"orders": ours.count(), "at_venue": len(at_venue),
            "never_sent": ours.count() - len(at_venue)}


def check_wire(*, stats: dict, messages: list[dict], limit: int) -> dict:
    """What the venue saw: never over the limit, no ClOrdID acted on twice."""
    assert stats["limitViolations"] == 0, stats
    assert stats["maxInAnySlidingSecond"] <= limit, stats
    # A D, G or F acted on afresh (not a duplicate, not refused at the gate) at most once.
    acted = Counter(m["clOrdId"] for m in messages if m["msgType"] in ("D", "G", "F")
                    and not _repeated(m))
    twice = {cl: n for cl, n in acted.items() if n > 1}
    assert not twice, ("acted on more than once at the venue", twice)
    return {"received": stats["received"], "duplicates": stats["duplicates"],
            "max_in_1s": stats["maxInAnySlidingSecond"], "violations": stats["limitViolations"],
            "logons": sum(s["logons"] for s in stats["sessions"])}


def _repeated(message: dict) -> bool:
    # The venue's answer to a ClOrdID it had decided (docs/fix.md rule 2), or its refusal at
    # the gate (35=j: it did not act).
    for answer in message.get("answers", []):
        raw = answer.get("raw") or ""
        if answer.get("msgType") == "j" or "58=DUPLICATE_CLORDID" in raw:
            return True
        if answer.get("execType") == "I":
            return True
    return False


def print_numbers(title: str, **numbers) -> None:
    print(f"\n[system] {title}: " + json.dumps(numbers, default=str))
