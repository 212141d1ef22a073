"""A routed order's children: planned by the router (routing/) over the venues' quotes,
fees, latency and state, then written as orders of their own, one per venue, each with its
NEW in that venue's queue, in the parent's transaction.

The plan and everything it was made of (the route audit) is the parent's ROUTED event.
Each child passes risk's child checks (the account's kill switch, the price band against
its venue's market) before it is queued: at intake and whenever a remainder is routed
again (reroute.py).
"""

from decimal import Decimal

from uuid6 import uuid7

from dispatch.models import RequestKind
from dispatch.queue import request_enqueue
from orders.models import (
    LIVE_STATUSES,
    Order,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from orders.services import hooks
from orders.services.terms import OrderTerms
from marketdata.selectors import market_data_want
from routing import NoRoute, RoutePlan, RouteRequest, route
from sessions.errors import TradingHalted, VenueClosed

ROUTER_ACTOR = "system:router"
# Where an account's own orders rest, or are about to (self-trade prevention): queued ones
# are on their way there.
_RESTING = LIVE_STATUSES | {OrderStatus.QUEUED}
_CLOSED = frozenset({"closed", "no session", "not logged on"})
_NEVER_REST = (TimeInForce.IOC, TimeInForce.FOK)


def own_resting(*, account_code: str, symbol: str) -> tuple:
    """(venue, side, limit price) of the account's open orders in `symbol` at a venue that
    may rest in its book. IOC, FOK and MARKET orders never rest: two of them cannot meet, so
    they do not keep a child of the other side away."""
    return tuple(
        Order.objects.filter(account_id=account_code, symbol=symbol, status__in=_RESTING,
                             venue__isnull=False)
        .exclude(time_in_force__in=_NEVER_REST).exclude(order_type=OrderType.MARKET)
        .values_list("venue_id", "side", "limit_price")
    )


def route_request(*, account_code: str, terms: OrderTerms, policy: str, quantity: Decimal,
                  exclude: frozenset[str] = frozenset(),
                  sweep_only: bool = False) -> RouteRequest:
    return RouteRequest(
        account=account_code, symbol=terms.symbol, side=terms.side,
        order_type=terms.order_type, quantity=quantity, limit_price=terms.limit_price,
        time_in_force=terms.time_in_force, policy=policy, exclude=exclude,
        sweep_only=sweep_only,
        own_resting=own_resting(account_code=account_code, symbol=terms.symbol))


def plan_for(*, account_code: str, terms: OrderTerms, policy: str) -> RoutePlan:
    """The router's plan for a new order. No venue can take it now: NoRoute, or, when the
    venues are all halted or all closed, the error a directed order would get (409
    trading_halted / venue_closed), since waiting is then the answer."""
    try:
        return route(route_request(account_code=account_code, terms=terms, policy=policy,
                                   quantity=terms.quantity))
    except NoRoute as exc:
        reasons = set(exc.details.values())
        if "no quote" in reasons:
            # Nobody asked for this symbol's market yet: the holders subscribe to it now, so
            # an order a moment later finds quotes (this one is refused: nothing to route by).
            market_data_want(symbol=terms.symbol)
        if reasons == {"halted"}:
            raise TradingHalted("Trading is halted: no venue takes new orders.",
                                details=exc.details) from exc
        if reasons and reasons <= _CLOSED:
            raise VenueClosed("No venue is open for trading now.", details=exc.details) from exc
        raise


def child_terms(parent: Order, quantity: Decimal) -> OrderTerms:
    return OrderTerms(symbol=parent.symbol, side=parent.side, order_type=parent.order_type,
                      quantity=quantity, limit_price=parent.limit_price,
                      stop_price=parent.stop_price, time_in_force=parent.time_in_force)


def children_create(parent: Order, plan: RoutePlan, *, actor: str,
                    event: str = OrderEventType.ROUTED, nudge: bool = True) -> list[Order]:
    """Write the plan's children of the (new or locked) parent, their NEWs queued, and the
    route audit on the parent. A child refused by risk refuses them all (DomainError)."""
    OrderEvent.objects.create(order=parent, type=event, from_status=parent.status,
                              to_status=parent.status, actor=ROUTER_ACTOR, data=plan.audit)
    created = []
    for piece in plan.slices:
        terms = child_terms(parent, piece.quantity)
        hooks.run_child_checks(account=parent.account_id, venue=piece.venue, terms=terms)
        child_id = uuid7()
        child = Order.objects.create(
            id=child_id, account_id=parent.account_id, parent=parent,
            # Unique in the account (the parent's own may be 64 characters long already).
            client_order_id=str(child_id), venue_id=piece.venue, status=OrderStatus.QUEUED,
            request_fingerprint=parent.request_fingerprint,
            symbol=terms.symbol, side=terms.side, order_type=terms.order_type,
            quantity=terms.quantity, limit_price=terms.limit_price,
            stop_price=terms.stop_price, time_in_force=terms.time_in_force,
        )
        OrderEvent.objects.create(order=child, type=OrderEventType.CREATED,
                                  to_status=OrderStatus.QUEUED, actor=actor,
                                  data={"parentOrderId": str(parent.pk)})
        request_enqueue(order_id=child.pk, venue_code=piece.venue, kind=RequestKind.NEW,
                        nudge=nudge)
        created.append(child)
    return created
