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


def locked_with_orders_skipping(requests: QuerySet) -> QuerySet:
    """Lock those of these requests nobody holds, and their orders, in queue order; a
    request somebody holds, or whose order somebody holds, is left (as a claim does). For
    who writes a row about the order (a STATUS request): the new row's foreign key
    share-locks the order at commit (deferred), and waiting for an order while holding its
    request is the books' lock order reversed (tests/dispatch/test_sweep_locks.py)."""
    return (requests.select_related("order")
            .select_for_update(skip_locked=True, of=("self", "order")).order_by("id"))
