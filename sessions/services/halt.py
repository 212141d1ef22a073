"""The kill switch.

Halting stops every NewOrderSingle and replace before the next message leaves: senders hold
a share lock on the halt row while they write (sessions/selectors.py), so a halt waits for a
write already under way, and every later one sees it. Cancels and status requests still go
out and sessions stay logged on: a kill switch exists to take risk off, and fills and cancel
confirmations must keep arriving. Intake refuses new orders while halted.
"""

from django.db import transaction
from django.utils import timezone

from omsproject.errors import InvalidInput
from sessions.locks import lock_halt
from sessions.models import TradingHalt, TradingHaltEvent
from sessions.signals import trading_halt_changed


def trading_halt_reason_clean(*, halted: bool, reason: str) -> str:
    reason = (reason or "").strip()
    if halted and not reason:
        raise InvalidInput(
            "Say why trading is halted.", details={"reason": ["Required when halting."]}
        )
    if len(reason) > 200:
        raise InvalidInput("The reason is too long.", details={"reason": ["At most 200."]})
    return reason


def trading_halt_set(
    *, halted: bool, reason: str, actor: str, cancel_open_orders: bool = False
) -> TradingHalt:
    """Halt (or resume) trading. Halting needs a reason; with cancel_open_orders every open
    order is cancelled too (queued ones here, live ones at their venues)."""
    reason = trading_halt_reason_clean(halted=halted, reason=reason)
    if cancel_open_orders and not halted:
        raise InvalidInput(
            "Open orders are cancelled only when halting.",
            details={"cancelOpenOrders": ["Only with halted: true."]},
        )
    with transaction.atomic():
        halt = lock_halt()
        if halt.halted == halted and halt.reason == reason and not cancel_open_orders:
            return halt
        halt.halted = halted
        halt.reason = reason
        halt.changed_by = actor
        halt.changed_at = timezone.now()
        halt.save(update_fields=["halted", "reason", "changed_by", "changed_at"])
        TradingHaltEvent.objects.create(
            halt=halt, halted=halted, reason=reason, actor=actor,
        )
        trading_halt_changed.send(
            sender=TradingHalt, halted=halted, cancel_open_orders=cancel_open_orders,
            actor=actor,
        )
    return halt
