"""A batch of orders in one request (POST /orders/batch): each is order_create's, in its own
transaction, accepted or refused on its own; the batch only shares what order_create lets it
(IntakeBatch: the account check, the dispatch nudge)."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from omsproject.errors import DomainError
from orders.models import Order
from orders.services.intake import IntakeBatch, OrderTerms, order_create


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """One order of a batch, as POST /orders takes it."""

    account_code: str
    client_order_id: str
    terms: OrderTerms
    venue_code: str | None = None
    routing: str | None = None


@dataclass(frozen=True, kw_only=True)
class BatchOutcome:
    """What became of one order: the order (created, or the original of a replay), or the
    error POST /orders would have answered it alone."""

    order: Order | None = None
    created: bool = False
    error: DomainError | None = None


def orders_create_batch(
    *, user: AbstractBaseUser, requests: Sequence[OrderRequest | DomainError]
) -> list[BatchOutcome]:
    """Accept or refuse each order on its own, in request order; one outcome each.

    A DomainError in `requests` is an order already refused (its input was invalid): it
    keeps its place. Each order commits (or rolls back) before the next begins, so a refusal
    never undoes another order, and a clientOrderId repeated later in the batch is a replay
    of the first. A database failure is not an order's answer: it ends the batch (the orders
    before it stay accepted; a retry replays them by clientOrderId).
    """
    batch = IntakeBatch(user=user)
    outcomes = []
    try:
        for request in requests:
            if isinstance(request, DomainError):
                outcomes.append(BatchOutcome(error=request))
                continue
            try:
                order, created = order_create(
                    user=user, account_code=request.account_code,
                    client_order_id=request.client_order_id, terms=request.terms,
                    venue_code=request.venue_code, routing=request.routing, batch=batch)
            except DomainError as exc:
                outcomes.append(BatchOutcome(error=exc))
            else:
                outcomes.append(BatchOutcome(order=order, created=created))
    finally:
        batch.finish()
    return outcomes
