"""The routing benchmark still runs: `python -m bench.routing` starts its stack (the mock
exchange's three demo venues with the market on, the FIX holder, gunicorn, a dispatcher),
sends a few seeded parent orders under each policy from the same pinned books, measures
them, and writes its JSON, CSV and plot; the exchange's trade log equals our fills. On a
database of its own next to the test database and a redis-server of its own."""

import csv
import json
import subprocess
import sys
import time

from django.db import connection

from tests.system.processes import REPO, database_url

TIMEOUT = 60
ORDERS = 12


def test_the_routing_benchmark_measures_every_order_under_every_policy(tmp_path):
    server, _, _ = database_url().rpartition("/")
    database = f"{connection.settings_dict['NAME']}_routingsmoke"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bench.routing", "--orders", str(ORDERS), "--pg", server,
         "--database", database, "--out", str(tmp_path), "--log-dir", str(tmp_path / "logs"),
         "--drop"],
        cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    seconds = time.monotonic() - started
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-4000:]}"
    assert json.loads(done.stdout.strip().splitlines()[-1])["ok"] is True

    result = json.loads((tmp_path / "routing.json").read_text())
    assert set(result["policies"]) == {"BEST_PRICE", "PRO_RATA", "BEST_TOP"}
    for policy, numbers in result["policies"].items():
        assert (numbers["orders"], numbers["errors"]) == (ORDERS, 0), policy
        assert numbers["orders_with_fills"] > 0 and 0 < numbers["fill_rate"] <= 1
        assert numbers["cum_qty_not_fills_sum"] == 0
    assert all(venue["equal"] for venue in result["books_agree"].values())
    assert result["policies"]["BEST_TOP"]["children_per_parent"]["max"] == 1

    rows = list(csv.DictReader((tmp_path / "routing.csv").open()))
    assert len(rows) == 3 * ORDERS
    assert {row["status"] for row in rows} <= {"FILLED", "CANCELED"}
    # Each order met the same market under every policy.
    by_order: dict = {}
    for row in rows:
        by_order.setdefault(row["n"], set()).add((row["symbol"], row["side"], row["quantity"],
                                                  row["limit_price"], row["mid"]))
    assert all(len(terms) == 1 for terms in by_order.values())
    assert (tmp_path / "routing.png").stat().st_size > 10_000
    assert seconds < TIMEOUT
