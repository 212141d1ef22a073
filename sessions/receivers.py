from django.db.models.signals import post_save
from django.dispatch import receiver

from sessions import services
from venues.models import Venue


@receiver(post_save, sender=Venue, dispatch_uid="sessions.venue_session_on_create")
def venue_session_on_create(sender, instance: Venue, created: bool, raw: bool, **kwargs):
    # Every venue has a session from the moment it exists, so reconcile, intake and the API
    # never meet a venue without one. Fixture loading (raw) brings its own rows.
    if created and not raw:
        services.session_get_or_create_for_venue(venue_code=instance.code)
