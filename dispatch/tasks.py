from celery import shared_task

from dispatch.drain import dispatch_drain_turn
from dispatch.sweeper import dispatch_sweep
from dispatch.tally import requests_tally


@shared_task(name="dispatch.drain", acks_late=True, ignore_result=True)
def dispatch_drain_task(venue_code: str) -> None:
    """Claim the venue's queue for a few seconds, unless another drain of it is running;
    hand over to a fresh task if work remains."""
    dispatch_drain_turn(venue_code=venue_code)


@shared_task(name="dispatch.sweep", acks_late=True, ignore_result=True)
def dispatch_sweep_task() -> None:
    dispatch_sweep()


@shared_task(name="dispatch.tally", acks_late=True, ignore_result=True)
def dispatch_tally_task() -> None:
    """Fold done requests into /metrics' counters (dispatch/tally.py). Idempotent."""
    requests_tally()
