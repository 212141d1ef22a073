from django.db import models
from uuid6 import uuid7

from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS


class RequestKind(models.TextChoices):
    NEW = "NEW"  # FIX NewOrderSingle (35=D)
    MODIFY = "MODIFY"  # OrderCancelReplaceRequest (35=G)
    CANCEL = "CANCEL"  # OrderCancelRequest (35=F)
    STATUS = "STATUS"  # OrderStatusRequest (35=H): what the venue says the order is


class RequestState(models.TextChoices):
    QUEUED = "QUEUED"  # waiting in the venue's queue; still editable
    # Claimed by a dispatcher and committed as possibly on the wire, before any byte of it can
    # be: from here a cancel or modify of the order goes to the venue, never only to our
    # books. `sent_at` is set by the session holder when it writes the message.
    SENDING = "SENDING"
    ANSWERED = "ANSWERED"  # the venue answered; see result
    WITHDRAWN = "WITHDRAWN"  # left the queue unsent (cancelled, expired, order closed)


class VenueResult(models.TextChoices):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"


class VenueRequest(models.Model):
    """One message for a venue. The outbound queue is this table.

    `id` is the queue's sequence: a dispatcher claims a venue's QUEUED rows in id order with
    SELECT ... FOR UPDATE SKIP LOCKED, one claim at a time per venue, so they are committed,
    and written to the wire by the session's holder, in that order. `request_id` is the
    message's FIX ClOrdID (OrdStatusReqID for a STATUS); a resend carries the same one, so
    the venue answers it as a duplicate instead of acting twice.
    """

    id = models.BigAutoField(primary_key=True)
    request_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="requests")
    venue = models.ForeignKey("venues.Venue", on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(max_length=6, choices=RequestKind.choices)
    state = models.CharField(
        max_length=9, choices=RequestState.choices, default=RequestState.QUEUED
    )
    # A MODIFY's new terms; a NEW is sent with the order's terms as they are when claimed,
    # which is how an in-place modify of a queued order reaches the venue.
    quantity = models.DecimalField(**QUANTITY_DIGITS, null=True, blank=True)
    limit_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    stop_price = models.DecimalField(**PRICE_DIGITS, null=True, blank=True)
    message = models.JSONField(null=True, blank=True, help_text="What was sent (FIX fields).")
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(auto_now_add=True)
    # Not before this instant (a retry's back-off): the claim skips it until then.
    not_before = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    # The rate-limit slot the claim took (dispatch/limiter.py): completed when the venue's
    # first answer is read, released if the message never leaves.
    slot = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    msg_seq_num = models.PositiveIntegerField(null=True, blank=True, help_text="FIX 34.")
    # Its outcome is unknown (no answer in time): when we last asked the venue (35=H).
    checked_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveSmallIntegerField(default=0)
    responded_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=6, choices=VenueResult.choices, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    response = models.JSONField(null=True, blank=True)
    # Written to the socket -> the venue's first answer to it read, on the session holder's
    # monotonic clock, in microseconds.
    latency_micros = models.BigIntegerField(null=True, blank=True)
    # Done (answered or withdrawn) and folded into RequestTally by dispatch/tally.py: /metrics
    # counts it there from now on, and retention may remove it.
    tallied = models.BooleanField(default=False)

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
            # Claimed and not yet written: what the session holder sends next, in order.
            models.Index(
                fields=["venue", "id"],
                condition=models.Q(state="SENDING", sent_at__isnull=True),
                name="venuerequest_unsent",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(state="SENDING"),
                name="venuerequest_in_flight",
            ),
            models.Index(fields=["venue", "kind", "responded_at"]),
            # The venue's latest claim, asked when Redis lost the limiter's log
            # (dispatch/limiter.py): one index lookup however long the history.
            models.Index(fields=["venue", "claimed_at"], name="venuerequest_last_claim"),
            # What /metrics counts row by row: requests not yet folded into RequestTally (the
            # open ones and those done since the last tally). Measured on a million
            # requests (tests/test_query_plans.py): the scrape's GROUP BY read all of them
            # before; now it reads the few in this index, and the tally's rows.
            models.Index(fields=["venue", "kind"], condition=models.Q(tallied=False),
                         name="venuerequest_untallied"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.order_id} {self.state}"

    @property
    def cl_ord_id(self) -> str:
        return str(self.request_id)


class UnmatchedResponse(models.Model):
    """A venue message that matches no request or order, or that could not be applied: kept
    and flagged for an operator, never dropped."""

    venue = models.ForeignKey("venues.Venue", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    request_id = models.CharField(max_length=64, blank=True)
    why = models.CharField(max_length=200)
    payload = models.JSONField()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Retention's selection, oldest first, of what is past the retention: the scan
            # stops at the first row that is not.
            models.Index(fields=["received_at"], name="unmatchedresponse_received"),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.request_id or '?'}: {self.why}"


class RequestTally(models.Model):
    """/metrics' counters of done requests, per venue and kind: what dispatch/tally.py has
    folded in (each request once, in the transaction that marks it `tallied`). A scrape adds
    the requests not yet folded in, so it never reads the history, and the counters do not
    fall when retention removes old requests."""

    venue = models.ForeignKey("venues.Venue", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=6, choices=RequestKind.choices)
    sent = models.BigIntegerField(default=0)  # with sent_at: written at least once
    answered = models.BigIntegerField(default=0)  # with a measured round trip
    latency_sum_micros = models.BigIntegerField(default=0)
    # {"<upper bound, microseconds>": answered requests at or under it}: cumulative, as
    # Prometheus's buckets are (dispatch/tally.py, LATENCY_BUCKETS_SECONDS).
    buckets = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["venue", "kind"],
                                               name="requesttally_unique_venue_kind")]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.kind}: {self.sent} sent, {self.answered} answered"
