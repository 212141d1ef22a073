from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from sessions.errors import VenueNotFound
from sessions.models import (
    SessionEvent,
    SessionOverride,
    SessionState,
    TradingHalt,
    VenueSession,
)
from sessions.schedule import ScheduleStatus, schedule_status


@dataclass(frozen=True, kw_only=True)
class DesiredSession:
    logged_on: bool
    reason: str
    schedule: ScheduleStatus


def session_desired_state(
    *, session: VenueSession, halted: bool, now: datetime
) -> DesiredSession:
    """What the venue's session should be at `now`. The halt beats the override, which beats
    the schedule."""
    status = schedule_status(session.schedule, now)
    if halted:
        return DesiredSession(logged_on=False, reason="trading halted", schedule=status)
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
    # A database that has never been halted has no row: that is "not halted".
    return TradingHalt.objects.filter(pk=TradingHalt.SINGLETON_PK).first() or TradingHalt()


def session_for_intake(*, venue_code: str) -> VenueSession | None:
    """The venue's session with `halted` (bool) attached, in one query: order intake asks
    this on every order, so the session and the halt are not two round trips.

    Raw SQL because the ORM spent ~0.5 ms of CPU compiling the same query (with its Exists)
    on every order, as much as the two plain reads it replaces.
    """
    sessions = VenueSession.objects.raw(
        f"SELECT s.*, EXISTS (SELECT 1 FROM {TradingHalt._meta.db_table} h "
        f"WHERE h.id = %s AND h.halted) AS halted "
        f"FROM {VenueSession._meta.db_table} s WHERE s.venue_id = %s",
        [TradingHalt.SINGLETON_PK, venue_code],
    )
    session = next(iter(sessions), None)
    if session is not None:
        session.halted = bool(session.halted)  # SQLite answers 0 / 1
    return session


def session_get(*, venue_code: str) -> VenueSession:
    session = VenueSession.objects.filter(pk=venue_code).first()
    if session is None:
        raise VenueNotFound(f"Venue {venue_code} has no trading session.")
    return session


def session_is_logged_on(*, venue_code: str) -> bool:
    """The venue acknowledged our logon and we have not started logging out."""
    return VenueSession.objects.filter(pk=venue_code, state=SessionState.LOGGED_ON).exists()


def session_can_send(*, venue_code: str) -> bool:
    """Orders may go on the wire to this venue now: logged on, and trading not halted.

    The halt takes effect here at once, before reconcile has logged the venues out.
    """
    return not trading_halt_get().halted and session_is_logged_on(venue_code=venue_code)


def session_with_status(
    session: VenueSession, *, halted: bool, now: datetime | None = None
) -> VenueSession:
    """Attach what the API shows beside the row: `desired` and `halted`."""
    session.desired = session_desired_state(
        session=session, halted=halted, now=now or timezone.now()
    )
    session.halted = halted
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


def session_hold_for_send(*, venue_code: str) -> bool:
    """In the caller's transaction: may orders go on the wire to this venue, and keep it so.

    On PostgreSQL the venue's session row and the halt row are share-locked until the
    caller commits, so a logout (reconcile) or a halt, which lock those rows for update,
    waits for sends already under way, and no send starts after either has committed.
    """
    session_table = VenueSession._meta.db_table
    halt_table = TradingHalt._meta.db_table
    share = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        # One round trip: this runs once per send.
        cursor.execute(
            f"SELECT s.state, (SELECT h.halted FROM {halt_table} h WHERE h.id = %s{share}) "
            f"FROM {session_table} s WHERE s.venue_id = %s{share}",
            [TradingHalt.SINGLETON_PK, venue_code],
        )
        row = cursor.fetchone()
    return row is not None and row[0] == SessionState.LOGGED_ON and not row[1]
