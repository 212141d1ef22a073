"""The writing transaction's id on each audit event (PostgreSQL only), for the live event
stream (orders/live/): events are streamed in (txid, id) order, and only those whose
transaction is older than every transaction still running, so one that commits late with a
smaller id is never skipped (orders/live/feed.py). Not a model field: the database fills it
in (its default), Django never writes or reads it through the ORM.

Existing rows get the migration's own transaction id (older than anything after it); adding
a column with a volatile default rewrites the table once.
"""

from django.db import migrations

FORWARD = [
    "ALTER TABLE orders_orderevent ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()",
    "CREATE INDEX orders_orderevent_txid_id ON orders_orderevent (txid, id)",
]
BACKWARD = [
    "DROP INDEX orders_orderevent_txid_id",
    "ALTER TABLE orders_orderevent DROP COLUMN txid",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite serializes writers: id order is commit order there
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_venue_identifiers")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
