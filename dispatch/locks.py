"""Every row lock dispatch takes on the queue goes through here (the claim locks in its own
statement: dispatch/sql.py). The books lock an order before its requests; the session's
holder, the sweeper and claims skip rows somebody holds rather than wait, so nobody waits in
a circle."""

from django.db.models import QuerySet


def locked(requests: QuerySet) -> QuerySet:
    """Wait for and lock these requests, in queue order."""
    return requests.select_for_update().order_by("id")


def locked_skipping(requests: QuerySet) -> QuerySet:
    """Lock those of these requests nobody holds, in queue order; the others are left."""
    return requests.select_for_update(skip_locked=True, of=("self",)).order_by("id")
