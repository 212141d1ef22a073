"""How fast retention removes history, batch size by batch size, on a history of ~2.6
million rows (bench/history.py) in the database at DATABASE_URL, which it migrates and
EMPTIES first (use a scratch database):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_scratch \\
        .venv/bin/python -m bench.retention --batches 100,500,2000

For each batch size it times `--runs` batches of retention (orders/services/retention.py,
each batch one transaction) and prints families and rows removed per second, and the time
one batch holds its transaction open. The README's "Growth and retention" quotes it.
"""

import argparse
import os
import time
from collections import Counter
from datetime import timedelta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--batches", default="100,500,2000",
                        help="batch sizes (order families a batch), comma-separated")
    parser.add_argument("--runs", type=int, default=10, help="batches timed per size")
    parser.add_argument("--archive-dir", default=None,
                        help="archive each row removed there first (JSONL)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omsproject.test_settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.history import fill_history
    from orders.services.retention import Retention, families_prune_batch
    from omsproject.archive import Archive
    from venues.services import venue_put

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE orders_order, orders_orderevent, dispatch_venuerequest, "
                       "executions_executionreport, executions_fill, executions_position, "
                       "orders_ordertally, dispatch_requesttally RESTART IDENTITY CASCADE")
    for code in ("XMOCK", "XFAST"):
        venue_put(code=code, actor="bench", throttle_per_second=100)
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        written = fill_history(cursor, orders=args.orders)
    print(f"history: {written} in {time.monotonic() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    now = timezone.now()
    for size in (int(n) for n in args.batches.split(",")):
        plan = Retention(cutoff=now - timedelta(days=90), batch=size, max_batches=args.runs,
                         archive=Archive(args.archive_dir, day=now.date()))
        removed: Counter = Counter()
        longest = 0.0
        after = None
        started = time.monotonic()
        for _ in range(args.runs):
            begun = time.monotonic()
            done, after = families_prune_batch(plan, after=after)
            longest = max(longest, time.monotonic() - begun)
            removed.update(done)
        took = time.monotonic() - started
        rows = sum(removed.values())
        print(f"batch {size:>5}: {removed['orders']:>6} families, {rows:>7} rows in {took:5.1f} s"
              f" = {removed['orders'] / took:6.0f} families/s, {rows / took:6.0f} rows/s; "
              f"longest batch {longest * 1000:.0f} ms ({dict(sorted(removed.items()))})")


if __name__ == "__main__":
    main()
