"""A long history, written straight into the tables with generate_series: what a busy desk
leaves behind after half a year, for the query-plan test (tests/test_query_plans.py) and
the retention benchmark (bench/retention.py).

`orders` directed orders over two venues, most of them created between 200 and 91 days
ago and done (filled, cancelled, rejected), already counted in /metrics' tallies as beat
would have; the last `recent_share` of them from the past day, a third still open (NEW).
Each has three audit events, a NEW answered with its latency, a CANCEL if cancelled, two
answered status questions if old, one execution report, and one fill if filled (a few of
those quarantined). With 300,000 orders: ~1,000,000 venue requests, 900,000 events,
300,000 reports, 150,000 fills.
"""

from __future__ import annotations

SYMBOLS = ("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA", "SPY")


def _uuid7(ts: str, i: str) -> str:
    """SQL for a UUIDv7 of the timestamp expression `ts`, unique by the integer `i`."""
    return (f"(lpad(to_hex((extract(epoch FROM {ts}) * 1000)::bigint), 12, '0') || '7' "
            f"|| lpad(to_hex({i} % 4096), 3, '0') || '8' || lpad(to_hex({i}), 15, '0'))::uuid")


def fill_history(cursor, *, orders: int = 300_000, recent_share: float = 0.03,
                 venues: tuple[str, str] = ("XMOCK", "XFAST"), accounts: int = 20) -> dict:
    """Write the history through `cursor` (the venues must exist); returns rows written per
    table. Accounts HIST-0... are created."""
    # Foreign keys are checked at commit (Django makes them DEFERRABLE INITIALLY DEFERRED),
    # so each insert queues a check per row; replica mode skips them (the rows are made
    # consistent), which the superuser of a test or bench database may ask for.
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if cursor.fetchone()[0]:
        cursor.execute("SET LOCAL session_replication_role = replica")
    recent = max(int(orders * recent_share), 3)
    old = orders - recent
    symbols = "ARRAY[" + ", ".join(f"'{s}'" for s in SYMBOLS) + "]"
    cursor.execute(f"""
        CREATE TEMP TABLE history_orders ON COMMIT DROP AS
        SELECT i, ts, {_uuid7('ts', 'i')} AS id,
               (ARRAY['{venues[0]}', '{venues[1]}'])[i % 2 + 1] AS venue,
               'HIST-' || (i % {accounts}) AS account,
               ({symbols})[(i / {accounts}) % {len(SYMBOLS)} + 1] AS symbol,
               CASE WHEN i > {old} THEN (ARRAY['NEW', 'FILLED', 'CANCELED'])[i % 3 + 1]
                    WHEN i % 10 < 5 THEN 'FILLED' WHEN i % 10 < 9 THEN 'CANCELED'
                    ELSE 'REJECTED' END AS status,
               i <= {old} AS old,
               500 + (i::bigint * 7919) % 5000 AS latency,
               -- Counted in /metrics' tallies: done more than ten minutes ago (beat's tallies
               -- run every 5 s); the open ones and the last minutes' are not.
               ((i <= {old} OR ts < now() - interval '10 minutes')
                AND (i <= {old} OR i % 3 <> 0)) AS tallied
        FROM (SELECT i, CASE WHEN i <= {old}
                    THEN now() - interval '200 days' + (i::float / {old}) * interval '109 days'
                    ELSE now() - interval '1 day'
                         + ((i - {old})::float / {recent}) * interval '1439 minutes' END AS ts
              FROM generate_series(1, {orders}) AS i) AS g
    """)
    cursor.execute(f"""
        INSERT INTO orders_account (code, default_routing, created_at)
        SELECT 'HIST-' || a, '', now() FROM generate_series(0, {accounts - 1}) AS a
        ON CONFLICT DO NOTHING
    """)
    written = {}
    cursor.execute("""
        INSERT INTO orders_order (id, account_id, client_order_id, symbol, side, order_type,
            quantity, limit_price, stop_price, time_in_force, venue_id, parent_id, routing,
            status, filled_quantity, average_price, venue_order_id, venue_cl_ord_id, flag,
            request_fingerprint, created_at, updated_at, tallied_status)
        SELECT id, account, 'H-' || i, symbol, CASE WHEN i % 2 = 0 THEN 'BUY' ELSE 'SELL' END,
            'LIMIT', 100, 150, NULL, 'DAY', venue, NULL, 'DIRECTED', status,
            CASE WHEN status = 'FILLED' THEN 100 ELSE 0 END,
            CASE WHEN status = 'FILLED' THEN 150 END, 'V-' || i, id::text, '', '', ts,
            ts + interval '5 milliseconds', CASE WHEN tallied THEN status ELSE '' END
        FROM history_orders
    """)
    written["orders_order"] = cursor.rowcount
    cursor.execute("""
        INSERT INTO orders_orderevent (order_id, type, from_status, to_status, actor, data,
                                       created_at)
        SELECT id, e.type, e.from_status, e.to_status, 'history', '{}'::jsonb,
               ts + e.n * interval '1 millisecond'
        FROM history_orders, LATERAL (VALUES
            (0, 'CREATED', '', 'QUEUED'), (1, 'SENT', 'QUEUED', 'PENDING_NEW'),
            (2, CASE status WHEN 'NEW' THEN 'ACKNOWLEDGED' WHEN 'FILLED' THEN 'FILLED'
                            WHEN 'CANCELED' THEN 'CANCELED' ELSE 'REJECTED' END,
             'PENDING_NEW', status)) AS e(n, type, from_status, to_status)
    """)
    written["orders_orderevent"] = cursor.rowcount
    # Request ids in time order, as uuid7() makes them (random ones cost this insert twice).
    cursor.execute(f"""
        INSERT INTO dispatch_venuerequest (request_id, order_id, venue_id, kind, state,
            quantity, limit_price, stop_price, message, attempts, queued_at, not_before,
            claimed_at, claimed_by, slot, sent_at, msg_seq_num, checked_at, checks,
            responded_at, result, reason, response, latency_micros, tallied)
        SELECT {_uuid7("ts + r.n * interval '1 second'", "i * 4 + r.n")}, id, venue, r.kind,
            'ANSWERED', NULL, NULL, NULL, NULL, 1,
            ts + r.n * interval '1 second', NULL, ts + r.n * interval '1 second', 'history',
            '', ts + r.n * interval '1 second', NULL, NULL, 0,
            ts + r.n * interval '1 second' + latency * interval '1 microsecond', 'ACCEPT', '',
            NULL, latency, tallied
        FROM history_orders, LATERAL (
            SELECT 0 AS n, 'NEW' AS kind
            UNION ALL SELECT 1, 'CANCEL' WHERE status = 'CANCELED'
            UNION ALL SELECT 2 + s, 'STATUS' FROM generate_series(0, 1) AS s WHERE old) AS r
    """)
    written["dispatch_venuerequest"] = cursor.rowcount
    # In flight now: a status question about every 100th recent open order, claimed ten
    # minutes ago and unanswered (the sweeper's business).
    cursor.execute("""
        INSERT INTO dispatch_venuerequest (request_id, order_id, venue_id, kind, state,
            attempts, queued_at, claimed_at, claimed_by, slot, sent_at, checks, result,
            reason, tallied)
        SELECT gen_random_uuid(), id, venue, 'STATUS', 'SENDING', 1,
            now() - interval '10 minutes', now() - interval '10 minutes', 'history', '',
            now() - interval '10 minutes', 0, '', '', false
        FROM history_orders WHERE NOT old AND status = 'NEW' AND i % 300 = 0
    """)
    written["dispatch_venuerequest"] += cursor.rowcount
    cursor.execute("""
        INSERT INTO executions_executionreport (venue_id, exec_id, order_id, request_id,
            exec_type, ord_status, cl_ord_id, orig_cl_ord_id, venue_order_id,
            ord_status_req_id, ord_rej_reason, last_quantity, last_price, cum_quantity,
            leaves_quantity, average_price, exec_ref_id, last_liquidity, commission_type,
            text, transact_time, poss_dup, received_at, flag, raw)
        SELECT venue, 'E-' || i, id, NULL,
            CASE status WHEN 'FILLED' THEN 'F' WHEN 'CANCELED' THEN '4' WHEN 'NEW' THEN '0'
                        ELSE '8' END,
            CASE status WHEN 'FILLED' THEN '2' WHEN 'CANCELED' THEN '4' WHEN 'NEW' THEN '0'
                        ELSE '8' END,
            id::text, '', 'V-' || i, '', '',
            CASE WHEN status = 'FILLED' THEN 100 END, CASE WHEN status = 'FILLED' THEN 150 END,
            CASE WHEN status = 'FILLED' THEN 100 ELSE 0 END, 0,
            CASE WHEN status = 'FILLED' THEN 150 END, '', '', '', '', ts, false,
            ts + interval '4 milliseconds', '', '8=FIX.4.4|35=8|17=E-' || i || '|'
        FROM history_orders
    """)
    written["executions_executionreport"] = cursor.rowcount
    cursor.execute("""
        INSERT INTO executions_fill (venue_id, exec_id, kind, order_id, account_id, symbol,
            side, last_quantity, last_price, liquidity, fee, transact_time, state,
            quarantine_reason, corrected, flag, report_id, created_at, updated_at)
        SELECT h.venue, 'E-' || h.i, 'TRADE', h.id, h.account, h.symbol,
            CASE WHEN h.i % 2 = 0 THEN 'BUY' ELSE 'SELL' END, 100, 150, 'TAKER', 0.3, h.ts,
            CASE WHEN h.i % 1000 = 0 THEN 'QUARANTINED' ELSE 'APPLIED' END,
            CASE WHEN h.i % 1000 = 0 THEN 'OVERFILL' ELSE '' END, false, '', r.id,
            h.ts + interval '4 milliseconds', h.ts + interval '4 milliseconds'
        FROM history_orders h
        JOIN executions_executionreport r ON r.venue_id = h.venue AND r.exec_id = 'E-' || h.i
        WHERE h.status = 'FILLED'
    """)
    written["executions_fill"] = cursor.rowcount
    cursor.execute("""
        INSERT INTO executions_position (account_id, symbol, net_quantity, average_cost,
            realized_pnl, fees, carried_through, carried_net_quantity, carried_realized_pnl,
            carried_fees, updated_at)
        SELECT account_id, symbol,
            sum(CASE side WHEN 'BUY' THEN last_quantity ELSE -last_quantity END), 150, 0,
            sum(fee), 0, 0, 0, 0, max(created_at)
        FROM executions_fill WHERE state = 'APPLIED' GROUP BY account_id, symbol
        ON CONFLICT (account_id, symbol) DO NOTHING
    """)
    # What beat's tallies would hold for the old, done history.
    cursor.execute("""
        INSERT INTO orders_ordertally (venue_id, status, count)
        SELECT venue, status, count(*) FROM history_orders WHERE tallied
        GROUP BY venue, status
        ON CONFLICT (venue_id, status) DO UPDATE SET count = orders_ordertally.count
                                                             + EXCLUDED.count
    """)
    cursor.execute("""
        INSERT INTO dispatch_requesttally (venue_id, kind, sent, answered, latency_sum_micros,
                                           buckets)
        SELECT venue_id, kind, count(*), count(*), sum(latency_micros), '{}'::jsonb
        FROM dispatch_venuerequest WHERE tallied GROUP BY venue_id, kind
        ON CONFLICT (venue_id, kind) DO NOTHING
    """)
    cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    for table in ("orders_order", "orders_orderevent", "dispatch_venuerequest",
                  "executions_executionreport", "executions_fill", "executions_position",
                  "orders_ordertally", "dispatch_requesttally"):
        cursor.execute(f"ANALYZE {table}")
    return written
