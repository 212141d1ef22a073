"""Admitting an order, or a change to one, against the account's limits.

Called by orders in the transaction that writes the order (or queues its replace), before
it writes: a refusal rolls everything back. The cheap checks (kill switch, size, price band)
run first, without a lock; then the account's admission row is locked for update and what
the account has at stake is read from the books and checked. Two racing orders of one
account therefore take turns, and the second sees the first: they cannot both fit in what
only one fits in.
"""

import time
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from marketdata.selectors import consolidated_quote, venue_quote
from orders.models import OrderType
from risk import checks, exposure
from risk.limits import Limits, limits_for
from risk.locks import lock_account
from risk.models import Admission

RATE_WINDOW_SECONDS = 1.0


@dataclass(frozen=True, kw_only=True)
class Proposal:
    account: str
    venue: str | None  # None: a routed order, valued against the best of every venue's market
    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None


def _unit_price(limits: Limits, proposal: Proposal, quote) -> Decimal | None:
    if proposal.limit_price is not None:
        return proposal.limit_price
    if proposal.stop_price is not None:
        return proposal.stop_price
    if limits.max_order_notional is None and limits.buying_power is None:
        return None  # nothing to value it for
    return checks.market_unit_price(limits, side=proposal.side, quote=quote)


def _market(proposal: Proposal):
    """The fresh quote the proposal is checked against: its venue's, or for a routed order
    (no venue) the best of every venue's; None when there is none (old news is no market)."""
    if proposal.venue is None:
        quote = consolidated_quote(symbol=proposal.symbol)
    else:
        quote = venue_quote(venue=proposal.venue, symbol=proposal.symbol)
    if quote is not None and (quote.stale or quote.mid is None):
        return None
    return quote


def _unlocked_checks(limits: Limits, proposal: Proposal) -> Decimal | None:
    """Kill switch, size, price band; returns the unit price the notional is counted at."""
    checks.check_kill_switch(limits, proposal.account)
    checks.check_quantity(limits, proposal.quantity)
    quote = _market(proposal)
    checks.check_price_band(limits, order_type=proposal.order_type,
                            limit_price=proposal.limit_price, quote=quote)
    unit = _unit_price(limits, proposal, quote)
    if unit is not None:
        checks.check_notional(limits, proposal.quantity * unit)
    return unit


def _exposure_checks(limits: Limits, proposal: Proposal, *, quantity: Decimal,
                     notional: Decimal) -> None:
    if limits.max_position is not None:
        open_buy, open_sell = exposure.open_quantities(proposal.account, proposal.symbol)
        checks.check_position(
            limits, side=proposal.side, quantity=quantity,
            position=exposure.filled_position(proposal.account, proposal.symbol),
            open_buy=open_buy, open_sell=open_sell)
    if limits.buying_power is not None:
        checks.check_buying_power(
            limits, notional=notional,
            reserved=exposure.reserved_notional(proposal.account),
            used=exposure.used_notional_today(proposal.account))


def risk_admit(*, order_id: UUID, proposal: Proposal, fingerprint: str) -> None:
    """Admit a new order or raise RiskRefused. Must run inside the order's transaction."""
    limits = limits_for(proposal.account)
    unit = _unlocked_checks(limits, proposal)
    if proposal.order_type == OrderType.MARKET and unit is not None:
        # Its notional is counted at this price while it is open (risk/exposure.py).
        Admission.objects.create(order_id=order_id, unit_price=unit)
    if not _needs_lock(limits):
        return  # nothing that depends on the account's other orders: no lock, no reads
    row = lock_account(proposal.account)
    now = time.time()
    keep = max(RATE_WINDOW_SECONDS, limits.duplicate_window_seconds or 0)
    recent = [entry for entry in row.recent if entry[0] > now - keep]
    checks.check_rate(limits, admitted_last_second=sum(
        1 for at, _ in recent if at > now - RATE_WINDOW_SECONDS))
    if limits.duplicate_window_seconds:
        checks.check_duplicate(limits, seen_within_window=any(
            seen == fingerprint and at > now - limits.duplicate_window_seconds
            for at, seen in recent))
    _exposure_checks(limits, proposal, quantity=proposal.quantity,
                     notional=proposal.quantity * (unit or 0))
    row.recent = [*recent, [now, fingerprint]]
    row.save(update_fields=["recent", "updated_at"])


def risk_admit_child(*, proposal: Proposal) -> None:
    """A routed order's child, before it is queued for its venue (at intake, and when an
    unfilled remainder is routed again later): the account's kill switch and the price
    band against that venue's own market. What the account has at stake was checked for
    the parent, which its children are part of."""
    limits = limits_for(proposal.account)
    checks.check_kill_switch(limits, proposal.account)
    checks.check_price_band(limits, order_type=proposal.order_type,
                            limit_price=proposal.limit_price, quote=_market(proposal))


def _needs_lock(limits: Limits) -> bool:
    return any(value is not None for value in (
        limits.max_position, limits.buying_power, limits.max_orders_per_second,
    )) or bool(limits.duplicate_window_seconds)


def risk_amend(*, before: Proposal, after: Proposal, filled: Decimal) -> None:
    """Admit a change of quantity or price to an open order, or raise RiskRefused. Only
    what the change adds is checked against position and buying power."""
    limits = limits_for(after.account)
    unit = _unlocked_checks(limits, after)
    if limits.max_position is None and limits.buying_power is None:
        return
    lock_account(after.account)
    old_unit = before.limit_price or before.stop_price or unit or Decimal(0)
    added_quantity = max(after.quantity - before.quantity, Decimal(0))
    added_notional = max((after.quantity - filled) * (unit or 0)
                         - (before.quantity - filled) * old_unit, Decimal(0))
    if added_quantity or added_notional:
        _exposure_checks(limits, after, quantity=added_quantity, notional=added_notional)




def admissions_forget(*, order_ids: list[UUID]) -> int:
    """Retention removed these (done) orders: their admitted prices go with them (called in
    its transaction, through orders.services.hooks)."""
    deleted, _ = Admission.objects.filter(order_id__in=order_ids).delete()
    return deleted
