"""The sessions app's raw SQL, in one place; each statement says what it exists for."""

from django.db import connection

from sessions.models import TradingHalt, VenueSession


def session_with_halt(*, venue_code: str, share_lock: bool = False) -> VenueSession | None:
    """The venue's session row with `halted` (bool: the global kill switch or the venue's
    own) attached, in one round trip.

    Intake asks this on every order, and every dispatcher claim and every batch the session
    holder writes asks it with `share_lock`: the ORM spent ~0.5 ms of CPU compiling the same
    query (with its Exists) on every order, as much as the two plain reads it replaces.
    `share_lock` takes FOR SHARE on both rows (PostgreSQL): a halt or a logout, which lock
    them for update, then waits for the caller's transaction, and every later one sees it.
    """
    share = " FOR SHARE" if share_lock and connection.vendor == "postgresql" else ""
    sessions = VenueSession.objects.raw(
        f"SELECT s.*, (COALESCE((SELECT h.halted FROM {TradingHalt._meta.db_table} h "
        f"WHERE h.id = %s{share}), FALSE) OR s.kill_switch) AS halted "
        f"FROM {VenueSession._meta.db_table} s WHERE s.venue_id = %s{share}",
        [TradingHalt.SINGLETON_PK, venue_code],
    )
    session = next(iter(sessions), None)
    if session is not None:
        session.halted = bool(session.halted)  # SQLite answers 0 / 1; no row: NULL
    return session
