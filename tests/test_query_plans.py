"""Nothing a scrape, the latency API, beat's sweeper, tallies or retention reads grows with
the history: their query plans on a history of a million rows (bench/history.py: 300,000
orders, ~1,000,000 venue requests, 900,000 audit events, 300,000 execution reports, 150,000
fills, mostly old and done).

The statements are the code's own: each path runs for real under CaptureQueriesContext,
then each statement it issued is run again under EXPLAIN (ANALYZE, FORMAT JSON) in a
savepoint that is rolled back. On the history's tables no plan may use a sequential scan,
and none may read more than READ_BUDGET of their rows (rows returned plus rows a filter
removed, over every loop), except the latency API, whose budget is its sample per venue
and kind. `./oms test -m plans` runs only this; about 40 s here.
"""

import json

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench.history import fill_history
from dispatch.models import RequestKind
from dispatch.sweeper import dispatch_sweep
from dispatch.tally import requests_tally
from orders.services.retention import history_prune
from orders.tally import orders_tally
from tests.dispatch.conftest import venue_live

pytestmark = [pytest.mark.plans, pytest.mark.django_db]

HISTORY = ("orders_order", "orders_orderevent", "dispatch_venuerequest",
           "executions_executionreport", "executions_fill")
READ_BUDGET = 25_000  # 2.5% of the million
EXPLAINED = ("SELECT", "WITH", "UPDATE", "DELETE")


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _read(node: dict) -> int:
    per_loop = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0))
    return int(per_loop * node.get("Actual Loops", 1))


def explain(sql: str) -> dict:
    """The statement's plan as it ran (ANALYZE), its effects rolled back."""
    point = transaction.savepoint()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            (document,) = cursor.fetchone()
    finally:
        transaction.savepoint_rollback(point)
    plan = json.loads(document) if isinstance(document, str) else document
    return plan[0]["Plan"]


def history_reads(plan: dict) -> tuple[list[str], int]:
    """(sequential scans of the history's tables, rows of them read)."""
    seq, read = [], 0
    for node in _nodes(plan):
        if node.get("Relation Name") not in HISTORY:
            continue
        if node["Node Type"] == "Seq Scan":
            seq.append(node["Relation Name"])
        read += _read(node)
    return seq, read


def captured(action) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        action()
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith(EXPLAINED)]


@pytest.fixture
def history(limiter_redis):
    for code in ("XMOCK", "XFAST"):
        venue_live(code)
    with connection.cursor() as cursor:
        written = fill_history(cursor)
    assert written["dispatch_venuerequest"] > 950_000, written
    return written


def test_no_path_reads_the_history(history, client, operator_api):
    budget = settings.OMS_LATENCY_STATS_SAMPLE * 2 * len(RequestKind.values)

    def scrape():
        assert client.get("/metrics").status_code == 200

    def latency():
        answer = operator_api.get("/api/v1/stats/latency")
        assert answer.status_code == 200 and len(answer.json()) == 6, answer.json()

    paths = {
        "/metrics": (scrape, READ_BUDGET),
        "/api/v1/stats/latency": (latency, budget),
        "dispatch sweep": (lambda: dispatch_sweep(), READ_BUDGET),
        "tallies": (lambda: (orders_tally(), requests_tally()), READ_BUDGET),
        "retention": (lambda: history_prune(batch=200, max_batches=2), READ_BUDGET),
    }
    problems, report = [], []
    for path, (action, allowed) in paths.items():
        statements = captured(action)
        assert statements, path
        reads = []
        for sql in statements:
            seq, read = history_reads(explain(sql))
            reads.append((read, sql))
            if seq or read > allowed:
                problems.append(f"{path}: {'seq scan of ' + ', '.join(seq) if seq else ''} "
                                f"{read} rows read (at most {allowed}): {sql}")
        most, worst = max(reads, key=lambda pair: pair[0])
        report.append(f"{path}: {len(reads)} statements, {sum(r for r, _ in reads)} rows of "
                      f"the history read, at most {most} by one: {worst[:160]}")
    print("\n".join(report))
    assert not problems, "\n".join(problems)
