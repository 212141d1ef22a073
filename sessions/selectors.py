from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from sessions import sql
from sessions.errors import VenueNotFound
from sessions.models import (
    SessionEvent,
    SessionOverride,
    SessionState,
    TradingHalt,
    VenueSession,
)
from sessions.schedule import Schedule, ScheduleStatus, last_close, schedule_status


@dataclass(frozen=True, kw_only=True)
class DesiredSession:
    logged_on: bool
    reason: str
    schedule: ScheduleStatus


def session_desired_state(*, session: VenueSession, now: datetime) -> DesiredSession:
    """What the venue's session should be at `now`: the override beats the schedule. (The
    kill switch does not log venues out: cancels must still reach them.)"""
    status = schedule_status(session.schedule, now)
    if session.override == SessionOverride.OPEN:
        return DesiredSession(logged_on=True, reason="override OPEN", schedule=status)
    if session.override == SessionOverride.CLOSED:
        return DesiredSession(logged_on=False, reason="override CLOSED", schedule=status)
    if status.is_open:
        return DesiredSession(
            logged_on=True,
            reason=f"window open until {iso_instant(status.next_close)}",
            schedule=status,
        )
    return DesiredSession(logged_on=False, reason="window closed", schedule=status)


def iso_instant(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a Z, as the API renders instants."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def trading_halt_get() -> TradingHalt:
    # A migration makes the row; a database set up some other way may lack it: "not halted".
    return TradingHalt.objects.filter(pk=TradingHalt.SINGLETON_PK).first() or TradingHalt()


def session_for_intake(*, venue_code: str) -> VenueSession | None:
    """The venue's session with `halted` (bool) attached, in one query: order intake asks
    this on every order."""
    return sql.session_with_halt(venue_code=venue_code)


def session_get(*, venue_code: str) -> VenueSession:
    session = VenueSession.objects.filter(pk=venue_code).first()
    if session is None:
        raise VenueNotFound(f"Venue {venue_code} has no trading session.")
    return session


def halt_reason_for(*, venue_code: str) -> str | None:
    """Why no replace may go to this venue now (the global kill switch, or the venue's), or
    None when neither is on."""
    halt = trading_halt_get()
    if halt.halted:
        return f"trading is halted ({halt.reason})"
    session = VenueSession.objects.filter(pk=venue_code, kill_switch=True).first()
    if session is not None:
        return f"venue {venue_code} is halted ({session.kill_switch_reason})"
    return None


def session_is_logged_on(*, venue_code: str) -> bool:
    """The venue's FIX session is up and should stay so: orders may be claimed for it."""
    return VenueSession.objects.filter(
        pk=venue_code, state=SessionState.LOGGED_ON, desired=SessionState.LOGGED_ON
    ).exists()


def session_with_status(
    session: VenueSession, *, halted: bool, now: datetime | None = None
) -> VenueSession:
    """Attach what the API shows beside the row: `now_desired` (the schedule's answer now,
    which reconcile records within a second) and `halted`."""
    session.now_desired = session_desired_state(session=session, now=now or timezone.now())
    session.halted = halted
    session.accepting = (session.now_desired.logged_on and not halted
                         and not session.kill_switch)
    return session


def session_list_with_status(*, now: datetime | None = None) -> list[VenueSession]:
    halted = trading_halt_get().halted
    now = now or timezone.now()
    return [
        session_with_status(session, halted=halted, now=now)
        for session in VenueSession.objects.order_by("venue_id")
    ]


def session_recent_events(*, venue_code: str, limit: int = 50) -> list[SessionEvent]:
    return list(SessionEvent.objects.filter(session_id=venue_code).order_by("-id")[:limit])


@dataclass(frozen=True, kw_only=True)
class SendGate:
    """What a sender must know, under share locks, before it writes to a venue."""

    desired_on: bool  # the schedule / override want the session up
    logged_on: bool  # the session's holder recorded it up
    halted: bool  # the kill switch: no NewOrderSingle or replace
    schedule: Schedule

    @property
    def open(self) -> bool:
        return self.desired_on and self.logged_on

    def last_close(self, now: datetime) -> datetime | None:
        return last_close(self.schedule, now)


def session_gate_for_send(*, venue_code: str, hold: bool = True) -> SendGate | None:
    """In the caller's transaction: may messages go on the wire to this venue, and (`hold`)
    keep it so.

    On PostgreSQL the venue's session row and the halt row are share-locked until the caller
    commits, so a logout (reconcile) or a halt, which lock those rows for update, waits for
    a write already under way, and no write starts after either has committed. SQLite runs
    one writing transaction at a time (IMMEDIATE), which gives the same order.
    """
    session = sql.session_with_halt(venue_code=venue_code, share_lock=hold)
    if session is None:
        return None
    return SendGate(
        desired_on=session.desired == SessionState.LOGGED_ON,
        logged_on=session.state == SessionState.LOGGED_ON,
        halted=session.halted,
        schedule=session.schedule,
    )
