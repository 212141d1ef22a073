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
from sessions.locks import lock_halt, lock_session
from sessions.models import (
    SessionEvent,
    SessionEventType,
    TradingHalt,
    TradingHaltEvent,
    VenueSession,
)
from sessions.services.schedules import session_get_or_create_for_venue
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


def venue_kill_switch_set(
    *, venue_code: str, halted: bool, reason: str, actor: str, cancel_open_orders: bool = False
) -> VenueSession:
    """One venue's kill switch, beside the global one: while on, no NewOrderSingle or replace
    to the venue leaves (its session row is share-locked by every sender, so this waits for a
    write under way and every later one sees it), new orders for it are refused, cancels go
    out. With cancel_open_orders its open orders are cancelled too."""
    reason = trading_halt_reason_clean(halted=halted, reason=reason)
    if cancel_open_orders and not halted:
        raise InvalidInput(
            "Open orders are cancelled only when halting.",
            details={"cancelOpenOrders": ["Only with killSwitch: true."]},
        )
    session_get_or_create_for_venue(venue_code=venue_code, actor=actor)
    with transaction.atomic():
        session = lock_session(venue_code)
        before = {"kill_switch": session.kill_switch, "kill_switch_reason":
                  session.kill_switch_reason}
        after = {"kill_switch": halted, "kill_switch_reason": reason}
        if before == after and not cancel_open_orders:
            return session
        session.kill_switch, session.kill_switch_reason = halted, reason
        session.save(update_fields=["kill_switch", "kill_switch_reason", "updated_at"])
        SessionEvent.objects.create(session=session, type=SessionEventType.UPDATED, actor=actor,
                                    reason=reason, data={"before": before, "after": after})
        trading_halt_changed.send(
            sender=VenueSession, halted=halted, cancel_open_orders=cancel_open_orders,
            actor=actor, venue_code=venue_code,
        )
    return session
