"""The audit of a routing decision: what each venue looked like, what was taken and why.
Compact (the top of each venue's book, and only the levels a sweep used) and JSON-ready:
decimals as exact strings, keys in the API's camelCase."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from marketdata.quotes import iso_utc
from omsproject.decimals import decimal_text
from routing.book import Level, top
from routing.plans import RouteRequest, VenueView


@dataclass
class Allocation:
    """What a policy decided: {venue: quantity} best first, what it left unrouted, why, and
    the figures it decided on (levels taken, sizes displayed...)."""

    slices: dict[str, Decimal]
    unrouted: Decimal
    why: str
    detail: dict = field(default_factory=dict)


def level_taken(level: Level, quantity: Decimal) -> dict:
    return {"venue": level.venue, "price": decimal_text(level.price),
            "effective": decimal_text(level.effective), "quantity": decimal_text(quantity)}


def by_venue(values: dict[str, Decimal]) -> dict[str, str]:
    return {venue: decimal_text(value) for venue, value in values.items()}


def plan_audit(request: RouteRequest, views: list[VenueView], refused: dict[str, str],
               allocation: Allocation) -> dict:
    return {
        "policy": request.policy,
        "at": iso_utc(datetime.now(UTC)),
        "request": _request(request),
        "venues": [_venue(view, request.side, refused.get(view.code, "")) for view in views],
        **allocation.detail,
        "why": allocation.why,
        "slices": [{"venue": venue, "quantity": decimal_text(quantity)}
                   for venue, quantity in allocation.slices.items()],
        "unrouted": decimal_text(allocation.unrouted),
    }


def _request(request: RouteRequest) -> dict:
    return {
        "account": request.account, "symbol": request.symbol, "side": request.side,
        "orderType": request.order_type, "quantity": decimal_text(request.quantity),
        "limitPrice": decimal_text(request.limit_price),
        "timeInForce": request.time_in_force, "exclude": sorted(request.exclude),
        "sweepOnly": request.sweep_only,
        "ownResting": [[venue, side, decimal_text(price)]
                       for venue, side, price in request.own_resting],
    }


def _venue(view: VenueView, side: str, skip: str) -> dict:
    quote = view.quote
    best = top(view, side)
    return {
        "venue": view.code, "skip": skip,
        "bid": decimal_text(quote.bid) if quote else None,
        "bidSize": decimal_text(quote.bid_size) if quote else None,
        "ask": decimal_text(quote.ask) if quote else None,
        "askSize": decimal_text(quote.ask_size) if quote else None,
        "ageSeconds": round(quote.age_seconds, 3) if quote else None,
        "stale": quote.stale if quote else None,
        "makerFee": decimal_text(view.maker_fee), "takerFee": decimal_text(view.taker_fee),
        "latencyMs": round(view.latency_ms, 3),
        "effectiveTop": decimal_text(best.effective) if best else None,
    }
