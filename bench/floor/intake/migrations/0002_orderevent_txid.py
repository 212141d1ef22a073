"""The writing transaction's id on each event, as orders_orderevent has it (orders migration
0005_orderevent_txid): filled by the database's default on every insert, with its index."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("floor", "0001_initial")]

    operations = [
        migrations.RunSQL(
            ["ALTER TABLE floor_orderevent ADD COLUMN txid xid8 NOT NULL "
             "DEFAULT pg_current_xact_id()",
             "CREATE INDEX floor_orderevent_txid_id ON floor_orderevent (txid, id)"],
            ["DROP INDEX floor_orderevent_txid_id",
             "ALTER TABLE floor_orderevent DROP COLUMN txid"]),
    ]
