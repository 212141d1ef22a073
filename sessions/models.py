from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from sessions.schedule import Schedule
from venues.models import Venue


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
    """One venue's trading schedule, operator override and logon state.

    This row is what session_reconcile locks: a logon or logout for the venue is decided
    only while holding it, so two reconcilers never talk to the venue at once.
    """

    venue = models.OneToOneField(
        Venue, on_delete=models.CASCADE, primary_key=True, related_name="trading_session"
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
    override = models.CharField(
        max_length=6,
        choices=SessionOverride.choices,
        null=True,
        blank=True,
        help_text="Force open or closed; empty follows the schedule.",
    )
    state = models.CharField(
        max_length=12, choices=SessionState.choices, default=SessionState.LOGGED_OUT
    )
    state_changed_at = models.DateTimeField(default=timezone.now)
    # The logon/logout now waiting for the venue's answer. While it is set and
    # retry_after has not passed, reconcile leaves the venue to the worker that sent it.
    pending_event = models.ForeignKey(
        "SessionEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # No new logon/logout before this instant: the lease of an in-flight request, or the
    # back-off after a failed one.
    retry_after = models.DateTimeField(null=True, blank=True)
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
    PENDING = "PENDING"  # sent, no answer yet
    ACKNOWLEDGED = "ACKNOWLEDGED"
    FAILED = "FAILED"
    # The sender's lease ran out before it recorded an answer (it died or hung); a later
    # reconcile took the venue over.
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
        indexes = [models.Index(fields=["session", "-id"])]

    def __str__(self) -> str:
        return f"{self.type} {self.result or ''}".strip()


class TradingHalt(models.Model):
    """The kill switch: one row (pk=1). While halted nothing is sent to any venue."""

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

    def __str__(self) -> str:
        return f"{'HALT' if self.halted else 'RESUME'} by {self.actor}"
