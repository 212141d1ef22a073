"""The venues' displayed liquidity as a router sees it: each level of the side an order
takes from, at its effective price (the price plus the taker fee a BUY pays, less the fee a
SELL pays), ranked best first."""

from dataclasses import dataclass
from decimal import Decimal, localcontext

from omsproject.decimals import EXACT, decimal_text
from routing.plans import BUY, MARKET, RouteRequest, VenueView


@dataclass(frozen=True)
class Level:
    venue: str
    price: Decimal
    size: Decimal
    effective: Decimal  # what a share taken here costs (BUY) or brings (SELL), fee included
    latency_ms: float


def limit_of(request: RouteRequest) -> Decimal | None:
    """The worst price a child may take: none for a MARKET (or STOP) order."""
    return None if request.order_type == MARKET else request.limit_price


def within(request: RouteRequest, price: Decimal) -> bool:
    """The raw price is one the order may trade at: its limit bounds the price, not the fee."""
    limit = limit_of(request)
    if limit is None:
        return True
    return price <= limit if request.side == BUY else price >= limit


def effective(view: VenueView, side: str, price: Decimal) -> Decimal:
    with localcontext(EXACT):
        return price + view.taker_fee if side == BUY else price - view.taker_fee


def levels(view: VenueView, side: str) -> list[Level]:
    """The venue's levels an order of `side` takes from (asks for a BUY), best first; the
    best ask or bid with its size when the quote carries no book."""
    quote = view.quote
    if quote is None:
        return []
    book = quote.asks if side == BUY else quote.bids
    if not book:
        top = (quote.ask, quote.ask_size) if side == BUY else (quote.bid, quote.bid_size)
        book = [top] if None not in top else []
    return [Level(view.code, price, size, effective(view, side, price), view.latency_ms)
            for price, size in book if size > 0]


def rank(side: str):
    """Sort key: the best effective price first, then the quicker venue, then the code."""
    sign = 1 if side == BUY else -1
    return lambda level: (sign * level.effective, level.latency_ms, level.venue)


def top(view: VenueView, side: str) -> Level | None:
    found = levels(view, side)
    return found[0] if found else None


def displayed_within(request: RouteRequest, view: VenueView) -> list[Level]:
    """The venue's levels the request may take, best first."""
    return [level for level in levels(view, request.side) if within(request, level.price)]


def size_of(found: list[Level]) -> Decimal:
    with localcontext(EXACT):
        return sum((level.size for level in found), Decimal(0))


def best_top(views: list[VenueView], side: str) -> VenueView | None:
    """The venue whose best level is best by effective price (latency, code break ties), or
    None when no venue displays anything on that side."""
    tops = [level for view in views if (level := top(view, side)) is not None]
    if not tops:
        return None
    best = min(tops, key=rank(side)).venue
    return next(view for view in views if view.code == best)


def cheapest_to_rest(views: list[VenueView]) -> VenueView:
    """Where a resting order costs least (earns the largest rebate); latency, code break ties."""
    return min(views, key=lambda view: (view.maker_fee, view.latency_ms, view.code))


def best_or_cheapest(views: list[VenueView], side: str) -> tuple[str, str]:
    """(venue, why): the venue with the best effective top of book, or where resting costs
    least when no venue displays anything on that side."""
    best = best_top(views, side)
    if best is not None:
        return best.code, f"{best.code} has the best effective top of book"
    view = cheapest_to_rest(views)
    return view.code, (f"no venue displays anything; {view.code} has the lowest maker fee "
                       f"({decimal_text(view.maker_fee)})")
