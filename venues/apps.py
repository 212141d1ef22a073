from django.apps import AppConfig
from django.db.models.signals import post_migrate


class VenuesConfig(AppConfig):
    name = "venues"
    verbose_name = "Venues"

    def ready(self) -> None:
        from venues.receivers import default_venue_after_migrate

        # Sent once per app after every migration has run; `sender=self`: once per migrate.
        post_migrate.connect(default_venue_after_migrate, sender=self,
                             dispatch_uid="venues.default_venue_after_migrate")
