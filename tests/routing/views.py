"""Hand-built VenueViews and quotes for the policy tests: no database, no Redis."""

from datetime import UTC, datetime
from decimal import Decimal

from marketdata.selectors import VenueQuote
from routing import RouteRequest, VenueView


def d(value) -> Decimal:
    return Decimal(str(value))


def book(levels) -> list[tuple[Decimal, Decimal]]:
    return [(d(price), d(size)) for price, size in levels]


def quote(venue: str = "XA", *, asks=(), bids=(), stale=False, age=0.5, ask=None,
          ask_size=None, bid=None, bid_size=None) -> VenueQuote:
    """A quote with these book levels, best first ((price, size) pairs); the best of each
    side is its top unless given (a quote that carries no book)."""
    asks, bids = book(asks), book(bids)
    return VenueQuote(
        venue=venue,
        bid=d(bid) if bid is not None else (bids[0][0] if bids else None),
        bid_size=d(bid_size) if bid_size is not None else (bids[0][1] if bids else None),
        ask=d(ask) if ask is not None else (asks[0][0] if asks else None),
        ask_size=d(ask_size) if ask_size is not None else (asks[0][1] if asks else None),
        last=None, last_size=None, timestamp=datetime(2026, 12, 1, tzinfo=UTC),
        age_seconds=age, stale=stale, bids=bids, asks=asks,
    )


def view(code: str, *, asks=(), bids=(), maker="0", taker="0", latency=5.0, skip="",
         quote_=..., **quoted) -> VenueView:
    """A usable venue displaying these levels, with these fees (per share) and latency.
    quote_=None: no quote stored."""
    return VenueView(
        code=code, maker_fee=d(maker), taker_fee=d(taker), latency_ms=latency, skip=skip,
        quote=quote(code, asks=asks, bids=bids, **quoted) if quote_ is ... else quote_,
    )


def buy(quantity, limit=None, **terms) -> RouteRequest:
    return order("BUY", quantity, limit, **terms)


def sell(quantity, limit=None, **terms) -> RouteRequest:
    return order("SELL", quantity, limit, **terms)


def order(side, quantity, limit=None, *, order_type=None, tif="DAY", policy="BEST_PRICE",
          **extra) -> RouteRequest:
    return RouteRequest(
        account="ACC-1", symbol="AAPL", side=side,
        order_type=order_type or ("MARKET" if limit is None else "LIMIT"),
        quantity=d(quantity), limit_price=None if limit is None else d(limit),
        time_in_force=tif, policy=policy, **extra,
    )


def sliced(plan) -> list[tuple[str, Decimal]]:
    return [(piece.venue, piece.quantity) for piece in plan.slices]
