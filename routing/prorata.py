"""PRO_RATA for an order that may take several venues' books: each usable venue gets a
share of the quantity in proportion to the size it displays within the limit."""

from decimal import ROUND_FLOOR, Decimal, localcontext

from omsproject.decimals import EXACT, decimal_text
from routing.audit import Allocation, by_venue
from routing.book import best_or_cheapest, displayed_within, rank, size_of
from routing.plans import RouteRequest, VenueView

WHOLE = Decimal(1)
# A fractional quantity is split to the places an order's quantity is stored with.
SMALLEST = Decimal("0.000001")


def pro_rata(request: RouteRequest, usable: list[VenueView]) -> Allocation:
    within = {view.code: displayed_within(request, view) for view in usable}
    shown = {code: size for code, found in within.items() if (size := size_of(found)) > 0}
    if not shown:
        if request.sweep_only:
            return Allocation({}, request.quantity, "sweep only: nothing is displayed within "
                              "the limit", {"displayed": {}})
        venue, why = best_or_cheapest(usable, request.side)
        return Allocation({venue: request.quantity}, Decimal(0), "nothing is displayed within "
                          f"the limit: all to one venue; {why}", {"displayed": {}})
    unit = WHOLE if request.quantity == request.quantity.to_integral_value() else SMALLEST
    with localcontext(EXACT):
        total = sum(shown.values(), Decimal(0))
        routed = request.quantity
        if request.sweep_only and total < routed:
            routed = total.quantize(unit, rounding=ROUND_FLOOR)
        shares = split(routed, shown, unit)
        weights = {code: (size / total).quantize(SMALLEST) for code, size in shown.items()}
    # Best first: by each venue's best level within the limit.
    order = sorted((found[0] for code, found in within.items() if code in shares),
                   key=rank(request.side))
    slices = {level.venue: shares[level.venue] for level in order}
    unrouted = request.quantity - routed
    why = f"split in proportion to the {decimal_text(total)} displayed within the limit"
    if unrouted:
        why += f"; sweep only: {decimal_text(unrouted)} more than that stays unrouted"
    return Allocation(slices, unrouted, why,
                      {"displayed": by_venue(shown), "weights": by_venue(weights)})


def split(quantity: Decimal, weights: dict[str, Decimal], unit: Decimal) -> dict[str, Decimal]:
    """`quantity` in whole `unit`s, in proportion to `weights` (all > 0): each its share
    rounded down, then the units left over one each to the largest weights (then by code).
    Fewer units are left over than there are weights, so one round gives them all out; zero
    shares are dropped."""
    with localcontext(EXACT):
        units = quantity / unit
        total = sum(weights.values(), Decimal(0))
        counts = {code: units * weight // total for code, weight in weights.items()}
        left = int(units - sum(counts.values()))
        for code in sorted(weights, key=lambda c: (-weights[c], c))[:left]:
            counts[code] += 1
        return {code: count * unit for code, count in counts.items() if count > 0}
