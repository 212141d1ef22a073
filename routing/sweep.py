"""BEST_PRICE for an order that may take several venues' books (LIMIT or MARKET; DAY, GTC,
IOC): one consolidated book of every usable venue's displayed levels, taken best effective
price first, then the remainder where it does most good."""

from decimal import Decimal, localcontext

from omsproject.decimals import EXACT, decimal_text
from routing.audit import Allocation, level_taken
from routing.book import best_or_cheapest, cheapest_to_rest, displayed_within, rank
from routing.plans import MARKET, RESTING_TIFS, RouteRequest, VenueView


def sweep(request: RouteRequest, usable: list[VenueView]) -> Allocation:
    """Take each level within the limit, best effective price first (the quicker venue, then
    the code, on a tie), as much as it displays; one slice per venue, in the order the
    venues were first taken from."""
    book = sorted((level for view in usable for level in displayed_within(request, view)),
                  key=rank(request.side))
    slices: dict[str, Decimal] = {}
    taken = []
    remaining = request.quantity
    with localcontext(EXACT):
        for level in book:
            if remaining <= 0:
                break
            quantity = min(level.size, remaining)
            slices[level.venue] = slices.get(level.venue, Decimal(0)) + quantity
            remaining -= quantity
            taken.append(level_taken(level, quantity))
        detail = {"levels": taken}
        if remaining == 0:
            return Allocation(slices, Decimal(0), "the displayed liquidity within the limit "
                              "covers the quantity", detail)
        if request.sweep_only:
            return Allocation(slices, remaining, f"sweep only: {decimal_text(remaining)} "
                              "more than is displayed within the limit stays unrouted", detail)
        venue, why = _remainder_venue(request, usable)
        slices[venue] = slices.get(venue, Decimal(0)) + remaining
    return Allocation(slices, Decimal(0), f"the remainder {decimal_text(remaining)}, beyond "
                      f"the displayed liquidity within the limit, goes to {venue}; {why}", detail)


def _remainder_venue(request: RouteRequest, usable: list[VenueView]) -> tuple[str, str]:
    if request.order_type != MARKET and request.time_in_force in RESTING_TIFS:
        # It will rest: where adding liquidity costs least, or earns the largest rebate.
        view = cheapest_to_rest(usable)
        return view.code, (f"it rests, and {view.code} has the lowest maker fee "
                           f"({decimal_text(view.maker_fee)})")
    # It cannot rest (IOC, MARKET): where the market is best, for the best chance of a fill.
    return best_or_cheapest(usable, request.side)
