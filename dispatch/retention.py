"""What retention removes of the dispatch app: the requests of done orders it removes, and
messages no request matched, once older than the retention. Never a request queued or
claimed (in flight), never one /metrics has not counted yet (dispatch/tally.py).

Requests go with their order, not on their own: an open order's answered NEW is how the
books know the venue once accepted it (dispatch.queue.new_request_answered), which decides
what a later "unknown order" answer means (orders/services/venue_status.py)."""

from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.db.models import Q

from dispatch.models import RequestState, UnmatchedResponse, VenueRequest
from omsproject.archive import Archive

_IN_FLIGHT = (RequestState.QUEUED, RequestState.SENDING)


def orders_with_requests_in_use(*, order_ids: list[UUID]) -> set[UUID]:
    """Those of these orders with a request still queued or claimed, or not yet tallied:
    they are not to be removed yet."""
    return set(VenueRequest.objects.filter(order_id__in=order_ids)
               .filter(Q(state__in=_IN_FLIGHT) | Q(tallied=False))
               .values_list("order_id", flat=True).distinct())


def requests_remove(*, order_ids: list[UUID], archive: Archive) -> int:
    """Remove the requests of these orders (locked, done, being removed), in the caller's
    transaction; reports still naming one (none, once the orders' own are gone) lose the
    link (SET_NULL)."""
    rows = VenueRequest.objects.filter(order_id__in=order_ids)
    archive.keep(rows)
    return rows.delete()[1].get(VenueRequest._meta.label, 0)


def unmatched_prune(*, before: datetime, batch: int, archive: Archive) -> int:
    """One batch (its own transaction) of venue messages that matched nothing, stored
    before `before` (selected through unmatchedresponse_received)."""
    with transaction.atomic():
        pks = list(UnmatchedResponse.objects.select_for_update(skip_locked=True)
                   .filter(received_at__lt=before).order_by("received_at")
                   .values_list("pk", flat=True)[:batch])
        rows = UnmatchedResponse.objects.filter(pk__in=pks)
        archive.keep(rows)
        return rows.delete()[0] if pks else 0
