"""The floor's three tables, shaped like ours: floor_order like orders_order, floor_orderevent
like orders_orderevent (with its txid column, migration 0002), floor_venuerequest like
dispatch_venuerequest: the same columns, types, defaults, checks, unique keys and indexes.

What differs: there is no account or venue table here, so `account_id` and `venue_id` are
plain columns of the same type and PostgreSQL checks no foreign key to them (ours checks
three at commit: the order's account and venue, the request's venue). The status, side and
type columns take any string of their length (ours: Django choices, which the database does
not see either)."""

from decimal import Decimal

from django.db import models
from uuid6 import uuid7

from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS

_CLOSED = ["CANCELED", "EXPIRED", "FILLED", "REJECTED"]


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account_id = models.CharField(max_length=32)
    client_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=4)
    order_type = models.CharField(max_length=10)
    quantity = models.DecimalField(**QUANTITY_DIGITS)
    limit_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    time_in_force = models.CharField(max_length=3)
    venue_id = models.CharField(max_length=16, null=True, blank=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               db_index=False, related_name="children")
    routing = models.CharField(max_length=12, default="DIRECTED")
    status = models.CharField(max_length=16)
    filled_quantity = models.DecimalField(**QUANTITY_DIGITS, default=Decimal(0))
    average_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    venue_order_id = models.CharField(max_length=64, blank=True)
    venue_cl_ord_id = models.CharField(max_length=64, blank=True)
    flag = models.CharField(max_length=200, blank=True)
    request_fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_id", "client_order_id"],
                                    name="floor_order_unique_client_order_id"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0),
                                   name="floor_order_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(filled_quantity__gte=0)
                & models.Q(filled_quantity__lte=models.F("quantity")),
                name="floor_order_filled_within_quantity"),
        ]
        indexes = [
            models.Index(fields=["venue_id", "status"], name="floor_order_venue_status"),
            models.Index(fields=["status"], name="floor_order_status"),
            models.Index(fields=["symbol", "-id"], name="floor_order_symbol_id"),
            models.Index(fields=["account_id", "symbol"], condition=~models.Q(
                status__in=_CLOSED), name="floor_order_open_by_account"),
            models.Index(fields=["parent"], condition=models.Q(parent__isnull=False),
                         name="floor_order_children"),
        ]


class OrderEvent(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=24)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.CharField(max_length=150)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class VenueRequest(models.Model):
    id = models.BigAutoField(primary_key=True)
    request_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="requests")
    # Ours is a foreign key, indexed (with its LIKE twin, as Django makes it for a varchar).
    venue_id = models.CharField(max_length=16, db_index=True)
    kind = models.CharField(max_length=6)
    state = models.CharField(max_length=9, default="QUEUED")
    quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    limit_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    message = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(auto_now_add=True)
    not_before = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    slot = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    msg_seq_num = models.PositiveIntegerField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveSmallIntegerField(default=0)
    responded_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=6, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    response = models.JSONField(null=True, blank=True)
    latency_micros = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["venue_id", "id"], condition=models.Q(state="QUEUED"),
                         name="floor_request_queue_head"),
            models.Index(fields=["venue_id", "id"],
                         condition=models.Q(state="SENDING", sent_at__isnull=True),
                         name="floor_request_unsent"),
            models.Index(fields=["claimed_at"], condition=models.Q(state="SENDING"),
                         name="floor_request_in_flight"),
            models.Index(fields=["venue_id", "kind", "responded_at"],
                         name="floor_request_responded"),
            models.Index(fields=["venue_id", "claimed_at"], name="floor_request_last_claim"),
        ]
