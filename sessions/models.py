from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from sessions.schedule import Schedule


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not an IANA time zone name.") from exc


def validate_weekdays(value) -> None:
    if not isinstance(value, list) or not all(
        isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 7 for day in value
    ):
        raise ValidationError("A list of ISO weekday numbers: 1 (Monday) to 7 (Sunday).")
    if len(set(value)) != len(value):
        raise ValidationError("Each weekday at most once.")


def validate_holidays(value) -> None:
    if not isinstance(value, list):
        raise ValidationError("A list of dates, YYYY-MM-DD.")
    for item in value:
        try:
            date.fromisoformat(item)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{item!r} is not a date (YYYY-MM-DD).") from exc


class SessionState(models.TextChoices):
    LOGGED_OUT = "LOGGED_OUT"
    LOGGING_ON = "LOGGING_ON"
    LOGGED_ON = "LOGGED_ON"
    LOGGING_OFF = "LOGGING_OFF"


class SessionOverride(models.TextChoices):
    OPEN = "OPEN", "Force open"
    CLOSED = "CLOSED", "Force closed"


class VenueSession(models.Model):
    """One venue's trading schedule, operator override, and its session: `desired` (what the
    override and schedule say now, kept by beat's reconcile; the kill switch does not log
    out) and `state` (what the FIX session is, recorded by the process that holds it). The
    holder logs on or off whenever the two differ.

    Dispatchers and the session holder share-lock this row while they put messages on the
    wire; reconcile locks it for update to change `desired`, so a logout waits for a send
    already under way and no send starts after it (sessions/selectors.py).
    """

    venue = models.OneToOneField(
        "venues.Venue", on_delete=models.CASCADE, primary_key=True,
        related_name="trading_session",
    )
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="IANA name, e.g. Europe/London."
    )
    open_time = models.TimeField(help_text="Local wall time the window opens.")
    close_time = models.TimeField(
        help_text="Local wall time the window closes; earlier than the open means the next day."
    )
    weekdays = models.JSONField(
        validators=[validate_weekdays],
        help_text="ISO weekdays on which the window opens: 1 = Monday ... 7 = Sunday.",
    )
    holidays = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_holidays],
        help_text="Local dates (YYYY-MM-DD) on which the window does not open.",
    )
    calendar = models.CharField(
        max_length=16, blank=True, default="",
        help_text="An exchange calendar (XNYS, XLON, ...): its sessions, holidays and early "
        "closes replace the times and weekdays above; empty uses them.",
    )
    override = models.CharField(
        max_length=6,
        choices=SessionOverride.choices,
        null=True,
        blank=True,
        help_text="Force open or closed; empty follows the schedule.",
    )
    # The venue's own kill switch, beside the global one (TradingHalt): no NewOrderSingle or
    # replace to this venue leaves while it is on; cancels do, and the session stays up.
    kill_switch = models.BooleanField(default=False)
    kill_switch_reason = models.CharField(max_length=200, blank=True)
    desired = models.CharField(
        max_length=12, choices=SessionState.choices, default=SessionState.LOGGED_OUT,
        help_text="LOGGED_ON or LOGGED_OUT: what reconcile decided the session should be.",
    )
    desired_reason = models.CharField(max_length=200, blank=True)
    state = models.CharField(
        max_length=12, choices=SessionState.choices, default=SessionState.LOGGED_OUT,
        help_text="The FIX session as its holder last recorded it.",
    )
    state_changed_at = models.DateTimeField(default=timezone.now)
    # The LOGON/LOGOUT reconcile asked for and the session's holder has not yet carried out.
    pending_event = models.ForeignKey(
        "SessionEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The latest window close that session_window_closed has been sent for.
    close_announced_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["venue_id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(open_time=models.F("close_time")),
                name="venue_session_window_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.venue_id} {self.state}"

    @property
    def venue_code(self) -> str:
        return self.venue_id

    @property
    def schedule(self) -> Schedule:
        return Schedule(
            time_zone=self.time_zone,
            open_time=_as_time(self.open_time),
            close_time=_as_time(self.close_time),
            weekdays=frozenset(self.weekdays),
            holidays=frozenset(date.fromisoformat(day) for day in self.holidays),
            calendar=self.calendar,
        )


def _as_time(value: time | str) -> time:
    # An instance built in memory (admin form, tests) may still hold the string it was given.
    return value if isinstance(value, time) else time.fromisoformat(value)


class SessionEventType(models.TextChoices):
    CREATED = "CREATED"
    UPDATED = "UPDATED"  # an operator changed the schedule or the override
    LOGON = "LOGON"
    LOGOUT = "LOGOUT"


class SessionEventResult(models.TextChoices):
    PENDING = "PENDING"  # asked for by reconcile, not yet carried out by the session holder
    ACKNOWLEDGED = "ACKNOWLEDGED"  # the venue answered the Logon / Logout
    FAILED = "FAILED"
    # Superseded before it was carried out (the schedule or the override changed again).
    ABANDONED = "ABANDONED"


class SessionEvent(models.Model):
    """The session history: every logon, logout and operator edit of a venue's session."""

    session = models.ForeignKey(VenueSession, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=8, choices=SessionEventType.choices)
    actor = models.CharField(max_length=150, help_text="Username, or system:<component>.")
    reason = models.CharField(max_length=200, blank=True)
    result = models.CharField(max_length=12, choices=SessionEventResult.choices, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["session", "-id"]),
            # Retention's selection, oldest first, of what is past the retention.
            models.Index(fields=["created_at"], name="sessionevent_created"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.result or ''}".strip()


class TradingHalt(models.Model):
    """The kill switch: one row (pk=1), created by a migration so that even the first halt
    ever has a row to lock. While halted no NewOrderSingle or replace leaves for any venue;
    cancels and status requests still go, and sessions stay logged on."""

    SINGLETON_PK = 1

    id = models.PositiveSmallIntegerField(
        primary_key=True, default=SINGLETON_PK, editable=False
    )
    halted = models.BooleanField(default=False)
    reason = models.CharField(max_length=200, blank=True)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="trading_halt_singleton"),
        ]

    def __str__(self) -> str:
        return "Trading HALTED" if self.halted else "Trading enabled"


class TradingHaltEvent(models.Model):
    """Audit trail of the kill switch."""

    halt = models.ForeignKey(TradingHalt, on_delete=models.CASCADE, related_name="events")
    halted = models.BooleanField()
    reason = models.CharField(max_length=200, blank=True)
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Retention's selection, oldest first, of what is past the retention.
            models.Index(fields=["created_at"], name="tradinghaltevent_created"),
        ]

    def __str__(self) -> str:
        return f"{'HALT' if self.halted else 'RESUME'} by {self.actor}"
