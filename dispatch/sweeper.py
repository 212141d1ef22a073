"""Beat's sweeper: find what waits too long and act, so that nothing depends on a Celery
message or an answer arriving.

* A request claimed longer ago than the answer timeout and still unanswered has an unknown
  outcome (the holder died mid-write, the venue went quiet, a wake-up was lost): the venue is
  asked (a STATUS request, FIX 35=H) and its answer settles it (orders/services/venue_status.py). It
  is asked again, with back-off, until it answers.
* A status request that itself got no answer is withdrawn, so the next sweep asks afresh
  about the stale request behind it; a logon's question, with none behind it, is asked
  again at once if its order is still open (the books decide: signals.py).
* Every venue with queued work and a session that can take it is nudged: Celery messages
  are only nudges, and one lost with a Redis restart must not leave work waiting.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dispatch.locks import locked_with_orders_skipping
from dispatch.models import RequestKind, RequestState, VenueRequest
from dispatch.nudge import dispatch_nudge
from dispatch.queue import request_enqueue, request_withdraw, status_pending
from dispatch.signals import status_questions_given_up
from sessions.selectors import session_is_logged_on

BATCH = 500


def _ask_again_after(checks: int) -> timedelta:
    # Back-off for a venue that does not answer: the timeout, doubled per check, at most 1 min.
    base = settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS
    return timedelta(seconds=min(base * 2 ** max(checks - 1, 0), 60))


def _unanswered(order_id) -> bool:
    """The order has a claimed request other than a question: the sweep asks about that."""
    return VenueRequest.objects.filter(order_id=order_id, state=RequestState.SENDING).exclude(
        kind=RequestKind.STATUS).exists()


def dispatch_sweep(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    timeout = timedelta(seconds=settings.OMS_DISPATCH_ANSWER_TIMEOUT_SECONDS)
    asked = given_up = 0
    orphans: dict[str, list] = {}
    with transaction.atomic():
        stale = locked_with_orders_skipping(VenueRequest.objects.filter(
            state=RequestState.SENDING, claimed_at__lt=now - timeout))[:BATCH]
        for request in stale:
            if request.kind == RequestKind.STATUS:
                if request.claimed_at < now - 2 * timeout:
                    request_withdraw(request, why="the venue did not answer the status request")
                    given_up += 1
                    if not _unanswered(request.order_id):
                        # A logon's question, not one about a request of its order: nothing
                        # stale brings it back, so the books ask again if the order is open.
                        orphans.setdefault(request.venue_id, []).append(request.order_id)
                continue
            if request.checked_at is not None and (
                request.checked_at > now - _ask_again_after(request.checks)
            ):
                continue
            if status_pending(order_id=request.order_id):
                continue  # a question about its order is already waiting for an answer
            request_enqueue(order_id=request.order_id, venue_code=request.venue_id,
                            kind=RequestKind.STATUS)
            request.checked_at = now
            request.checks += 1
            request.save(update_fields=["checked_at", "checks"])
            asked += 1
        for venue_code, order_ids in orphans.items():
            answers = status_questions_given_up.send(sender=None, venue_code=venue_code,
                                                     order_ids=order_ids)
            asked += sum(count for _, count in answers if isinstance(count, int))
    # order_by(): the model's default ordering (id) would join the DISTINCT, giving one
    # venue per queued request, and a nudge each (2,000 a sweep behind a 2,000 backlog).
    venues = list(
        VenueRequest.objects.filter(state=RequestState.QUEUED).order_by()
        .values_list("venue_id", flat=True).distinct()
    )
    nudged = [code for code in venues if session_is_logged_on(venue_code=code)]
    for venue_code in nudged:
        dispatch_nudge(venue_code=venue_code, coalesce=False)
    return {"asked": asked, "given_up": given_up, "nudged": nudged}
