"""Accepting an order: validation, the account, the venue's session, idempotency on
(account, clientOrderId), and the order, its audit event and its NEW in one transaction."""

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from uuid6 import uuid7

from dispatch.models import RequestKind
from dispatch.nudge import COALESCE_MS, dispatch_nudge
from dispatch.queue import request_enqueue
from omsproject.decimals import decimal_text
from omsproject.errors import DomainError, InvalidInput
from orders import sql
from routing import NoRoute, Policy
from orders.errors import (
    AccountForbidden,
    DuplicateClientOrderId,
    UnknownVenue,
)
from orders.models import Account, Order, OrderEvent, OrderEventType, OrderStatus, OrderType
from orders.services import children, hooks
from orders.services.terms import OrderTerms, order_terms_validate, terms_fields
from sessions.errors import VenueClosed
from sessions.models import VenueSession
from sessions.selectors import session_for_intake
from sessions.services import session_get_or_create_for_venue, session_refuse_unless_accepting
from venues.models import Venue
from venues.services import venue_get_or_create_default

logger = logging.getLogger("orders")


def actor_label(user: AbstractBaseUser) -> str:
    return user.get_username()


# --- intake ------------------------------------------------------------------------------------


def _account_for(*, user: AbstractBaseUser, account_code: str) -> Account:
    """The account the order is for, if the user may trade for it (with its default
    routing, read in the same query)."""
    if user.is_staff:
        # Operators trade for any account; one they name for the first time comes into being.
        routing = sql.account_routing(account_code)
        if routing is None:
            account, _ = Account.objects.get_or_create(code=account_code)
            routing = account.default_routing
        return Account(code=account_code, default_routing=routing)
    routing = sql.account_routing_if_held_by(account_code, user.pk)
    if routing is None:
        raise _forbidden(account_code)
    return Account(code=account_code, default_routing=routing)


def _forbidden(account_code: str) -> AccountForbidden:
    return AccountForbidden(f"You may not trade for account {account_code}.")


class IntakeBatch:
    """What a batch of orders from one user (POST /orders/batch) asks once rather than per
    order; each order still goes through order_create, in its own transaction.

    - Which accounts the user may trade for: asked once an account, as the token is
      checked once a request.
    - The dispatch nudge: at a venue's first order in the batch, then at most once every
      COALESCE_MS (the same pace dispatch_nudge's own coalescing keeps, without a Redis call
      per order), and once more at the end, so a drain that emptied the queue meanwhile
      sees the rest. The sweeper still finds anything a lost nudge leaves.
    """

    def __init__(self, *, user: AbstractBaseUser):
        self.user = user
        self._accounts: dict[str, Account | None] = {}
        self._nudged_at: dict[str, float] = {}

    def account(self, account_code: str) -> Account:
        if account_code not in self._accounts:
            try:
                self._accounts[account_code] = _account_for(user=self.user,
                                                            account_code=account_code)
            except AccountForbidden:
                self._accounts[account_code] = None
        account = self._accounts[account_code]
        if account is None:
            raise _forbidden(account_code)
        return account

    def queued(self, venue_code: str) -> None:
        """An order for the venue committed."""
        now = time.monotonic()
        if now - self._nudged_at.get(venue_code, float("-inf")) >= COALESCE_MS / 1000:
            self._nudged_at[venue_code] = now
            dispatch_nudge(venue_code=venue_code)

    def finish(self) -> None:
        for venue_code in sorted(self._nudged_at):
            dispatch_nudge(venue_code=venue_code)


def _session_for(venue_code: str | None) -> VenueSession:
    """The venue's session (with `halted`): one query for an order to a venue that trades.
    The first order to the default venue creates it; an unknown venue is refused."""
    venue_code = venue_code or settings.OMS_DEFAULT_VENUE
    session = session_for_intake(venue_code=venue_code)
    if session is None:
        venue = _venue_for(venue_code)
        session_get_or_create_for_venue(venue_code=venue.code)
        session = session_for_intake(venue_code=venue.code)
    return session


def _venue_for(venue_code: str) -> Venue:
    if venue_code == settings.OMS_DEFAULT_VENUE:
        return venue_get_or_create_default()
    try:
        return Venue.objects.get(code=venue_code)
    except Venue.DoesNotExist as exc:
        raise UnknownVenue(
            f"Unknown venue {venue_code}.", details={"venue": ["No such venue."]}
        ) from exc


def order_create(
    *,
    user: AbstractBaseUser,
    account_code: str,
    client_order_id: str,
    terms: OrderTerms,
    venue_code: str | None = None,
    routing: str | None = None,
    batch: IntakeBatch | None = None,
) -> tuple[Order, bool]:
    """Accept an order into the queue. Returns (order, created).

    `routing`: DIRECTED (to `venue_code`, or the default venue), or a policy the router
    splits the order by into children (children.py); when not given, the account's default
    (OMS_DEFAULT_ROUTING unless the account says), or DIRECTED when a venue is named.
    Idempotent on (account, client_order_id): a replay with the same terms returns the
    original order with created=False; different terms raise DuplicateClientOrderId.
    Concurrent duplicates meet at the unique constraint, so exactly one row is created.
    `batch`: the order is one of a batch, which checks accounts and nudges dispatch for it.
    """
    if batch is None:
        account = _account_for(user=user, account_code=account_code)
    else:
        account = batch.account(account_code)
    policy = _policy_for(account, routing=routing, venue_code=venue_code)
    order_terms_validate(terms=terms)
    order_id = uuid7()
    plan = session = None
    if policy == Policy.DIRECTED:
        session = _session_for(venue_code)
        fingerprint = terms.fingerprint(venue_code=session.venue_id)
    else:
        fingerprint = terms.fingerprint(venue_code=f"routing:{policy}")
    try:
        if session is not None:
            session_refuse_unless_accepting(session=session)
        else:
            plan = children.plan_for(account_code=account.code, terms=terms, policy=policy)
    except (VenueClosed, NoRoute):
        # A replay of an order accepted while the venue was open still gets its answer.
        return _replay_or_raise(account, client_order_id, fingerprint)
    try:
        with transaction.atomic():
            hooks.run_admission_checks(order_id=order_id, account=account.code,
                                       venue=session and session.venue_id, terms=terms,
                                       fingerprint=fingerprint)
            order = Order.objects.create(
                id=order_id,
                account=account,
                client_order_id=client_order_id,
                venue_id=session and session.venue_id,
                routing=policy,
                status=OrderStatus.QUEUED,
                request_fingerprint=fingerprint,
                **terms_fields(terms),
            )
            OrderEvent.objects.create(
                order=order,
                type=OrderEventType.CREATED,
                to_status=OrderStatus.QUEUED,
                actor=actor_label(user),
            )
            if plan is None:
                request_enqueue(order_id=order.pk, venue_code=order.venue_id,
                                kind=RequestKind.NEW, nudge=batch is None)
                queued = [order.venue_id]
            else:
                queued = [child.venue_id for child in children.children_create(
                    order, plan, actor=actor_label(user), nudge=batch is None)]
    except IntegrityError:
        existing = Order.objects.filter(account=account, client_order_id=client_order_id).first()
        if existing is None:  # the conflict was some other constraint: not ours to hide
            raise
        return _replay(existing, fingerprint=fingerprint), False
    except DomainError:
        # A replay is answered as before, whatever the checks would say of it now (its
        # twin was counted when it was admitted: a rate or duplicate check would refuse it).
        return _replay_or_raise(account, client_order_id, fingerprint)
    transaction.on_commit(partial(
        logger.info, "order %s accepted: %s %s %s %s %s%s %s at %s (clientOrderId %s)",
        order.pk, account.code, terms.side, decimal_text(terms.quantity), terms.symbol,
        terms.order_type, _prices_text(terms), terms.time_in_force,
        order.venue_id or f"{policy}: {', '.join(queued)}", client_order_id))
    if batch is not None:
        for venue in queued:
            transaction.on_commit(partial(batch.queued, venue))
    return order, True


def _policy_for(account: Account, *, routing: str | None, venue_code: str | None) -> str:
    if routing is not None and routing != Policy.DIRECTED and venue_code is not None:
        raise InvalidInput("A venue is named only for DIRECTED orders.",
                           details={"venue": [f"Not allowed with routing {routing}."]})
    if routing is not None:
        return routing
    if venue_code is not None:
        return Policy.DIRECTED
    return account.default_routing or settings.OMS_DEFAULT_ROUTING


def _replay_or_raise(account: Account, client_order_id: str,
                     fingerprint: str) -> tuple[Order, bool]:
    """Inside an `except`: the earlier order of this clientOrderId, if there is one, else
    the refusal being handled."""
    existing = Order.objects.filter(account=account, client_order_id=client_order_id).first()
    if existing is None:
        raise  # noqa: PLE0704 (re-raises the exception being handled by the caller)
    return _replay(existing, fingerprint=fingerprint), False


def _prices_text(terms: OrderTerms) -> str:
    prices = [("limit", terms.limit_price), ("stop", terms.stop_price)]
    return "".join(f" {name} {decimal_text(price)}" for name, price in prices
                   if price is not None)


def _replay(existing: Order, *, fingerprint: str) -> Order:
    if existing.request_fingerprint != fingerprint:
        raise DuplicateClientOrderId(
            f"clientOrderId {existing.client_order_id} was already used for a different order.",
            details={"orderId": str(existing.pk)},
        )
    return existing
