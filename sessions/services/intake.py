"""Whether a venue takes orders now: intake asks on every order."""

from datetime import datetime

from django.utils import timezone

from sessions.errors import TradingHalted, VenueClosed
from sessions.models import SessionOverride, VenueSession
from sessions.selectors import (
    iso_instant,
    session_desired_state,
    session_for_intake,
    trading_halt_get,
)
from sessions.services.schedules import session_get_or_create_for_venue


def session_check_accepting(*, venue_code: str, now: datetime | None = None) -> None:
    """Raise VenueClosed (TradingHalted when halted) unless the venue takes orders now."""
    session = session_for_intake(venue_code=venue_code)
    if session is None:
        session_get_or_create_for_venue(venue_code=venue_code)
        session = session_for_intake(venue_code=venue_code)
    session_refuse_unless_accepting(session=session, now=now)


def session_refuse_unless_accepting(*, session: VenueSession, now: datetime | None = None) -> None:
    """Raise VenueClosed (TradingHalted when halted) unless the session takes orders now.

    `session` comes from session_for_intake (it carries `halted`). "Takes orders" is the
    desired state, not the logon: an order that arrives in the window while the logon is
    still on its way is accepted and waits in the queue.
    """
    venue_code = session.venue_id
    if session.halted:
        halt = trading_halt_get()
        if not halt.halted:  # the venue's own kill switch
            raise TradingHalted(
                f"Venue {venue_code} is halted ({session.kill_switch_reason}); no orders are "
                "accepted for it until an operator resumes it.",
                details={"venue": venue_code, "scope": "venue"},
            )
        raise TradingHalted(
            f"Trading is halted ({halt.reason}); no orders are accepted until an operator "
            "resumes trading.",
            details={"venue": venue_code},
        )
    desired = session_desired_state(session=session, now=now or timezone.now())
    if desired.logged_on:
        return
    if session.override == SessionOverride.CLOSED:
        raise VenueClosed(
            f"Venue {venue_code} is closed by an operator; no orders are accepted until "
            "it is reopened.",
            details={"venue": venue_code, "next_open": None},
        )
    next_open = iso_instant(desired.schedule.next_open)
    when = f"it next opens at {next_open}" if next_open else "it has no opening scheduled"
    raise VenueClosed(
        f"Venue {venue_code} is closed; {when}.",
        details={"venue": venue_code, "next_open": next_open},
    )
