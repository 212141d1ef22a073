"""Reads of venue configuration, with the venue's trading session and FIX session beside it
(one query: the API and the admin list show all three)."""

from django.db.models import QuerySet

from sessions.errors import VenueNotFound
from venues.models import Venue


def venue_list() -> QuerySet[Venue]:
    return Venue.objects.select_related("trading_session", "fix_session").order_by("code")


def venue_get(*, code: str) -> Venue:
    venue = venue_list().filter(pk=code).first()
    if venue is None:
        raise VenueNotFound(f"Unknown venue {code}.")
    return venue
