import logging

from celery import shared_task

from orders.services.retention import history_prune
from orders.tally import orders_tally

logger = logging.getLogger("orders")


@shared_task(name="orders.tally", acks_late=True, ignore_result=True)
def orders_tally_task() -> None:
    """Fold done orders into /metrics' counts (orders/tally.py). Idempotent."""
    orders_tally()


@shared_task(name="orders.retention", acks_late=True, ignore_result=True)
def orders_retention_task() -> None:
    """Remove history past OMS_RETENTION_DAYS, a bounded amount a run
    (orders/services/retention.py). Idempotent; two runs at once skip each other's rows."""
    removed = history_prune()
    if removed:
        logger.info("retention removed %s", dict(sorted(removed.items())))
