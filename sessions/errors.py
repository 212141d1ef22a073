from omsproject.errors import DomainError, NotFound


class VenueNotFound(NotFound):
    code = "venue_not_found"


class VenueClosed(DomainError):
    """An order arrived while the venue does not trade: outside its window, or forced closed.

    409 Conflict, like the other "the current state forbids this" errors: the request is
    well formed and may succeed unchanged once the venue opens.
    """

    code = "venue_closed"


class TradingHalted(VenueClosed):
    """The kill switch is on. A VenueClosed, so intake that catches one catches both."""

    code = "trading_halted"
