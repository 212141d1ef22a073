"""The orders app's raw SQL, in one place; each statement says what measurement it exists for.

Intake's account checks: the ORM spent ~0.4 ms of CPU compiling these lookups for every
order (profiled), on the API's hottest path.
"""

from django.db import connection

from orders.models import Account


def _first(sql: str, params: list):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else row[0]


# Each answers the account's default routing ("" for the settings' one), None when there is
# no such account (held by the user): intake learns both in the one read.
def account_routing(account_code: str) -> str | None:
    return _first(f"SELECT default_routing FROM {Account._meta.db_table} WHERE code = %s",
                  [account_code])


def account_routing_if_held_by(account_code: str, user_id: int) -> str | None:
    holders = Account.users.through._meta
    return _first(
        f"SELECT a.default_routing FROM {holders.db_table} h "
        f"JOIN {Account._meta.db_table} a ON a.code = h.{holders.get_field('account').column} "
        f"WHERE h.{holders.get_field('account').column} = %s "
        f"AND h.{holders.get_field('user').column} = %s",
        [account_code, user_id],
    )


# --- The live event stream (orders/live/feed.py) ----------------------------------------------
# Raw because the ORM cannot say "older than every running transaction", and txid is a column
# it does not know (migration 0005). Each read is one statement, so the horizon and the rows
# it filters come from the same snapshot. The (txid, id) index serves the range and the order.
#
# The horizon: the oldest transaction still running in the statement's snapshot (the
# snapshot's xmin), except those that run in another database of the server, which cannot
# write this table (they are known by pg_stat_activity; one it cannot place, say for want
# of the pg_read_all_stats role, counts). None running: the snapshot's xmax. Measured: a
# test run of another database, idle in a transaction for minutes, held every stream back
# for as long with the plain xmin.
_HORIZON = (
    "WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s), "
    "horizon AS MATERIALIZED (SELECT COALESCE("
    "(SELECT min(x) FROM snap, pg_snapshot_xip(snap.s) AS x WHERE NOT EXISTS ("
    "SELECT 1 FROM pg_stat_activity a "
    "WHERE a.backend_xid = xid(x) AND a.datname <> current_database())), "
    "(SELECT pg_snapshot_xmax(s) FROM snap)) AS h) "
)

_EVENT_COLUMNS = (
    "e.id, e.order_id, e.type, e.from_status, e.to_status, e.actor, e.data, e.created_at, "
    "o.client_order_id, o.account_id, o.symbol, o.side, o.venue_id"
)
_SCOPE = (
    " AND o.account_id IN (SELECT au.account_id FROM orders_account_users au "
    "WHERE au.user_id = %s)"
)


def live_events_after(position: tuple[int, int], *, user_id: int | None,
                      limit: int) -> tuple[list[tuple], bool]:
    """Events after `position` ((txid, id); id alone on SQLite) in stream order, of the
    user's accounts (None: every account), and whether later events are committed but held
    back behind a transaction still running (then look again soon)."""
    scope, params = (_SCOPE, [user_id]) if user_id is not None else ("", [])
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            # SQLite takes the write lock at BEGIN (IMMEDIATE) and holds it to COMMIT, so ids
            # are handed out in commit order: after id N there is never a late N-1.
            cursor.execute(
                f"SELECT 0, {_EVENT_COLUMNS} FROM orders_orderevent e "
                "JOIN orders_order o ON o.id = e.order_id "
                f"WHERE e.id > %s{scope} ORDER BY e.id LIMIT %s",
                [position[1], *params, limit])
            return cursor.fetchall(), False
        cursor.execute(
            f"{_HORIZON}SELECT e.txid::text::bigint, {_EVENT_COLUMNS} "
            "FROM horizon, orders_orderevent e JOIN orders_order o ON o.id = e.order_id "
            "WHERE (e.txid, e.id) > (%s::text::xid8, %s) AND e.txid < horizon.h"
            f"{scope} ORDER BY e.txid, e.id LIMIT %s",
            [str(position[0]), position[1], *params, limit])
        rows = cursor.fetchall()
        if len(rows) == limit:
            return rows, False
        # The user's own only: under load some transaction is always under way, and a
        # stream that retried for every account's would read ten times a second for nothing.
        cursor.execute(f"{_HORIZON}SELECT EXISTS (SELECT 1 FROM horizon, orders_orderevent e "
                       "JOIN orders_order o ON o.id = e.order_id "
                       f"WHERE e.txid >= horizon.h{scope})", params)
        return rows, cursor.fetchone()[0]


def live_position_of(event_id: int) -> tuple[int, int] | None:
    """The stream position of an event, or None when there is no such event."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("SELECT 0, id FROM orders_orderevent WHERE id = %s", [event_id])
        else:
            cursor.execute("SELECT txid::text::bigint, id FROM orders_orderevent WHERE id = %s",
                           [event_id])
        row = cursor.fetchone()
        return (row[0], row[1]) if row else None


def live_position_now() -> tuple[int, int]:
    """A position before every event not yet committed: a new stream starts here."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM orders_orderevent")
            return 0, cursor.fetchone()[0]
        # Every transaction below the horizon is over; later ones may still write events.
        cursor.execute(f"{_HORIZON}SELECT h::text::bigint FROM horizon")
        return cursor.fetchone()[0], 0
