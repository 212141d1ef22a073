"""Every row lock the sessions app takes goes through here, in one order: sessions by venue
code, then the halt row."""

from sessions.errors import VenueNotFound
from sessions.models import TradingHalt, VenueSession


def lock_session(venue_code: str) -> VenueSession:
    """Lock one venue's session row for update, until the transaction ends."""
    try:
        return VenueSession.objects.select_for_update().get(pk=venue_code)
    except VenueSession.DoesNotExist as exc:
        raise VenueNotFound(f"Venue {venue_code} has no trading session.") from exc


def lock_halt() -> TradingHalt:
    """Lock the kill switch's row for update. The row always exists (a migration made it);
    it is created here only for a database set up some other way."""
    TradingHalt.objects.get_or_create(pk=TradingHalt.SINGLETON_PK)
    return TradingHalt.objects.select_for_update().get(pk=TradingHalt.SINGLETON_PK)
