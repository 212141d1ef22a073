"""The floor (bench/floor/) still runs: the bench stack starts it as the suite does (a fresh
database of its own, migrated, a token, gunicorn), the load generator posts a few orders
through it with the token, and each is answered 201 and written as our intake writes one: the
order, its CREATED event and its NEW request, in one transaction. Without the token: 401. It
runs on a database of its own next to the test database, so it touches nothing another run
uses."""

import time

import psycopg
import pytest
from django.db import connection

from bench import loadgen
from bench.stack import Stack
from bench.stack_venues import http_json
from tests.system.processes import database_url

TIMEOUT = 60
ORDERS = 6


@pytest.fixture
def floor(tmp_path):
    server, _, _ = database_url().rpartition("/")
    stack = Stack(log_dir=tmp_path / "logs", pg=server, web_workers=1,
                  database=f"{connection.settings_dict['NAME']}_floorsmoke")
    try:
        stack.floor_start()
        yield stack
    finally:
        codes = stack.stop()
        stack.floor_database_drop()
        assert codes in ({"floor": 0}, {}), codes


def test_the_floor_starts_and_takes_orders_with_a_token(floor):
    started = time.monotonic()
    report = loadgen.run(url=floor.floor_url, token=floor.floor_token, rate=20,
                         duration=ORDERS / 20, modify_fraction=0, cancel_fraction=0,
                         concurrency=2, timeout=10, seed=3)
    assert report.error_count == 0, report.error_samples
    assert report.status_codes["create"] == {"201": ORDERS}

    with psycopg.connect(floor.floor_database_url) as conn:
        rows = conn.execute(
            "SELECT o.id, o.client_order_id, o.status, o.venue_id, e.type, e.to_status, "
            "e.actor, r.kind, r.state, r.venue_id, o.xmin = e.xmin AND e.xmin = r.xmin "
            "FROM floor_order o JOIN floor_orderevent e ON e.order_id = o.id "
            "JOIN floor_venuerequest r ON r.order_id = o.id ORDER BY o.id").fetchall()
        transactions = conn.execute(
            "SELECT count(DISTINCT e.txid) FROM floor_orderevent e").fetchone()[0]
    assert sorted(str(r[0]) for r in rows) == sorted(report.created_order_ids)
    for row in rows:
        assert row[1].startswith(report.run_id + "-")
        assert row[2:] == ("QUEUED", "XMOCK", "CREATED", "QUEUED", "floor-bench", "NEW",
                           "QUEUED", "XMOCK", True)  # xmin: one writing transaction
    assert transactions == ORDERS

    # The token is what lets an order in.
    with pytest.raises(Exception) as refused:
        http_json("POST", f"{floor.floor_url}/api/v1/orders", {})
    assert getattr(refused.value, "code", None) == 401
    assert time.monotonic() - started < TIMEOUT
