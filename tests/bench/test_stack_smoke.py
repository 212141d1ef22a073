"""The benchmark suite's stack still runs: `python -m bench.smoke` starts it as the suite
does (the mock exchange's FIX acceptor, the FIX session holder, gunicorn, a dispatcher),
sends orders through the API until the venue acknowledges each (150=0, in its log and in our
books), and stops it cleanly (every process exits 0, the holder logs out at the venue).
It runs on a database of its own next to the test database and on a redis-server of its
own, so it touches nothing another run uses."""

import json
import subprocess
import sys
import time

from django.db import connection

from tests.system.processes import REPO, database_url

TIMEOUT = 60


def test_the_bench_stack_starts_acknowledges_orders_and_stops_cleanly(tmp_path):
    server, _, _ = database_url().rpartition("/")
    database = f"{connection.settings_dict['NAME']}_benchsmoke"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bench.smoke", "--pg", server, "--database", database,
         "--orders", "5", "--log-dir", str(tmp_path / "logs"), "--drop"],
        cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
    seconds = time.monotonic() - started
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-4000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] is True
    assert result["orders"]["acked_at_venue"] == result["orders"]["acked_in_books"] == 5
    assert set(result["stop"]["exit_codes"]) == {"web", "dispatcher-0", "fix", "exchange",
                                                 "redis"}
    assert set(result["stop"]["exit_codes"].values()) == {0}
    [session] = result["stop"]["venue_sessions"]
    assert (session["loggedOn"], session["logons"], session["logouts"]) == (False, 1, 1)
    assert seconds < TIMEOUT
