"""Rows written out before retention removes them, when OMS_RETENTION_ARCHIVE_DIR is set:
one JSON object a line, appended to <dir>/<table>/<UTC date of the run>.jsonl, flushed and
fsynced before the batch that removes them commits.

At least once: a batch that rolls back after writing (a lock, a crash) is written again by
the run that removes its rows for good, so a reader keeps the last line of each `id`.
"""

import json
import os
from datetime import date
from pathlib import Path

from django.core.serializers.json import DjangoJSONEncoder


class Archive:
    def __init__(self, directory: str | Path | None, *, day: date):
        self.directory = Path(directory) if directory else None
        self.day = day

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def keep(self, queryset) -> int:
        """Write the queryset's rows (every concrete column, as stored); how many. Nothing
        when archiving is off."""
        if self.directory is None:
            return 0
        table = queryset.model._meta.db_table
        path = self.directory / table / f"{self.day.isoformat()}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with path.open("a", encoding="utf-8") as out:
            for row in queryset.order_by("pk").values().iterator():
                out.write(json.dumps(row, cls=DjangoJSONEncoder, sort_keys=True) + "\n")
                written += 1
            out.flush()
            os.fsync(out.fileno())
        return written
