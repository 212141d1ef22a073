"""plan_route: which venues get how much of an order. Pure: everything it weighs (quotes,
fees, latency, why a venue is out) comes in the VenueViews, read once by routing.inputs.

The policies: BEST_PRICE takes the consolidated book best effective price first (fees
included: a cheaper quote can be dearer to take); PRO_RATA splits by displayed size. An
order that must go to one venue whole (FOK), or that only triggers later (STOP, STOP_LIMIT),
goes to one venue under either policy.
"""

from decimal import Decimal, localcontext

from omsproject.decimals import EXACT, quantize_price
from routing.audit import Allocation, by_venue, plan_audit
from routing.book import Level, best_or_cheapest, displayed_within, effective, rank, size_of
from routing.eligibility import usable_views
from routing.errors import NoRoute
from routing.plans import (
    BUY,
    FOK,
    STOP_TYPES,
    ChildSlice,
    Policy,
    RoutePlan,
    RouteRequest,
    VenueView,
)
from routing.prorata import pro_rata
from routing.sweep import sweep


def plan_route(request: RouteRequest, views: list[VenueView]) -> RoutePlan:
    """The plan for `request` over these venues; NoRoute (each venue's reason) when no venue
    may take it now, even when every venue is merely closed: the caller decides."""
    if request.policy not in (Policy.BEST_PRICE, Policy.PRO_RATA):
        raise ValueError(f"A {request.policy} order is not routed: its venue is named.")
    usable, refused = usable_views(request, views)
    if not usable:
        reasons = "; ".join(f"{venue}: {why}" for venue, why in refused.items())
        raise NoRoute(f"No venue can take the order now ({reasons or 'no venues'}).",
                      details=refused)
    allocation = _allocate(request, usable)
    return RoutePlan(
        slices=tuple(ChildSlice(venue, quantity)
                     for venue, quantity in allocation.slices.items()),
        unrouted=allocation.unrouted,
        audit=plan_audit(request, views, refused, allocation),
    )


def _allocate(request: RouteRequest, usable: list[VenueView]) -> Allocation:
    if request.order_type in STOP_TYPES:
        venue, why = best_or_cheapest(usable, request.side)
        return Allocation({venue: request.quantity}, Decimal(0),
                          f"a stop triggers later: all to one venue; {why}")
    if request.time_in_force == FOK:
        return _fill_or_kill(request, usable)
    if request.policy == Policy.BEST_PRICE:
        return sweep(request, usable)
    return pro_rata(request, usable)


def _fill_or_kill(request: RouteRequest, usable: list[VenueView]) -> Allocation:
    """All at one venue: the best effective fill price among the venues displaying enough
    within the limit; else the one displaying the most (it may still fill: books move)."""
    within = {view.code: displayed_within(request, view) for view in usable}
    shown = {code: size_of(found) for code, found in within.items()}
    prices = {view.code: _fill_price(request, view, within[view.code]) for view in usable
              if shown[view.code] >= request.quantity}
    detail = {"displayed": by_venue(shown), "fillPrices": by_venue(prices)}
    if prices:
        sign = 1 if request.side == BUY else -1
        latency = {view.code: view.latency_ms for view in usable}
        venue = min(prices, key=lambda code: (sign * prices[code], latency[code], code))
        why = f"FOK: {venue} displays it all within the limit at the best effective price"
    elif any(shown.values()):
        tops = [found[0] for found in within.values() if found]
        order = {level.venue: n for n, level in enumerate(sorted(tops, key=rank(request.side)))}
        venue = min(order, key=lambda code: (-shown[code], order[code]))
        why = f"FOK: no venue displays it all within the limit; {venue} displays the most"
    else:
        venue, best = best_or_cheapest(usable, request.side)
        why = f"FOK: nothing is displayed within the limit; {best}"
    return Allocation({venue: request.quantity}, Decimal(0), why, detail)


def _fill_price(request: RouteRequest, view: VenueView, found: list[Level]) -> Decimal:
    """The effective price per share of taking the whole quantity from these levels."""
    remaining, cost = request.quantity, Decimal(0)
    with localcontext(EXACT):
        for level in found:
            quantity = min(level.size, remaining)
            cost += quantity * level.price
            remaining -= quantity
            if remaining == 0:
                break
        return quantize_price(effective(view, request.side, cost / request.quantity))

