"""The default venue, and the demo venues of OMS_DEMO_VENUES, exist as soon as the database
is migrated, so an operator can set a venue's schedule (GET/PATCH /api/v1/sessions) before
the first order.

A post_migrate receiver rather than a data migration: the venue is made from settings
(OMS_DEFAULT_VENUE and its FIX settings, OMS_DEMO_SESSION's schedule), which a migration
would freeze at the values of the day it first ran, and it goes through the same service as
every other venue (venues.services.venue_get_or_create_default). It runs after every
`migrate` (and `flush`) and changes nothing when the venue exists: an operator's edits stay.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from venues.services import venue_get_or_create_default, venue_get_or_create_demos


def default_venue_after_migrate(*, using: str = DEFAULT_DB_ALIAS, **_kwargs) -> None:
    if not settings.OMS_DEFAULT_VENUE_ON_MIGRATE or using != DEFAULT_DB_ALIAS:
        return
    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return  # migrated to an older state on purpose: the tables may not match the models
    venue_get_or_create_demos()  # first: the default venue may be one of them, with its limit
    venue_get_or_create_default()
