"""What routing is asked (RouteRequest), what it reads of each venue (VenueView), and what it
answers (RoutePlan): plain values, so the policies are pure functions of them."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import models

from marketdata.selectors import VenueQuote

# The order terms routing reads, spelt as orders spells them (routing does not import orders).
BUY, SELL = "BUY", "SELL"
MARKET = "MARKET"
STOP_TYPES = frozenset({"STOP", "STOP_LIMIT"})
RESTING_TIFS = frozenset({"DAY", "GTC"})  # what is not taken at once may rest at the venue
FOK = "FOK"


class Policy(models.TextChoices):
    DIRECTED = "DIRECTED"  # the client names the venue: nothing is routed here
    BEST_PRICE = "BEST_PRICE"  # sweep the venues' books best effective price first
    PRO_RATA = "PRO_RATA"  # split by the size each venue displays within the limit


@dataclass(frozen=True, kw_only=True)
class VenueView:
    """Everything the router knows of one venue, read once per decision (routing.inputs)."""

    code: str
    maker_fee: Decimal  # per share; negative is a rebate
    taker_fee: Decimal
    latency_ms: float  # expected round trip of a new order
    skip: str  # "" when the venue may get orders now, else why not ("closed", "halted", ...)
    quote: VenueQuote | None  # None when none is stored


@dataclass(frozen=True, kw_only=True)
class RouteRequest:
    account: str
    symbol: str
    side: str  # BUY | SELL
    order_type: str  # MARKET | LIMIT | STOP | STOP_LIMIT
    quantity: Decimal  # what is to be routed
    limit_price: Decimal | None
    time_in_force: str  # DAY | GTC | IOC | FOK
    policy: str  # BEST_PRICE | PRO_RATA
    exclude: frozenset[str] = frozenset()  # venues not to use (an IOC re-route: those tried)
    # A re-route: only liquidity displayed within the limit, and no slice for the remainder.
    sweep_only: bool = False
    # (venue, side, limit price or None) of the account's open orders in this symbol: a child
    # must not trade against one of them (self-trade prevention).
    own_resting: tuple[tuple[str, str, Decimal | None], ...] = ()


@dataclass(frozen=True)
class ChildSlice:
    venue: str
    quantity: Decimal


@dataclass(frozen=True)
class RoutePlan:
    """At most one slice per venue, best first. The slices add up to the routed quantity,
    less `unrouted` (a sweep_only request's quantity that nothing displayed could take)."""

    slices: tuple[ChildSlice, ...]
    unrouted: Decimal
    audit: dict  # JSON-serializable: what was seen, what was chosen and why
