from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from uuid6 import uuid7

from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS, decimal_text
from routing import Policy


class Account(models.Model):
    """A trading account. Users see and act on the orders of the accounts granted to them."""

    code = models.CharField(primary_key=True, max_length=32)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="trading_accounts", blank=True
    )
    # How the account's orders are routed when they do not say (blank: OMS_DEFAULT_ROUTING).
    default_routing = models.CharField(max_length=12, choices=Policy.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Side(models.TextChoices):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(models.TextChoices):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


class TimeInForce(models.TextChoices):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(models.TextChoices):
    """FIX OrdStatus, plus QUEUED: accepted by us and waiting in our queue for the venue."""

    QUEUED = "QUEUED"
    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    CANCELED = "CANCELED"
    PENDING_REPLACE = "PENDING_REPLACE"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


S = OrderStatus
# The venue has the last word: from any live status an order may become what the venue says
# it is (an answer, an unsolicited report, or its answer to a status request). What it may
# not do is come back from a terminal status; a report that says so is stored and flagged.
_VENUE_SAYS = frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED, S.REJECTED})
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    # Claimed (possibly on the wire); cancelled or expired while still only ours.
    S.QUEUED: frozenset({S.PENDING_NEW, S.CANCELED, S.EXPIRED}),
    # Back to QUEUED: the NEW never left (the send gate held it) or the venue says it never
    # arrived; the order keeps its place in the queue.
    S.PENDING_NEW: _VENUE_SAYS | {S.QUEUED, S.PENDING_CANCEL},
    S.NEW: _VENUE_SAYS | {S.PENDING_CANCEL, S.PENDING_REPLACE},
    S.PARTIALLY_FILLED: _VENUE_SAYS | {S.PENDING_CANCEL, S.PENDING_REPLACE},
    S.PENDING_REPLACE: _VENUE_SAYS | {S.PENDING_CANCEL},
    S.PENDING_CANCEL: _VENUE_SAYS,
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}
TERMINAL_STATUSES = frozenset(s for s, targets in ALLOWED_TRANSITIONS.items() if not targets)
# The one way out of a terminal status: the venue busts (150=H) or corrects (150=G) a trade
# of a filled order, which is then no longer filled in full; a bust never reopens an order,
# so the venue reports it cancelled (docs/fix.md, "Trades, busts and corrections").
AFTER_TRADE_AMENDED: dict[str, frozenset[str]] = {S.FILLED: frozenset({S.CANCELED})}
LIVE_STATUSES = frozenset(ALLOWED_TRANSITIONS) - TERMINAL_STATUSES - {S.QUEUED}
# Queued: changed in place. Live: a MODIFY / CANCEL goes to the venue.
MODIFIABLE_STATUSES = frozenset({S.QUEUED, S.NEW, S.PARTIALLY_FILLED})
CANCELLABLE_STATUSES = frozenset(
    {S.QUEUED, S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED, S.PENDING_REPLACE}
)
# A parent's status is its children's, rolled up (services/parents.py): it follows them
# wherever they go, except back from a terminal status (a bust may still reopen FILLED).
PARENT_TRANSITIONS: dict[str, frozenset[str]] = {
    status: (frozenset(ALLOWED_TRANSITIONS) - {status} if targets
             else AFTER_TRADE_AMENDED.get(status, frozenset()))
    for status, targets in ALLOWED_TRANSITIONS.items()
}
del S


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexes are written on every insert and status change: each one here serves a query.
    # account and venue are covered by the unique constraint and (venue, status), which lead
    # with them; Django's own FK index (and its LIKE twin) would be written for nothing.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    client_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=10, choices=OrderType.choices)
    quantity = models.DecimalField(**QUANTITY_DIGITS)
    limit_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    time_in_force = models.CharField(max_length=3, choices=TimeInForce.choices)
    # None for a parent: its children are each for one venue.
    venue = models.ForeignKey(
        "venues.Venue", on_delete=models.PROTECT, related_name="orders", db_index=False,
        null=True, blank=True,
    )
    # A client's routed order is a parent: the router splits it into children, each an
    # order for one venue (with its own queue requests, executions and status), whose
    # figures and status the parent's roll up. A DIRECTED order is its own only child.
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="children", null=True, blank=True,
        db_index=False,
    )
    routing = models.CharField(max_length=12, choices=Policy.choices, default=Policy.DIRECTED)
    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    # CumQty (14) and AvgPx (6) as the venue last reported them.
    filled_quantity = models.DecimalField(
        **QUANTITY_DIGITS, default=Decimal(0), validators=[MinValueValidator(0)]
    )
    average_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    # The venue's OrderID (37) and the order's current ClOrdID (11) there: the NEW's, then
    # each accepted replace's. A replace or cancel names it as OrigClOrdID (41).
    venue_order_id = models.CharField(max_length=64, blank=True)
    venue_cl_ord_id = models.CharField(max_length=64, blank=True)
    # Non-empty: something about this order needs an operator (the venue said what our
    # rules cannot follow). Set with an audit event; cleared by an operator.
    flag = models.CharField(max_length=200, blank=True)
    # sha256 of the terms as first submitted: a replay of the same clientOrderId is the
    # same order only if its terms match these, whatever has been modified since.
    request_fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The status /metrics counts this (done) order under in OrderTally (orders/tally.py):
    # blank while it is open and until beat's tally folds it in; always blank or `status`
    # (a status change takes it out of the tally: services/transitions.py).
    tallied_status = models.CharField(max_length=16, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]  # UUIDv7: creation order, so no index on created_at
        constraints = [
            models.UniqueConstraint(
                fields=["account", "client_order_id"], name="order_unique_client_order_id"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="order_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(filled_quantity__gte=0)
                & models.Q(filled_quantity__lte=models.F("quantity")),
                name="order_filled_within_quantity",
            ),
        ]
        indexes = [
            models.Index(fields=["venue", "status"]),
            # A Meta index, not db_index: PostgreSQL gets no varchar_pattern_ops twin.
            models.Index(fields=["status"], name="order_status"),
            models.Index(fields=["symbol", "-id"]),
            # An account's open orders, for pre-trade risk (risk/exposure.py): only the open
            # ones are in it, so it stays small however long the history.
            models.Index(fields=["account", "symbol"],
                         condition=~models.Q(status__in=["CANCELED", "EXPIRED", "FILLED",
                                                         "REJECTED"]),
                         name="order_open_by_account"),
            models.Index(fields=["parent"], condition=models.Q(parent__isnull=False),
                         name="order_children"),
            # What /metrics counts row by row (oms_orders): venues' orders not in OrderTally,
            # i.e. the open ones and the few done since the last tally. Measured on a
            # history of 300,000 orders (tests/test_query_plans.py): the scrape's GROUP BY
            # read every order before; now it reads these and the tally's rows. (A predicate
            # comparing two columns, tallied_status <> status, has no statistics: the planner
            # took it for 99% of the table and scanned it all.)
            models.Index(fields=["venue", "status"],
                         condition=models.Q(tallied_status="", venue__isnull=False),
                         name="order_untallied"),
        ]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.side} {decimal_text(self.quantity)} {self.symbol}"

    @property
    def is_parent(self) -> bool:
        """Routed (not DIRECTED): its children trade, it rolls them up."""
        return self.routing != Policy.DIRECTED and self.parent_id is None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def leaves_quantity(self):
        """LeavesQty (151): what is still open for execution; none once the order is done.
        A routed parent's is its open children's: a child cancelled on its own (a venue's
        kill switch) takes its part with it. From `children_leaves` when the query
        annotated it (orders/selectors.py), else from the children (prefetched or read)."""
        if self.status in TERMINAL_STATUSES:
            return Decimal(0)
        if self.is_parent:
            if hasattr(self, "children_leaves"):
                return self.children_leaves or Decimal(0)
            return sum((max(child.quantity - child.filled_quantity, Decimal(0))
                        for child in self.children.all()
                        if child.status not in TERMINAL_STATUSES), Decimal(0))
        return max(self.quantity - self.filled_quantity, Decimal(0))


class OrderTally(models.Model):
    """How many of a venue's orders are done in each status, as far as orders/tally.py has
    folded them in (an order counted here has `tallied_status`). /metrics adds the orders
    not counted here as they stand, so `oms_orders` is every order's status without reading
    the history; retention takes the orders it removes out of it in its own transaction."""

    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["venue", "status"],
                                               name="ordertally_unique_venue_status")]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.status}: {self.count}"


class OrderEventType(models.TextChoices):
    CREATED = "CREATED"
    MODIFIED = "MODIFIED"  # in place, while queued
    REPLACE_REQUESTED = "REPLACE_REQUESTED"
    REPLACED = "REPLACED"
    REPLACE_REJECTED = "REPLACE_REJECTED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    CANCEL_REJECTED = "CANCEL_REJECTED"
    CANCELED = "CANCELED"
    SENT = "SENT"  # claimed: committed as possibly on the wire
    RETURNED = "RETURNED"  # the NEW never left; back in the queue at its place
    ACKNOWLEDGED = "ACKNOWLEDGED"
    REJECTED = "REJECTED"
    FILLED = "FILLED"
    BUSTED = "BUSTED"  # the venue cancelled a trade (150=H)
    CORRECTED = "CORRECTED"  # the venue corrected a trade's quantity or price (150=G)
    EXPIRED = "EXPIRED"
    RECONCILED = "RECONCILED"  # moved to what the venue answered a status request
    RESTATED = "RESTATED"  # a venue report that changed nothing here (status, done for day)
    FLAGGED = "FLAGGED"  # a venue report our rules could not follow: for an operator
    ROUTED = "ROUTED"  # a parent's children planned: the route audit in `data`
    ROUTE_FAILED = "ROUTE_FAILED"  # a remainder the router could not place (and why)


class OrderEvent(models.Model):
    """The audit trail: one row per change to an order, written in the change's transaction."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=24, choices=OrderEventType.choices)
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    actor = models.CharField(max_length=150, help_text="Username, or system:<component>.")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} {self.from_status or '-'} -> {self.to_status}"
