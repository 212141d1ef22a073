from django.conf import settings

from venues.models import Venue


def venue_get_or_create_default() -> Venue:
    """The configured default venue, created on first use so a fresh install can trade."""
    venue, _ = Venue.objects.get_or_create(
        code=settings.OMS_DEFAULT_VENUE,
        defaults={
            "name": "Default venue",
            "throttle_per_second": settings.OMS_THROTTLE_PER_SECOND,
        },
    )
    return venue
