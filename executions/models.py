"""The ledger of what venues reported: every ExecutionReport (35=8), stored once per venue
and ExecID, with what it said and how the OMS read it. The order's figures are derived from
these in the same transaction (orders/reports.py), so a replayed report changes nothing."""

from django.db import models

from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS

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
        indexes = [models.Index(fields=["order", "id"])]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.exec_id} {self.exec_type_name}/{self.ord_status_name}"

    @property
    def exec_type_name(self) -> str:
        return EXEC_TYPES.get(self.exec_type, f"UNKNOWN({self.exec_type})")

    @property
    def ord_status_name(self) -> str:
        return ORD_STATUSES.get(self.ord_status, f"UNKNOWN({self.ord_status})")
