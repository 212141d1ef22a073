"""Remove history past the retention now, as beat's `orders.retention` does every
OMS_RETENTION_EVERY_SECONDS: `manage.py oms_retention [--days 90] [--until-done]`.

Each run is bounded (OMS_RETENTION_MAX_BATCHES batches of OMS_RETENTION_BATCH); with
--until-done it runs again, folding done orders and requests into /metrics' tallies first
(retention only removes what they count), until a run finds nothing more to do: the way to
catch up after turning retention on over a long history.
"""

from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dispatch.tally import requests_tally
from orders.services.retention import history_prune
from orders.tally import orders_tally


class Command(BaseCommand):
    help = "Remove (or archive, then remove) history older than the retention."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help="keep this many days (default: OMS_RETENTION_DAYS; 0: keep "
                                 "everything)")
        parser.add_argument("--batch", type=int, default=None,
                            help="order families or rows per batch (OMS_RETENTION_BATCH)")
        parser.add_argument("--max-batches", type=int, default=None,
                            help="batches per run (OMS_RETENTION_MAX_BATCHES)")
        parser.add_argument("--archive-dir", default=None,
                            help="write each row removed to DIR/<table>/<date>.jsonl first "
                                 "(OMS_RETENTION_ARCHIVE_DIR)")
        parser.add_argument("--until-done", action="store_true",
                            help="run again until nothing is left past the retention")

    def handle(self, *args, **options) -> None:
        days = settings.OMS_RETENTION_DAYS if options["days"] is None else options["days"]
        if days < 0:
            raise CommandError("--days must be 0 (keep everything) or more")
        if not days:
            self.stdout.write("Retention is off (0 days): nothing is removed.")
            return
        total: Counter = Counter()
        while True:
            tallied = orders_tally() + requests_tally() if options["until_done"] else 0
            removed = history_prune(days=days, batch=options["batch"],
                                    max_batches=options["max_batches"],
                                    archive_dir=options["archive_dir"])
            total.update(removed)
            if not options["until_done"] or not (removed or tallied):
                break
        summary = ", ".join(f"{kind} {n}" for kind, n in sorted(total.items())) or "nothing"
        self.stdout.write(f"Removed past {days} days: {summary}.")
