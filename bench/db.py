"""Direct psycopg access to the bench database: backlogs queued with COPY, the order tables
emptied between scenarios, and the measurements read from the books."""

from __future__ import annotations

import hashlib
import threading
import time
from decimal import Decimal

from bench.stack import VENUE


class Db:

    def __init__(self, url: str):
        import psycopg

        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)
        from dispatch.models import VenueRequest
        from executions.models import ExecutionReport
        from orders.models import Order, OrderEvent

        self.models = {"order": Order, "event": OrderEvent, "request": VenueRequest}
        self.t = {k: m._meta.db_table for k, m in self.models.items()}
        self.t["report"] = ExecutionReport._meta.db_table
        from dispatch.models import RequestTally
        from orders.models import OrderTally

        # /metrics' tallies of what the order tables held (orders/tally.py): emptied with them.
        self.t["tallies"] = f"{OrderTally._meta.db_table}, {RequestTally._meta.db_table}"

    def scalar(self, sql: str, params=()):
        return self.conn.execute(sql, params).fetchone()[0]

    def queue_depth(self) -> tuple[int, int]:
        row = self.conn.execute(
            f"SELECT count(*) FILTER (WHERE state = 'QUEUED'), "
            f"count(*) FILTER (WHERE state = 'SENDING') FROM {self.t['request']}"
        ).fetchone()
        return row[0], row[1]

    def answered(self) -> int:
        return self.scalar(f"SELECT count(*) FROM {self.t['request']} WHERE state = 'ANSWERED'")

    def quiesce(self, *, settle: float = 1.0, timeout: float = 120.0) -> None:
        """Until no order has been written for `settle` s: requests the load generator gave
        up on may still be running in the web processes after a run."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            now = self.conn.execute(
                f"SELECT count(*), max(updated_at) FROM {self.t['order']}").fetchone()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= settle:
                return
            time.sleep(0.25)

    def withdraw_queued(self) -> int:
        """Take whatever is still queued out of the queue, so dispatchers stop claiming it:
        a scenario that measured part of a backlog is over, and its rows go next."""
        return self.conn.execute(
            f"UPDATE {self.t['request']} SET state = 'WITHDRAWN' WHERE state = 'QUEUED'"
        ).rowcount

    def truncate(self) -> None:
        """Empty the order tables between scenarios (a backlog left behind would skew the
        next one). A web or dispatcher transaction under way can deadlock with TRUNCATE's
        table locks: retried."""
        import psycopg

        self.quiesce()
        for attempt in range(20):
            try:
                self.conn.execute("SET lock_timeout = '5s'")
                self.conn.execute(
                    f"TRUNCATE {self.t['report']}, {self.t['request']}, {self.t['event']}, "
                    f"{self.t['order']}, {self.t['tallies']} CASCADE")
                return
            except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable):
                time.sleep(0.5 + attempt * 0.2)
        raise RuntimeError("could not empty the order tables (locks held for too long)")

    # Rows as the order service writes them, built from the models so a new column with a
    # default is filled in the same way.
    def _rows(self, model, objects) -> tuple[list[str], list[tuple]]:
        from django.db import connection

        fields = [f for f in model._meta.concrete_fields
                  if not (f.primary_key and f.get_internal_type() == "BigAutoField")]
        rows = []
        for obj in objects:
            rows.append(tuple(
                f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields
            ))
        return [f.column for f in fields], rows

    def order_rows(self, count: int, *, prefix: str, account: str = "ACC-BENCH",
                   ensure_account: bool = True):
        """(orders, events, requests) unsaved model objects for `count` LIMIT orders."""
        from dispatch.models import RequestKind, VenueRequest
        from orders.models import Account, Order, OrderEvent, OrderEventType, OrderStatus

        if ensure_account:
            Account.objects.get_or_create(code=account)
        orders, events, requests = [], [], []
        for n in range(count):
            cid = f"{prefix}-{n}"
            order = Order(
                account_id=account, client_order_id=cid, venue_id=VENUE,
                status=OrderStatus.QUEUED,
                request_fingerprint=hashlib.sha256(cid.encode()).hexdigest(),
                symbol=f"S{n % 300:03d}", side="BUY" if n % 2 else "SELL",
                order_type="LIMIT", quantity=Decimal(10 + n % 90),
                limit_price=Decimal("100.25"), stop_price=None, time_in_force="GTC",
            )
            orders.append(order)
            events.append(OrderEvent(order=order, type=OrderEventType.CREATED,
                                     to_status=OrderStatus.QUEUED, actor="bench-operator"))
            requests.append(VenueRequest(order=order, venue_id=VENUE, kind=RequestKind.NEW))
        return orders, events, requests

    def copy_backlog(self, count: int, *, prefix: str, analyze: bool = True) -> float:
        """Queue `count` orders with COPY: order, CREATED event, NEW request each, in one
        transaction. Returns seconds taken. No Celery nudge: the caller nudges."""
        started = time.monotonic()
        objs = self.order_rows(count, prefix=prefix)
        with self.conn.transaction():
            with self.conn.cursor() as cur:
                for key, objects in zip(("order", "event", "request"), objs):
                    columns, rows = self._rows(self.models[key], objects)
                    with cur.copy(f"COPY {self.t[key]} ({', '.join(columns)}) FROM STDIN") as cp:
                        for row in rows:
                            cp.write_row(row)
        if analyze:
            self.conn.execute(f"ANALYZE {self.t['request']}")
        return time.monotonic() - started

    def raw_insert_rate(self, *, seconds: float, threads: int, prefix: str = "raw",
                        during=None) -> dict:
        """The same three rows per order, one transaction per order as the service commits
        them, from `threads` connections: what PostgreSQL alone does on this machine.
        `prefix` starts their clientOrderIds: another for each run between two truncates.
        `during`, a context manager, is entered once every connection is open and exited
        before any closes (a CpuMeter sees their backends); the time runs from then."""
        import psycopg

        prep = {}
        for key in ("order", "event", "request"):
            columns, _ = self._rows(self.models[key], [])
            prep[key] = (f"INSERT INTO {self.t[key]} ({', '.join(columns)}) VALUES "
                         f"({', '.join(['%s'] * len(columns))})")
        from orders.models import Account

        Account.objects.get_or_create(code="ACC-BENCH")
        counts = [0] * threads
        times = {}

        def begin() -> None:
            if during is not None:
                during.__enter__()
            times["started"] = time.monotonic()
            times["stop"] = times["started"] + seconds

        def end() -> None:
            times["elapsed"] = time.monotonic() - times["started"]
            if during is not None:
                during.__exit__(None, None, None)

        connected = threading.Barrier(threads + 1, action=begin, timeout=60)
        finished = threading.Barrier(threads + 1, action=end, timeout=60)

        def work(index: int) -> None:
            with psycopg.connect(self.url) as conn:
                connected.wait()
                stop = times["stop"]
                n = 0
                while time.monotonic() < stop:
                    objs = self.order_rows(50, prefix=f"{prefix}{index}-{n}",
                                          ensure_account=False)
                    n += 1
                    for o, e, r in zip(*objs):
                        with conn.transaction():
                            for key, obj in (("order", o), ("event", e), ("request", r)):
                                _, rows = self._rows(self.models[key], [obj])
                                conn.execute(prep[key], rows[0], prepare=True)
                        counts[index] += 1
                        if time.monotonic() >= stop:
                            break
                finished.wait()

        pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        connected.wait()
        finished.wait()
        for t in pool:
            t.join()
        elapsed = times["elapsed"]
        return {"orders": sum(counts), "seconds": round(elapsed, 2), "threads": threads,
                "orders_per_second": round(sum(counts) / elapsed, 1)}

    def e2e_acks(self, run_id: str) -> dict:
        """For the run's orders (clientOrderId `run_id`-n): POST accepted (the order's
        created_at) -> the venue's acknowledgement (ExecutionReport 150=0) applied to our
        books (the report's received_at), in ms; the orders without one, by the state of
        their NEW request; and the NEW requests' ClOrdIDs, to check against the venue's log."""
        like = (run_id + "-%",)
        latencies = [float(r[0]) for r in self.conn.execute(
            f"SELECT EXTRACT(EPOCH FROM (min(x.received_at) - o.created_at)) * 1000 "
            f"FROM {self.t['report']} x JOIN {self.t['order']} o ON o.id = x.order_id "
            f"WHERE x.exec_type = '0' AND o.client_order_id LIKE %s "
            f"GROUP BY o.id, o.created_at", like).fetchall()]
        unacked = dict(self.conn.execute(
            f"SELECT r.state || coalesce(':' || nullif(r.result, ''), ''), count(*) "
            f"FROM {self.t['request']} r JOIN {self.t['order']} o ON o.id = r.order_id "
            f"WHERE r.kind = 'NEW' AND o.client_order_id LIKE %s AND NOT EXISTS ("
            f"SELECT 1 FROM {self.t['report']} x WHERE x.order_id = o.id "
            f"AND x.exec_type = '0') GROUP BY 1", like).fetchall())
        cl_ord_ids = {str(r[0]) for r in self.conn.execute(
            f"SELECT r.request_id FROM {self.t['request']} r JOIN {self.t['order']} o "
            f"ON o.id = r.order_id WHERE r.kind = 'NEW' AND o.client_order_id LIKE %s",
            like).fetchall()}
        return {"latencies_ms": latencies, "unacked": unacked, "cl_ord_ids": cl_ord_ids}

    def e2e_stages(self, run_id: str) -> list[tuple[float, float, float, float]]:
        """Where an acknowledged order of the run spent its time, ms each: queued (accepted
        -> claimed by a dispatcher), handover (claimed -> written by the FIX holder), round
        trip (written -> the venue's answer read, latencyMicros), books (answer read -> the
        report applied to our books)."""
        return [tuple(float(v) for v in row) for row in self.conn.execute(
            f"SELECT EXTRACT(EPOCH FROM (r.claimed_at - o.created_at)) * 1000, "
            f"EXTRACT(EPOCH FROM (r.sent_at - r.claimed_at)) * 1000, "
            f"r.latency_micros / 1000.0, "
            f"EXTRACT(EPOCH FROM (x.received_at - r.sent_at)) * 1000 - r.latency_micros / 1000.0 "
            f"FROM {self.t['request']} r JOIN {self.t['order']} o ON o.id = r.order_id "
            f"JOIN {self.t['report']} x ON x.request_id = r.id AND x.exec_type = '0' "
            f"WHERE r.kind = 'NEW' AND r.latency_micros IS NOT NULL "
            f"AND o.client_order_id LIKE %s", (run_id + "-%",)).fetchall()]

    def latency_micros(self, since_id: int) -> list[int]:
        return [r[0] for r in self.conn.execute(
            f"SELECT latency_micros FROM {self.t['request']} WHERE id > %s "
            f"AND latency_micros IS NOT NULL", (since_id,)).fetchall()]

    def max_request_id(self) -> int:
        return self.scalar(f"SELECT coalesce(max(id), 0) FROM {self.t['request']}")
