from django.db import models
from uuid6 import uuid7

from orders.models import PRICE_DIGITS, QUANTITY_DIGITS, Order
from venues.models import Venue


class RequestKind(models.TextChoices):
    NEW = "NEW"
    MODIFY = "MODIFY"
    CANCEL = "CANCEL"


class RequestState(models.TextChoices):
    QUEUED = "QUEUED"  # waiting in the venue's queue; still editable
    SENDING = "SENDING"  # claimed by a dispatcher; its outcome is unknown until answered
    ANSWERED = "ANSWERED"  # the venue answered; see result
    WITHDRAWN = "WITHDRAWN"  # left the queue unsent (cancelled, expired, order closed)


class VenueResult(models.TextChoices):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"


class VenueRequest(models.Model):
    """One message for a venue. The outbound queue is this table.

    `id` is the queue's sequence: dispatchers claim a venue's QUEUED rows in id order with
    SELECT ... FOR UPDATE SKIP LOCKED. `request_id` is what the venue sees; a resend after a
    crash carries the same one (and the same clientOrderId), so the venue answers it as a
    duplicate instead of acting twice.
    """

    id = models.BigAutoField(primary_key=True)
    request_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="requests")
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(max_length=6, choices=RequestKind.choices)
    state = models.CharField(
        max_length=9, choices=RequestState.choices, default=RequestState.QUEUED
    )
    # A MODIFY's new terms; a NEW is sent with the order's terms as they are when claimed,
    # which is how an in-place modify of a queued order reaches the venue.
    quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    limit_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    message = models.JSONField(null=True, blank=True, help_text="What was sent.")
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=6, choices=VenueResult.choices, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    response = models.JSONField(null=True, blank=True)
    # Request written to the socket -> answer read, on a monotonic clock in the sending
    # process, in microseconds.
    latency_micros = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The queue's head: a partial index holds only waiting rows, so a claim costs the
            # same with 1,000 or 1,000,000 requests behind it.
            models.Index(
                fields=["venue", "id"],
                condition=models.Q(state="QUEUED"),
                name="venuerequest_queue_head",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(state="SENDING"),
                name="venuerequest_in_flight",
            ),
            models.Index(fields=["venue", "kind", "responded_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.order_id} {self.state}"


class UnmatchedResponse(models.Model):
    """A venue answer that matches no request in flight: kept and flagged, never dropped."""

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    request_id = models.CharField(max_length=64, blank=True)
    why = models.CharField(max_length=200)
    payload = models.JSONField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.request_id or '?'}: {self.why}"
