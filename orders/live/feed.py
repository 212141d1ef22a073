"""What the live stream sends: the audit trail (OrderEvent) of a user's accounts, one SSE
event per row, in an order that a reconnect can resume from without a gap or a repeat.

Why not "events with id > the last one seen": ids are handed out at INSERT, and transactions
commit in another order, so an event with a smaller id can commit after a larger one was
read; resuming after the larger id would skip it for good. On PostgreSQL each event carries
its writing transaction's id (txid, migration 0005), and the stream reads only events whose
transaction is older than every transaction still running in its snapshot (but those of
other databases, orders/sql.py): every transaction below that has ended, so nothing can
appear there later. It reads them in (txid,
id) order and resumes after the (txid, id) of the last event seen. An event of a
transaction still running waits until it ends (and every older one has), then comes in its
place. A long writing transaction in this database holds the stream back for as long as it
runs: a delay, never a loss.

On SQLite writers are serialized (IMMEDIATE transactions hold the write lock from BEGIN to
COMMIT), so id order is commit order and the position is the id alone.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.db import close_old_connections

from orders import sql
from orders.models import Account, OrderEventType

BATCH = 500

Position = tuple[int, int]  # (txid, id); txid is 0 on SQLite


@dataclass(frozen=True)
class LiveEvent:
    id: int
    position: Position
    name: str  # the SSE event name: "fill" or "order"
    payload: dict

    def frame(self) -> str:
        return f"id: {self.id}\nevent: {self.name}\ndata: {json.dumps(self.payload)}\n\n"


def _iso(value) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite's raw rows: Django stores UTC there, without an offset
        value = value.replace(tzinfo=UTC)
    return value.isoformat().replace("+00:00", "Z")


def _event(row: tuple) -> LiveEvent:
    (txid, event_id, order_id, kind, from_status, to_status, actor, data, created_at,
     client_order_id, account_id, symbol, side, venue) = row
    if isinstance(data, str):
        data = json.loads(data)
    order_id = UUID(str(order_id))  # SQLite hands back 32 hex digits, PostgreSQL a UUID
    return LiveEvent(
        id=event_id, position=(txid, event_id),
        name="fill" if kind == OrderEventType.FILLED else "order",
        payload={
            "eventId": event_id, "orderId": str(order_id), "clientOrderId": client_order_id,
            "accountId": account_id, "symbol": symbol, "side": side, "venue": venue,
            "type": kind, "fromStatus": from_status, "toStatus": to_status, "actor": actor,
            "data": data, "createdAt": _iso(created_at),
        },
    )


def events_after(position: Position, *, user_id: int | None,
                 limit: int = BATCH) -> tuple[list[LiveEvent], bool]:
    """The next events after `position` for the user (None: every account), and whether
    some are held back behind a running transaction."""
    close_old_connections()
    rows, held_back = sql.live_events_after(position, user_id=user_id, limit=limit)
    return [_event(row) for row in rows], held_back


def start_position(last_event_id: str | None) -> Position | None:
    """Where a stream starts: after the event a reconnecting client saw last
    (`Last-Event-ID`; 0 is before the first event ever), else at the present. None: no such
    event."""
    close_old_connections()
    if last_event_id is None or last_event_id.strip() == "":
        return sql.live_position_now()
    event_id = int(last_event_id)
    if event_id == 0:
        return 0, 0
    return sql.live_position_of(event_id)


def accounts_of(user_id: int) -> frozenset[str]:
    close_old_connections()
    return frozenset(Account.objects.filter(users__pk=user_id).values_list("code", flat=True))
