"""Every write to an order goes through these services: the API, the admin, the workers and
the FIX session's holder call them. Each status change is checked against
ALLOWED_TRANSITIONS and audited in the same transaction (transitions.py)."""

from orders.services.batch import BatchOutcome, OrderRequest, orders_create_batch
from orders.services.changes import order_cancel, order_modify, orders_cancel_open
from orders.services.claims import (
    orders_expire_unsent,
    orders_mark_claimed,
    orders_return_unsent,
)
from orders.services.close import order_expire, order_expire_day_orders
from orders.services.inbox import OrderBooks
from orders.services.intake import OrderTerms, actor_label, order_create, order_terms_validate
from orders.services.venue_status import orders_ask_venue_again

__all__ = [
    "BatchOutcome",
    "OrderBooks",
    "OrderRequest",
    "OrderTerms",
    "actor_label",
    "order_cancel",
    "order_create",
    "order_expire",
    "order_expire_day_orders",
    "order_modify",
    "order_terms_validate",
    "orders_ask_venue_again",
    "orders_cancel_open",
    "orders_create_batch",
    "orders_expire_unsent",
    "orders_mark_claimed",
    "orders_return_unsent",
]
