from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

# Printable, no spaces and no SOH or "|": a CompID is written raw into every FIX header.
COMP_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
COMP_ID = RegexValidator(COMP_ID_PATTERN, "Letters, digits, _ . - (at most 64).")
# The characters a host may hold; its structure (labels, or an IP address) is checked by
# venues.services.venue_host_problem, which a regex alone would state unreadably.
HOST_PATTERN = r"^[A-Za-z0-9.:_-]{1,255}$"
HOST = RegexValidator(HOST_PATTERN, "A host name or IP address.")
VENUE_CODE_PATTERN = r"^[A-Z0-9_]{2,16}$"
# Bounds the API, the admin and the model share (the API's schema states them).
PORT_MAX = 65535
HEARTBEAT_MAX_SECONDS = 300
THROTTLE_MAX_PER_SECOND = 100_000
# A fee per share: a fraction of a cent in practice; 6 places take a mill's hundredths.
FEE_DIGITS = {"max_digits": 12, "decimal_places": 6}


class Venue(models.Model):
    """An exchange venue orders are routed to, and how the OMS reaches it over FIX 4.4.

    Every queue, limit and session is per venue. (fix_host, fix_port, sender_comp_id,
    target_comp_id) is the FIX session's identity: two venues may not share one, or two
    sessions with the same CompIDs would be opened to the same counterparty.
    """

    code = models.CharField(
        primary_key=True,
        max_length=16,
        validators=[RegexValidator(VENUE_CODE_PATTERN, "Upper-case letters, digits, _")],
        help_text="Short venue code, e.g. an ISO 10383 MIC.",
    )
    name = models.CharField(max_length=100, blank=True)
    throttle_per_second = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(THROTTLE_MAX_PER_SECOND)],
        help_text="Most messages sent to this venue in any sliding one-second window.",
    )
    fix_host = models.CharField(max_length=255, default="127.0.0.1", validators=[HOST])
    fix_port = models.PositiveIntegerField(
        default=9878, validators=[MinValueValidator(1), MaxValueValidator(PORT_MAX)]
    )
    sender_comp_id = models.CharField(
        max_length=64, default="OMS", validators=[COMP_ID], help_text="Our CompID (49)."
    )
    target_comp_id = models.CharField(
        max_length=64, validators=[COMP_ID], help_text="The venue's CompID (56); default: its code."
    )
    heartbeat_seconds = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(HEARTBEAT_MAX_SECONDS)],
        help_text="HeartBtInt (108): a peer silent for longer is tested, then dropped.",
    )
    reset_seq_num_on_logon = models.BooleanField(
        default=False,
        help_text="Log on with ResetSeqNumFlag (141=Y): both sides start again at 1. Only "
        "for venues that expect it; otherwise sequence numbers continue across logons.",
    )
    # What the venue charges per share: routing weighs them against prices (routing/).
    maker_fee_per_share = models.DecimalField(
        **FEE_DIGITS, default=Decimal(0),
        help_text="Charged per share for adding liquidity (a resting order filled); "
        "negative is a rebate.",
    )
    taker_fee_per_share = models.DecimalField(
        **FEE_DIGITS, default=Decimal(0),
        help_text="Charged per share for taking liquidity (an order that fills on arrival); "
        "negative is a rebate.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["fix_host", "fix_port", "sender_comp_id", "target_comp_id"],
                name="venue_unique_fix_session",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        if not self.target_comp_id:
            self.target_comp_id = self.code
        super().save(*args, **kwargs)

    @property
    def fix_identity(self) -> tuple:
        """What a change of makes the running session a different one (reconnect)."""
        return (self.fix_host, self.fix_port, self.sender_comp_id, self.target_comp_id,
                self.heartbeat_seconds, self.reset_seq_num_on_logon)


class FixSessionState(models.TextChoices):
    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"  # enabled, connecting or waiting for the Logon answer
    LOGGED_ON = "LOGGED_ON"
    LOGGING_OUT = "LOGGING_OUT"  # letting answers in flight arrive, then Logout


class FixSession(models.Model):
    """The venue's FIX session as the wire has it: who holds the connection, its state and
    its sequence numbers, kept here so a restart on any host continues them.

    Exactly one process holds a venue's session at a time: the one whose lease (`owner`,
    `lease_until`, on the database's clock) is current. The holder renews it every few
    seconds and drops the connection itself if it cannot, before anyone may take over.

    Sequence numbers: `next_target_seq` is the next MsgSeqNum we expect from the venue.
    `next_sender_seq` is exact after a clean stop; while a holder runs, every MsgSeqNum it
    may use is below `sender_seq_reserved` (reserved ahead, in blocks), so a successor after
    a crash starts there: a gap the venue fills by ResendRequest, never a number used twice
    (which FIX cannot recover from).
    """

    venue = models.OneToOneField(
        Venue, on_delete=models.CASCADE, primary_key=True, related_name="fix_session"
    )
    state = models.CharField(
        max_length=12, choices=FixSessionState.choices, default=FixSessionState.DISCONNECTED
    )
    state_changed_at = models.DateTimeField(default=timezone.now)
    owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_sender_seq = models.PositiveIntegerField(default=1)
    sender_seq_reserved = models.PositiveIntegerField(default=1)
    next_target_seq = models.PositiveIntegerField(default=1)
    clean_stop = models.BooleanField(default=True)
    last_logon_at = models.DateTimeField(null=True, blank=True)
    last_logout_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["venue_id"]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.state}"
