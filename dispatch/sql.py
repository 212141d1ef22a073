"""The dispatch app's raw SQL, in one place. Each statement says what measurement or what
database feature it exists for; everything else goes through the ORM.

The order table is reached through the request's foreign key: dispatch sits below orders
and imports nothing of it.
"""

from functools import lru_cache

from django.db import connection
from django.utils import timezone

from dispatch.models import RequestKind, RequestState, VenueRequest


def _orders():
    return VenueRequest._meta.get_field("order").related_model


def lock_venue_queue(venue_code: str) -> None:
    """One claim at a time per venue, until the transaction ends.

    Claims must commit in queue order for the session's holder to write them in that order
    (FIFO on the wire): two claims running side by side can commit the later heads first
    (measured before this: 28 of 110 NEWs reached the venue more than one slot out of order
    with 3 dispatcher processes at 20/s). A transaction-scoped advisory lock serializes the
    claims of one venue and nothing else; SQLite runs one writing transaction at a time
    anyway.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"oms.claim.{venue_code}"])


# The two-integer advisory lock space (apart from lock_venue_queue's one-bigint keys): a
# venue's drain turn is (DRAIN_TURN, hashtext(venue)).
DRAIN_TURN = 0x0D5A


def try_lock_drain_turn(venue_code: str) -> bool:
    """Take the venue's drain turn for this database session, or say another has it.

    A backlogged venue's drains would otherwise each hold a worker thread, waiting for the
    claim lock above in turn, and a dispatcher's threads could all be one venue's while
    another venue's drain waits behind them in the broker (measured: 8 of 8 threads on one
    venue, another venue's orders unsent after 16 s: tests/dispatch/test_fairness.py). A
    session-level advisory lock, not a row or a Redis key: PostgreSQL releases it the moment
    the process holding it dies, so a killed dispatcher holds up no venue.
    """
    if connection.vendor != "postgresql":
        return True  # SQLite: one machine, one writer at a time anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [DRAIN_TURN, venue_code])
        return cursor.fetchone()[0]


def unlock_drain_turn(venue_code: str) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [DRAIN_TURN, venue_code])


def seconds_since_last_claim(venue_code: str) -> float | None:
    """How long ago the venue's latest request was claimed (a send slot granted), by this
    host's clock; None if none ever was. Called inside the claim's transaction, after
    lock_venue_queue: no other claim of the venue is half done."""
    last = (VenueRequest.objects.filter(venue_id=venue_code, claimed_at__isnull=False)
            .order_by("-claimed_at").values_list("claimed_at", flat=True).first())
    return None if last is None else (timezone.now() - last).total_seconds()


@lru_cache(maxsize=None)
def _claim_sql() -> str:
    """The claim: written once per process, because building it in the ORM (its anti-join,
    the join and the row locks) was 41% of a dispatcher's CPU when orders trickle in one at
    a time (py-spy), each order then costing a drain and a few claims.

    A request waits until every earlier request of its order is answered (a CANCEL never
    overtakes its NEW), except a STATUS, whose job is to find out what became of one. While
    trading is halted only CANCEL and STATUS are claimed.
    """
    quote = connection.ops.quote_name
    requests, orders = VenueRequest._meta, _orders()._meta
    columns = [f"r.{quote(f.column)}" for f in requests.concrete_fields] + [
        f"o.{quote(f.column)}" for f in orders.concrete_fields]
    order_fk = quote(requests.get_field("order").column)
    state, venue, pk, kind, not_before = (
        quote(requests.get_field(name).column)
        for name in ("state", "venue", "id", "kind", "not_before"))
    lock = " FOR UPDATE OF r, o SKIP LOCKED" if connection.features.has_select_for_update else ""
    unresolved = ", ".join(f"'{s}'" for s in (RequestState.QUEUED, RequestState.SENDING))
    halt_proof = ", ".join(f"'{k}'" for k in (RequestKind.CANCEL, RequestKind.STATUS))
    return (
        f"SELECT {', '.join(columns)} FROM {quote(requests.db_table)} r "
        f"JOIN {quote(orders.db_table)} o ON o.{quote(orders.pk.column)} = r.{order_fk} "
        f"WHERE r.{venue} = %s AND r.{state} = '{RequestState.QUEUED}' "
        f"AND (r.{not_before} IS NULL OR r.{not_before} <= %s) "
        f"AND (%s = FALSE OR r.{kind} IN ({halt_proof})) "
        f"AND (r.{kind} = '{RequestKind.STATUS}' OR NOT EXISTS ("
        f"SELECT 1 FROM {quote(requests.db_table)} e WHERE e.{order_fk} = r.{order_fk} "
        f"AND e.{pk} < r.{pk} AND e.{kind} <> '{RequestKind.STATUS}' "
        f"AND e.{state} IN ({unresolved}))) "
        f"ORDER BY r.{pk} LIMIT %s{lock}"
    )


def claim_heads(venue_code: str, size: int, *, halted: bool, now) -> list[VenueRequest]:
    """Lock and return up to `size` heads of the venue's queue, in order, each with its
    order loaded (request.order)."""
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), [venue_code, now, halted, size])
        rows = cursor.fetchall()
    requests, orders = _from_row(VenueRequest), _from_row(_orders())
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


def save_requests(requests: list[VenueRequest], fields: tuple[str, ...]) -> None:
    """Write `fields` of many requests in one round trip: one statement text, executemany
    pipelined by the driver, no ORM compilation per row (a batch of claims or sends)."""
    if not requests:
        return
    model_fields = [VenueRequest._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(VenueRequest._meta.db_table)} SET "
        + ", ".join(f"{quote(field.column)} = %s" for field in model_fields)
        + f" WHERE {quote(VenueRequest._meta.pk.column)} = %s"
    )
    rows = [
        [field.get_db_prep_save(getattr(request, field.attname), connection)
         for field in model_fields] + [request.pk]
        for request in requests
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def latency_percentiles(sample: int) -> list[tuple]:
    """Per venue and kind, over its `sample` latest answers with a measured round trip:
    count, mean, p50, p90, p99, max of latency_micros, and the first and last answer's
    time. PostgreSQL computes the percentiles (percentile_cont) rather than Python.

    Each venue and kind reads the (venue, kind, responded_at) index backwards from its
    newest answer and stops after `sample` rows (LATERAL ... LIMIT). Measured on a million
    requests (tests/test_query_plans.py): the GROUP BY over every answered request it
    replaces read the whole table at each call.
    (venue, kind, count, mean, p50, p90, p99, max, first, last) rows."""
    requests = VenueRequest._meta
    venues = requests.get_field("venue").related_model._meta
    kinds = ", ".join(f"('{kind}')" for kind in RequestKind.values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT v.{venues.pk.column}, k.kind, count(*), avg(s.latency_micros),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY s.latency_micros),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY s.latency_micros),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY s.latency_micros),
                   max(s.latency_micros), min(s.responded_at), max(s.responded_at)
            FROM {venues.db_table} v
            CROSS JOIN (VALUES {kinds}) AS k(kind)
            CROSS JOIN LATERAL (
                SELECT r.latency_micros, r.responded_at FROM {requests.db_table} r
                WHERE r.venue_id = v.{venues.pk.column} AND r.kind = k.kind
                  AND r.responded_at IS NOT NULL AND r.latency_micros IS NOT NULL
                ORDER BY r.responded_at DESC LIMIT %s
            ) s
            GROUP BY v.{venues.pk.column}, k.kind
            ORDER BY v.{venues.pk.column}, k.kind
            """,
            [sample],
        )
        return cursor.fetchall()
