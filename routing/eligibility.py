"""Which venues may take a child of the request, and why each other one may not."""

from omsproject.decimals import decimal_text
from routing.book import limit_of
from routing.plans import BUY, SELL, RouteRequest, VenueView


def usable_views(request: RouteRequest, views: list[VenueView]
                 ) -> tuple[list[VenueView], dict[str, str]]:
    """(the venues a child may go to, {venue: why not} for the others), in the views' order."""
    usable, refused = [], {}
    for view in views:
        reason = _why_not(request, view)
        if reason:
            refused[view.code] = reason
        else:
            usable.append(view)
    return usable, refused


def _why_not(request: RouteRequest, view: VenueView) -> str:
    if view.skip:
        return view.skip
    if view.code in request.exclude:
        return "excluded"
    if view.quote is None:
        return "no quote"
    if view.quote.stale:
        # An old quote is no view of the market: routing on it would be routing blind.
        return f"stale quote ({view.quote.age_seconds:.1f} s old)"
    return self_trade(request, view.code)


def self_trade(request: RouteRequest, venue: str) -> str:
    """Why a child at `venue` could trade against one of the account's own resting orders,
    or "": an own order of the other side resting there at a price the child would take (at
    or better than the child's limit; any price for a child without one, a MARKET or STOP),
    or an own order without a price (a market or stop order, which may take anything)."""
    other = SELL if request.side == BUY else BUY
    for own_venue, side, price in request.own_resting:
        if own_venue == venue and side == other and _crosses(request, price):
            shown = "without a limit" if price is None else decimal_text(price)
            return f"self-trade: own {side} {shown} resting"
    return ""


def _crosses(request: RouteRequest, own_price) -> bool:
    limit = limit_of(request)
    if limit is None or own_price is None:
        return True
    return own_price <= limit if request.side == BUY else own_price >= limit
