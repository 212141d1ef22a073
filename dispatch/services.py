"""Sending the outbound queue to venues: claim, throttle, send, record, in batches.

One batch is one transaction:

1. share-lock the venue's session and the halt (nothing is sent unless logged on);
2. claim up to N heads of the venue's queue in id order (SELECT ... FOR UPDATE SKIP LOCKED
   ... ORDER BY id LIMIT N, locking the requests and their orders), each only once every
   earlier request of its order is answered;
3. take up to that many rate-limit slots in one call, waiting only for the first;
4. send the claimed requests in order, one for each slot granted, each the moment before
   its turn; stop at the first that the venue refuses at its gate or whose outcome is unknown;
5. record every answer read, with bulk writes: the requests, the orders' transitions (each
   checked against ALLOWED_TRANSITIONS, with its event), commit.

So:

* a request is either still editable (modify/cancel lock the order first) or claimed, never
  both; a cancel that commits first withdraws the NEW and it is never sent. A claimed request
  left unsent (no slot, or the batch stopped early) is left untouched and is editable, and
  claimable again, as soon as the batch commits;
* a logout or halt waits for sends already under way and no send starts after it;
* a worker killed mid-batch (SIGKILL) rolls back every claim in it, also of sends the venue
  answered: they are queued again at their places and resent with the same requestId and
  clientOrderId, which the venue answers as duplicates with its first decision, recorded
  like any answer. Nothing is lost and nothing acts twice;
* an answer by which the venue says it did not act (NOT_LOGGED_ON, RATE_LIMIT) ends the
  batch there: the answers read before it were real and are recorded, it and the rest stay
  queued, and after the commit a NOT_LOGGED_ON marks our session dropped.

A send whose outcome is unknown (timeout, broken connection, an answer for some other
request) is committed as SENDING and ends the batch (a venue that is down would time out the
rest one by one); the sweeper queues it again after a back-off, and the resend carries the
same ids.

The slots are taken after the claim and never more than the requests claimed, so a batch
never holds a slot it will not use at once; slots left over when a batch stops early are
given back, so every slot spent is a send. Each send's slot is completed as soon as its
answer is read (dispatch/limiter.py: it counts from grant until then, which keeps the limit
exact as the venue counts it, and a slot completed any later comes back later). The batch
size adapts: it doubles while every request
claimed got a slot at once, and falls to what the limiter granted when it did not, so under
a limit that is already used batches stay small and rows are not held waiting for slots.
A drain whose batch came back full with every slot granted nudges one more drain (once per
drain, coalesced), so a backlog that no intake nudges again still gets every dispatcher
thread it needs to use the limit.
"""

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dispatch.limiter import SlidingWindowLimiter, Slot
from dispatch.models import (
    RequestKind,
    RequestState,
    UnmatchedResponse,
    VenueRequest,
    VenueResult,
)
from dispatch.nudge import dispatch_nudge, dispatch_nudge_forget
from orders import services as order_services
from orders.errors import InvalidTransition
from orders.models import Order, OrderStatus
from sessions.selectors import session_can_send, session_hold_for_send
from sessions.services import session_mark_dropped
from venues.gateway import GatewayError, VenueAnswer, VenueGateway, gateway_get
from venues.models import Venue

logger = logging.getLogger(__name__)

ACTOR = "system:dispatch"
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
# Rejections by which the venue says it did not act on the message at all.
GATE_REJECTS = frozenset({"NOT_LOGGED_ON", "RATE_LIMIT"})
# The most requests one batch claims. Larger batches save little more per send (the fixed
# cost is a few statements) and hold more rows for longer.
MAX_BATCH = 32
# A batch's slots are granted together, and the last of them waits for the sends before it:
# each such wait delays that slot's return by as much, every second the window repeats. At
# most L/25 per batch keeps the wait a small share of the window at low limits.
SLOTS_SHARE = 25


def _largest_batch(limit: int) -> int:
    return max(1, min(MAX_BATCH, limit // SLOTS_SHARE))


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2)


def limiter_for(venue_code: str) -> SlidingWindowLimiter:
    # A send unanswered for this long has failed (the gateway's timeout); its slot may go.
    pending_ms = int(settings.OMS_EXCHANGE_TIMEOUT_SECONDS * 1000) + 1000
    return SlidingWindowLimiter(_redis(), key=venue_code, pending_ms=pending_ms)


def window_ms() -> int:
    return 1000 + settings.OMS_THROTTLE_MARGIN_MS


@dataclass(frozen=True)
class DrainResult:
    sent: int
    stopped: str  # "empty", "gated" (venue not logged on / halted), "budget"


@dataclass(frozen=True)
class _Batch:
    sent: int  # put on the wire and answered, or with an unknown outcome
    stopped: str  # "" (went through), "empty", "gated", "budget"
    next_size: int
    # Claimed as many as it asked for and got a slot for each: more work than this drain
    # sends, and room under the limit for another drain to send it.
    full: bool = False
    # Claimed fewer than it asked for: the queue had nothing more to claim just then.
    short: bool = False


def dispatch_drain(
    *, venue_code: str, budget_seconds: float = 5.0, gateway: VenueGateway | None = None
) -> DrainResult:
    """Send the venue's queue, in order, at no more than its limit, for up to the budget."""
    gateway = gateway or gateway_get()
    if hasattr(gateway, "connect"):
        # Connected before any slot is taken: connecting would otherwise hold a slot (and
        # the claimed rows) before the first send.
        gateway.connect()
    limiter = limiter_for(venue_code)
    deadline = time.monotonic() + budget_seconds
    # Read once per drain (a few seconds): an operator's change applies to the next drain.
    limit = Venue.objects.values_list("throttle_per_second", flat=True).get(pk=venue_code)
    sent = 0
    size = _largest_batch(limit)
    rechecked = False
    fanned_out = False
    while time.monotonic() < deadline:
        batch = _send_batch(
            venue_code=venue_code, gateway=gateway, limiter=limiter, limit=limit, size=size,
            deadline=deadline,
        )
        sent += batch.sent
        size = batch.next_size
        if batch.full and not fanned_out:
            # One drain sends a few hundred a second; a backlog with the limit to spare
            # (released at a logon, or queued while Redis was down) gets another drain,
            # which may add one more in turn, up to the dispatcher threads. Coalesced like
            # intake's nudges, so they ramp up by at most ten a second.
            dispatch_nudge(venue_code=venue_code)
            fanned_out = True
        if batch.stopped == "gated":
            return DrainResult(sent, "gated")
        if batch.sent and not batch.short:
            rechecked = False
        elif batch.short and not rechecked:
            # A short batch emptied the queue: the look that follows is the last one.
            dispatch_nudge_forget(venue_code=venue_code)
            rechecked = True
        elif batch.stopped == "empty" and not rechecked:
            # Intake skips nudging while a recent nudge stands. Forget it, then look once
            # more: an order committed just now is either seen here or nudges afresh.
            dispatch_nudge_forget(venue_code=venue_code)
            rechecked = True
        elif batch.stopped == "empty":
            return DrainResult(sent, "empty")
    return DrainResult(sent, "budget")


def _claim_heads(venue_code: str, size: int) -> list[VenueRequest]:
    """Lock and return up to `size` heads of the venue's queue, in order, with their orders.

    A request waits until every earlier request of its order is answered: a CANCEL never
    overtakes the NEW it cancels (so one batch never holds two requests of one order).

    Raw SQL, as the ORM would write it: building this query (its anti-join, the join and the
    row locks) was 41% of a dispatcher's CPU when orders trickle in one at a time (py-spy),
    because each order then costs a drain and a few claims.
    """
    sql = _claim_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [venue_code, size])
        rows = cursor.fetchall()
    requests, orders = _from_row(VenueRequest), _from_row(Order)
    split = len(VenueRequest._meta.concrete_fields)
    heads = []
    for row in rows:
        request = requests(row[:split])
        VenueRequest._meta.get_field("order").set_cached_value(request, orders(row[split:]))
        heads.append(request)
    return heads


@lru_cache(maxsize=None)
def _from_row(model):
    """Build `model` instances from its concrete columns, read raw: each value goes through
    the converters the ORM would apply (JSON, and on SQLite decimals, times and UUIDs)."""
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    converters = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        converters.append((column, [*connection.ops.get_db_converters(column),
                                    *field.get_db_converters(connection)]))

    def build(values):
        converted = []
        for value, (column, field_converters) in zip(values, converters):
            for convert in field_converters:
                value = convert(value, column, connection)
            converted.append(value)
        return model.from_db(connection.alias, names, converted)

    return build


@lru_cache(maxsize=None)
def _claim_sql() -> str:
    """The claim, written once per process; the row locks where the database has them."""
    quote = connection.ops.quote_name
    requests, orders = VenueRequest._meta, Order._meta
    columns = [f"r.{quote(f.column)}" for f in requests.concrete_fields] + [
        f"o.{quote(f.column)}" for f in orders.concrete_fields]
    order_fk = quote(requests.get_field("order").column)
    state, venue, pk = (quote(requests.get_field(name).column) for name in ("state", "venue", "id"))
    lock = " FOR UPDATE OF r, o SKIP LOCKED" if connection.features.has_select_for_update else ""
    unresolved = ", ".join(f"'{s}'" for s in (RequestState.QUEUED, RequestState.SENDING))
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(requests.db_table)} r "
        f"JOIN {quote(orders.db_table)} o ON o.{quote(orders.pk.column)} = r.{order_fk} "
        f"WHERE r.{venue} = %s AND r.{state} = '{RequestState.QUEUED}' AND NOT EXISTS ("
        f"SELECT 1 FROM {quote(requests.db_table)} e WHERE e.{order_fk} = r.{order_fk} "
        f"AND e.{pk} < r.{pk} AND e.{state} IN ({unresolved})) "
        f"ORDER BY r.{pk} LIMIT %s{lock}"
    )
    return sql


@dataclass
class _Sent:
    request: VenueRequest
    answer: VenueAnswer | None  # None: the outcome is unknown
    answered_at: datetime | None = None
    why: str = ""


def _send_batch(
    *,
    venue_code: str,
    gateway: VenueGateway,
    limiter: SlidingWindowLimiter,
    limit: int,
    size: int,
    deadline: float,
) -> _Batch:
    unused: list[Slot] = []
    refused = ""  # a gate reject: the venue did not act on that message
    try:
        with transaction.atomic():
            if not session_hold_for_send(venue_code=venue_code):
                return _Batch(0, "gated", size)
            claimed = _claim_heads(venue_code, size)
            if not claimed:
                return _Batch(0, "empty", size)
            # Waiting here holds the claimed rows, about one slot's interval under a
            # backlog; a cancel meanwhile waits and then finds the order sent or queued.
            slots = limiter.acquire_many(
                count=len(claimed), limit=limit, window_ms=window_ms(),
                timeout=max(deadline - time.monotonic(), 0.05),
            )
            if not slots:
                return _Batch(0, "budget", 1)
            full = len(slots) == len(claimed) == size
            if full:
                next_size = min(size * 2, _largest_batch(limit))
            else:
                next_size = max(len(slots), 1) if len(slots) < len(claimed) else size
            unused = list(reversed(slots))  # popped from the end: in grant order
            sent: list[_Sent] = []
            for request in claimed[:len(slots)]:
                slot = unused.pop()
                _prepare(request)
                request.sent_at = timezone.now()
                try:
                    answer = gateway.send(venue_code, request.message)
                except GatewayError as exc:
                    # The venue may still receive it later: the slot keeps counting until it
                    # ages out (pending_ms), rather than being completed now.
                    sent.append(_Sent(request, None, why=str(exc)))
                    break
                # Completed now, not with the batch: a slot re-stamped later than its answer
                # comes back later, and the window repeats that delay every second.
                _complete(limiter, venue_code, [slot])
                refused = _gate_reject(request, answer)
                if refused:
                    break
                sent.append(_Sent(request, answer, answered_at=timezone.now()))
            _record(sent)
    finally:
        if unused:
            # Nothing was sent on these. (A slot whose send the venue refused at its gate
            # stays spent: the venue counts that message in its window.)
            limiter.release_many(unused)
    if refused == "NOT_LOGGED_ON":
        session_mark_dropped(venue_code=venue_code, reason="venue answered NOT_LOGGED_ON")
    elif refused:
        logger.error("venue %s answered %s: that send and the rest of its batch stay queued",
                     venue_code, refused)
    return _Batch(len(sent), "gated" if refused else "", next_size,
                  full=full and not refused and len(sent) == len(claimed),
                  short=len(claimed) < size and not refused and len(sent) == len(claimed))


def _complete(limiter: SlidingWindowLimiter, venue_code: str, slots: list[Slot]) -> None:
    try:
        limiter.complete_many(slots)
    except redis.RedisError as exc:
        # The venue acted and answered: record it whatever Redis says. Not re-stamped, the
        # entries keep counting as sends under way until they age out (later than needed,
        # never earlier); a restarted Redis is covered by the cool-down.
        logger.warning("venue %s answered but %d limiter slots were not completed: %r",
                       venue_code, len(slots), exc)


def _gate_reject(request: VenueRequest, answer: VenueAnswer) -> str:
    body = answer.body
    if body.get("requestId") != str(request.request_id):
        return ""
    reason = str(body.get("reason") or "")
    if body.get("result") == VenueResult.REJECT and reason in GATE_REJECTS:
        return reason
    return ""


def _prepare(request: VenueRequest) -> None:
    """The claim, in memory: written with the answer, or never if the batch stops first."""
    order = request.order
    if request.kind == RequestKind.NEW:
        # Sent with the order's terms as they are now: in-place modifies are included.
        request.quantity = order.quantity
        request.limit_price = order.limit_price
        request.stop_price = order.stop_price
    request.message = _message(request)
    request.state = RequestState.SENDING
    request.claimed_at = timezone.now()
    request.claimed_by = WORKER_ID[:100]
    request.attempts += 1


def _decimal(value) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _message(request: VenueRequest) -> dict:
    order = request.order
    message = {
        "kind": request.kind,
        "requestId": str(request.request_id),
        "clientOrderId": str(order.pk),
    }
    if request.kind != RequestKind.CANCEL:
        message |= {
            "quantity": _decimal(request.quantity),
            "limitPrice": _decimal(request.limit_price),
            "stopPrice": _decimal(request.stop_price),
        }
    if request.kind == RequestKind.NEW:
        message |= {
            "symbol": order.symbol,
            "side": order.side,
            "orderType": order.order_type,
            "timeInForce": order.time_in_force,
            "account": order.account_id,
        }
    return message


# What a claim or an answer changes on a request: the batch writes these, and only these.
_REQUEST_FIELDS = (
    "state", "quantity", "limit_price", "stop_price", "message", "attempts", "claimed_at",
    "claimed_by", "sent_at", "responded_at", "result", "reason", "response", "latency_micros",
)


def _record(sent: list[_Sent]) -> None:
    """Write what the batch sent and heard: the requests, then the orders and their events."""
    writes = order_services.OrderWrites()
    for item in sent:
        request = item.request
        if request.kind == RequestKind.NEW and request.order.status == OrderStatus.QUEUED:
            order_services.order_mark_sent(
                order_id=request.order_id, actor=ACTOR, locked=request.order, writes=writes
            )
        if item.answer is None:
            _mark_unknown(request, why=item.why)
        else:
            _record_answer(request, item.answer, responded_at=item.answered_at, writes=writes)
    _save_requests([item.request for item in sent])
    writes.flush()


def _save_requests(requests: list[VenueRequest]) -> None:
    # One statement text for the whole batch, pipelined by the driver: no ORM compilation
    # per row, and one round trip.
    fields = [VenueRequest._meta.get_field(name) for name in _REQUEST_FIELDS]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(VenueRequest._meta.db_table)} SET "
        + ", ".join(f"{quote(field.column)} = %s" for field in fields)
        + f" WHERE {quote(VenueRequest._meta.pk.column)} = %s"
    )
    rows = [
        [field.get_db_prep_save(getattr(request, field.attname), connection)
         for field in fields] + [request.pk]
        for request in requests
    ]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _mark_unknown(request: VenueRequest, *, why: str) -> None:
    request.reason = why[:200]
    logger.warning("send of %s %s has an unknown outcome: %s", request.kind,
                   request.request_id, why)


def _record_answer(
    request: VenueRequest, answer: VenueAnswer, *, responded_at: datetime,
    writes: order_services.OrderWrites,
) -> None:
    body = answer.body
    if body.get("requestId") != str(request.request_id):
        UnmatchedResponse.objects.create(
            venue_id=request.venue_id,
            request_id=str(body.get("requestId", ""))[:64],
            why=f"answer to a send of request {request.request_id} names another request",
            payload=body,
        )
        _mark_unknown(request, why="the answer named another request")
        return
    result = body.get("result")
    reason = str(body.get("reason") or "")
    if result not in VenueResult.values:
        UnmatchedResponse.objects.create(
            venue_id=request.venue_id, request_id=str(request.request_id),
            why=f"answer has no valid result ({result!r})", payload=body,
        )
        _mark_unknown(request, why="the answer had no valid result")
        return
    request.state = RequestState.ANSWERED
    request.result = result
    request.reason = reason[:200]
    request.response = body
    request.responded_at = responded_at
    request.latency_micros = answer.latency_micros
    try:
        # The order services check before they change anything, so a refusal leaves the
        # batch's writes clean and the answer stays recorded on its request.
        _apply_to_order(request, accepted=result == VenueResult.ACCEPT, reason=reason,
                        writes=writes)
    except InvalidTransition as exc:
        # The answer is kept on its request; that it fits no transition is flagged for a human.
        UnmatchedResponse.objects.create(
            venue_id=request.venue_id, request_id=str(request.request_id),
            why=f"answer does not fit the order's state: {exc.message}"[:200], payload=body,
        )


def _apply_to_order(
    request: VenueRequest, *, accepted: bool, reason: str, writes: order_services.OrderWrites
) -> None:
    # The claim locked the order in this transaction: the services use that instance.
    order = {"order_id": request.order_id, "actor": ACTOR, "locked": request.order,
             "writes": writes}
    match (request.kind, accepted):
        case (RequestKind.NEW, True):
            order_services.order_acknowledge(**order)
        case (RequestKind.NEW, False):
            order_services.order_reject(**order, reason=reason)
        case (RequestKind.MODIFY, True):
            order_services.order_replace_accept(
                **order, quantity=request.quantity, limit_price=request.limit_price,
                stop_price=request.stop_price,
            )
        case (RequestKind.MODIFY, False):
            order_services.order_replace_reject(**order, reason=reason)
        case (RequestKind.CANCEL, True):
            order_services.order_cancel_accept(**order)
        case (RequestKind.CANCEL, False):
            order_services.order_cancel_reject(**order, reason=reason)


# --- the sweeper ---------------------------------------------------------------------------------


def _resend_after(attempts: int) -> timedelta:
    # Back-off for a venue that is down: the base wait, doubled per attempt, at most 1 minute.
    base = settings.OMS_DISPATCH_RESEND_AFTER_SECONDS
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 60))


def dispatch_sweep(*, now: datetime | None = None) -> dict:
    """Queue again what was claimed with an unknown outcome, and nudge every venue with work.

    Celery messages are only nudges: one lost with a Redis restart, or a worker that died,
    leaves rows in the table, and this finds them.
    """
    now = now or timezone.now()
    requeued = 0
    with transaction.atomic():
        candidates = VenueRequest.objects.select_for_update(skip_locked=True).filter(
            state=RequestState.SENDING,
            claimed_at__lt=now - timedelta(seconds=settings.OMS_DISPATCH_RESEND_AFTER_SECONDS),
        )
        for request in candidates.order_by("id"):
            if request.claimed_at < now - _resend_after(request.attempts):
                request.state = RequestState.QUEUED
                request.save(update_fields=["state"])
                requeued += 1
    venues = list(
        VenueRequest.objects.filter(state=RequestState.QUEUED)
        .values_list("venue_id", flat=True)
        .distinct()
    )
    for venue_code in venues:
        if session_can_send(venue_code=venue_code):
            dispatch_nudge(venue_code=venue_code, coalesce=False)
    return {"requeued": requeued, "nudged": venues}
