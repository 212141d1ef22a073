"""The last gate before the wire: which claimed messages the holder writes now, which go back
to the queue, and which DAY orders expire unsent. Pure: the caller holds the share locks
(sessions.selectors.session_gate_for_send) while it writes what this lets through."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sessions.selectors import SendGate
from venues.fix.ports import Outgoing

# What the kill switch stops; cancels and status requests still go out.
HALTED_KINDS = frozenset({"NEW", "MODIFY"})
# Written this close to the end of its slot's life, a message could reach the venue after
# the slot stopped counting (dispatch/limiter.py): it goes back for a fresh claim instead.
SLOT_MARGIN = timedelta(milliseconds=500)


@dataclass
class Sorted:
    send: list[Outgoing] = field(default_factory=list)
    give_back: list[tuple[Outgoing, str]] = field(default_factory=list)
    expire: list[Outgoing] = field(default_factory=list)


def sort_out(
    items: list[Outgoing], gate: SendGate | None, *, wire_up: bool, now: datetime,
    slot_seconds: float,
) -> Sorted:
    result = Sorted()
    if gate is None or not wire_up or not gate.open:
        why = ("the venue's session is closing" if gate is not None and not gate.desired_on
               else "the venue's session is not logged on")
        result.give_back = [(item, why) for item in items]
        return result
    last_close = gate.last_close(now)
    slot_life = timedelta(seconds=slot_seconds)
    for item in items:
        if item.claimed_at + slot_life - SLOT_MARGIN <= now:
            result.give_back.append((item, "its rate-limit slot ran out before it was written"))
        elif gate.halted and item.kind in HALTED_KINDS:
            result.give_back.append((item, "trading is halted"))
        elif (item.kind == "NEW" and item.time_in_force == "DAY" and last_close is not None
              and item.accepted_at < last_close):
            # Accepted in a session that has closed since: yesterday's DAY order must never
            # reach today's market.
            result.expire.append(item)
        else:
            result.send.append(item)
    return result
