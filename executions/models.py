"""The ledger of what venues reported, and what it adds up to.

* ExecutionReport: every 35=8, stored once per venue and ExecID, with what it said and how
  the OMS read it.
* Fill: one row per trade a venue reported (150=F), later busted (H) or corrected (G), or
  quarantined when it cannot be booked. An order's cumQty and avgPx are its applied fills'.
* Position: per account and symbol, the net of its applied fills, with average cost and
  realized P&L (executions/pnl.py).
* Instrument: what a symbol's prices may look like (decimals).

All of it changes in the transaction that applies the report (orders/services/
venue_reports.py), so a replayed report changes nothing."""

from django.core.validators import MaxValueValidator
from django.db import models

from omsproject.decimals import MONEY_DIGITS, PRICE_DIGITS, QUANTITY_DIGITS

# FIX 4.4 ExecType (150) and OrdStatus (39) values and their names. A value not listed is
# stored as received and flagged (`unknown_value`), never dropped.
EXEC_TYPES = {
    "0": "NEW", "3": "DONE_FOR_DAY", "4": "CANCELED", "5": "REPLACED", "6": "PENDING_CANCEL",
    "7": "STOPPED", "8": "REJECTED", "9": "SUSPENDED", "A": "PENDING_NEW", "B": "CALCULATED",
    "C": "EXPIRED", "D": "RESTATED", "E": "PENDING_REPLACE", "F": "TRADE",
    "G": "TRADE_CORRECT", "H": "TRADE_CANCEL", "I": "ORDER_STATUS",
}
ORD_STATUSES = {
    "0": "NEW", "1": "PARTIALLY_FILLED", "2": "FILLED", "3": "DONE_FOR_DAY", "4": "CANCELED",
    "5": "REPLACED", "6": "PENDING_CANCEL", "7": "STOPPED", "8": "REJECTED", "9": "SUSPENDED",
    "A": "PENDING_NEW", "B": "CALCULATED", "C": "EXPIRED", "D": "ACCEPTED_FOR_BIDDING",
    "E": "PENDING_REPLACE",
}
ORDER_STATUS_EXEC_TYPE = "I"


class ExecutionReport(models.Model):
    venue = models.ForeignKey("venues.Venue", on_delete=models.PROTECT, related_name="+")
    exec_id = models.CharField(max_length=64)
    # What it was matched to; null when it matches nothing we know (then `flag` says so).
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True,
        related_name="execution_reports",
    )
    request = models.ForeignKey(
        "dispatch.VenueRequest", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="execution_reports",
    )
    exec_type = models.CharField(max_length=2)
    ord_status = models.CharField(max_length=2)
    cl_ord_id = models.CharField(max_length=64, blank=True)
    orig_cl_ord_id = models.CharField(max_length=64, blank=True)
    venue_order_id = models.CharField(max_length=64, blank=True)
    ord_status_req_id = models.CharField(max_length=64, blank=True)
    ord_rej_reason = models.CharField(max_length=8, blank=True)
    order_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    last_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    last_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    cum_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    leaves_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    average_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    # Trades, busts and corrections: ExecRefID (19) names the trade busted or corrected;
    # LastLiquidityInd (851), Commission (12) and CommType (13) as sent.
    exec_ref_id = models.CharField(max_length=64, blank=True)
    last_liquidity = models.CharField(max_length=2, blank=True)
    commission = models.DecimalField(**MONEY_DIGITS, null=True, blank=True)
    commission_type = models.CharField(max_length=2, blank=True)
    text = models.CharField(max_length=200, blank=True)
    transact_time = models.DateTimeField(null=True, blank=True)
    msg_seq_num = models.PositiveIntegerField(null=True, blank=True)
    poss_dup = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)
    # Non-empty: the report could not be applied as it stands (unknown value, unknown order,
    # a move our rules forbid); an operator should look.
    flag = models.CharField(max_length=200, blank=True)
    raw = models.TextField(help_text="The message as received, SOH shown as |.")

    class Meta:
        ordering = ["id"]
        constraints = [
            # A report is a fact once: the same ExecID again (a resend, PossDup or not) is the
            # same fact. Status answers are snapshots, not facts; venues may reuse their id.
            models.UniqueConstraint(
                fields=["venue", "exec_id"],
                condition=~models.Q(exec_type=ORDER_STATUS_EXEC_TYPE),
                name="executionreport_unique_exec_id",
            ),
        ]
        indexes = [
            models.Index(fields=["order", "id"]),
            # Retention's selection of reports that matched no order (their own, by age):
            # they are few, and the index holds only them.
            models.Index(fields=["received_at"], condition=models.Q(order__isnull=True),
                         name="executionreport_unmatched"),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.exec_id} {self.exec_type_name}/{self.ord_status_name}"

    @property
    def exec_type_name(self) -> str:
        return EXEC_TYPES.get(self.exec_type, f"UNKNOWN({self.exec_type})")

    @property
    def ord_status_name(self) -> str:
        return ORD_STATUSES.get(self.ord_status, f"UNKNOWN({self.ord_status})")


class Instrument(models.Model):
    """What a symbol's prices may look like. A symbol without a row may have as many
    decimals as a price is stored with (8)."""

    symbol = models.CharField(primary_key=True, max_length=32)
    price_decimals = models.PositiveSmallIntegerField(
        default=PRICE_DIGITS["decimal_places"],
        validators=[MaxValueValidator(PRICE_DIGITS["decimal_places"])],
        help_text="Decimals a price of this symbol may have (a trade at a finer price is "
                  "stored, flagged, and not booked).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]

    def __str__(self) -> str:
        return self.symbol


class FillKind(models.TextChoices):
    TRADE = "TRADE"  # a trade the venue reported (150=F), with its ExecID
    # The venue's CumQty was ahead of the trades it reported to us (reports lost): the
    # difference, booked from its CumQty and AvgPx and flagged for an operator.
    RECONCILED = "RECONCILED"


class FillState(models.TextChoices):
    APPLIED = "APPLIED"  # in its order's cumQty and its position
    BUSTED = "BUSTED"  # the venue cancelled the trade (150=H): in neither any more
    # Stored, in neither: an overfill, a trade for an order that never lived at the venue,
    # or one the venue's CumQty says we counted already. For an operator.
    QUARANTINED = "QUARANTINED"


class QuarantineReason(models.TextChoices):
    OVERFILL = "OVERFILL"  # more filled than ordered
    NOT_LIVE = "NOT_LIVE"  # the order never lived at the venue (queued, rejected)
    COUNTED = "COUNTED"  # the venue's CumQty says it is in what we have already


class Liquidity(models.TextChoices):
    MAKER = "MAKER"  # 851=1: added liquidity
    TAKER = "TAKER"  # 851=2: removed liquidity
    ROUTED = "ROUTED"  # 851=3: routed out


class Fill(models.Model):
    venue = models.ForeignKey("venues.Venue", on_delete=models.PROTECT, related_name="+")
    exec_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=FillKind.choices, default=FillKind.TRADE)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="fills",
                              db_index=False)
    # The order's, copied: fills are listed and scoped by account and symbol.
    account = models.ForeignKey("orders.Account", on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4)
    # LastQty (32) and LastPx (31); after a correction, the corrected ones.
    last_quantity = models.DecimalField(**QUANTITY_DIGITS)
    last_price = models.DecimalField(**PRICE_DIGITS)
    liquidity = models.CharField(max_length=6, choices=Liquidity.choices, blank=True)
    # Commission in the instrument's currency (12, absolute by 13=3); negative: a rebate.
    fee = models.DecimalField(**MONEY_DIGITS, null=True, blank=True)
    transact_time = models.DateTimeField(help_text="TransactTime (60); when absent, when "
                                                   "the OMS received it.")
    state = models.CharField(max_length=12, choices=FillState.choices)
    quarantine_reason = models.CharField(max_length=10, choices=QuarantineReason.choices,
                                         blank=True)
    corrected = models.BooleanField(default=False)
    original_quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    original_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    # Non-empty: an operator should look (late, reconciled, quarantined).
    flag = models.CharField(max_length=200, blank=True)
    report = models.ForeignKey(ExecutionReport, on_delete=models.PROTECT, related_name="fills")
    # The latest bust or correction of it.
    amended_by = models.ForeignKey(ExecutionReport, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="amended_fills")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "exec_id"], name="fill_unique_exec_id"),
            models.CheckConstraint(condition=models.Q(last_quantity__gt=0)
                                   & models.Q(last_price__gt=0),
                                   name="fill_quantity_and_price_positive"),
        ]
        indexes = [
            models.Index(fields=["order", "id"]),
            models.Index(fields=["account", "symbol", "id"]),
            models.Index(fields=["transact_time"]),
            # /metrics' oms_fills_quarantined_total and oms_fills_reconciled_total: rare rows,
            # so each count reads only them (measured on a million fills,
            # tests/test_query_plans.py: a full scan before).
            models.Index(fields=["venue", "quarantine_reason"],
                         condition=~models.Q(quarantine_reason=""), name="fill_quarantined"),
            models.Index(fields=["venue"], condition=models.Q(kind="RECONCILED"),
                         name="fill_reconciled"),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.exec_id} {self.side} {self.last_quantity} " \
               f"{self.symbol} @ {self.last_price} ({self.state})"


class Position(models.Model):
    """Net quantity per account and symbol (buys +, sells -), at average cost."""

    account = models.ForeignKey("orders.Account", on_delete=models.PROTECT,
                                related_name="positions", db_index=False)
    symbol = models.CharField(max_length=32)
    net_quantity = models.DecimalField(**QUANTITY_DIGITS, default=0)
    # The average price of the open quantity (null when flat), to 8 places.
    average_cost = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    realized_pnl = models.DecimalField(**MONEY_DIGITS, default=0)
    fees = models.DecimalField(**MONEY_DIGITS, default=0)
    # The figures of its applied fills up to and including fill `carried_through` (an id),
    # carried forward when retention folded them in (executions/services/carry.py): the
    # position is these plus its applied fills after that id, replayed in booking order.
    # Zero and none before any fold.
    carried_through = models.BigIntegerField(default=0)
    carried_net_quantity = models.DecimalField(**QUANTITY_DIGITS, default=0)
    carried_average_cost = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    carried_realized_pnl = models.DecimalField(**MONEY_DIGITS, default=0)
    carried_fees = models.DecimalField(**MONEY_DIGITS, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"],
                                    name="position_unique_account_symbol"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.symbol} {self.net_quantity}"


class FillTally(models.Model):
    """Quarantined and reconciled fills that retention removed, per venue and what they
    were (`quarantined:<reason>`, `reconciled`): /metrics counts these plus the rows still
    there, so its counters of them never go down."""

    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["venue", "name"],
                                               name="filltally_unique_venue_name")]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.name}: {self.count}"
