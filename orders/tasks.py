from celery import shared_task

from orders.tally import orders_tally


@shared_task(name="orders.tally", acks_late=True, ignore_result=True)
def orders_tally_task() -> None:
    """Fold done orders into /metrics' counts (orders/tally.py). Idempotent."""
    orders_tally()
