"""Writing a venue's claimed messages, one batch per transaction: the send gate's share locks
(sessions.selectors.session_gate_for_send) are held while each message is written, so a halt
or a logout that commits waits for this batch, and every later batch sees it.

`write` puts one message on the wire and returns its MsgSeqNum, or None when it was not
written (the session went down). The runner passes QuickFIX's send; tests pass a venue of
their own, so everything but the socket is the code that runs in production.
"""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from sessions.selectors import session_gate_for_send
from venues.fix.gate import sort_out
from venues.fix.ports import Outbox, Outgoing

BATCH = 64
NOT_WRITTEN = "the session went down before it was written"


def write_batch(
    *, venue_code: str, outbox: Outbox, write: Callable[[Outgoing], int | None],
    wire_up: Callable[[], bool], limit: int = BATCH,
) -> int:
    """Write up to `limit` claimed messages in queue order; returns how many were looked at."""
    with transaction.atomic():
        gate = session_gate_for_send(venue_code=venue_code)
        items = outbox.take(venue_code=venue_code, limit=limit)
        if not items:
            return 0
        now = timezone.now()
        plan = sort_out(items, gate, wire_up=wire_up(), now=now,
                        slot_seconds=outbox.slot_seconds)
        written = []
        for position, item in enumerate(plan.send):
            seq_num = write(item)
            if seq_num is None:
                plan.give_back.extend((rest, NOT_WRITTEN) for rest in plan.send[position:])
                break
            written.append((item, seq_num))
        if written:
            outbox.written(venue_code=venue_code, sent=written, at=now)
        if plan.give_back:
            outbox.give_back(venue_code=venue_code, items=plan.give_back)
        if plan.expire:
            outbox.expire(venue_code=venue_code, items=plan.expire,
                          why="a DAY order of a session that has closed")
    return len(items)
