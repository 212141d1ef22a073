"""The live stream's feed on SQLite, `./oms run`'s default database: migration 0005 adds
nothing there, and events are read by id (writers are serialized, so id order is commit
order). Run in a child process, since the suite itself runs on PostgreSQL."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import django
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from orders import services
    from orders.live import feed
    from orders.models import Account
    from tests.factories import order_terms

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(
            cursor, "orders_orderevent")]
    assert "txid" not in columns, columns
    alice, bob = User.objects.create(username="alice"), User.objects.create(username="bob")
    Account.objects.create(code="A").users.add(alice)
    Account.objects.create(code="B").users.add(bob)
    start = feed.start_position(None)
    first, _ = services.order_create(user=alice, account_code="A", client_order_id="a1",
                                     terms=order_terms())
    services.order_create(user=bob, account_code="B", client_order_id="b1",
                          terms=order_terms())
    services.order_cancel(order_id=first.pk, actor="alice")
    events, held_back = feed.events_after(start, user_id=alice.pk)
    assert not held_back
    assert [(e.payload["clientOrderId"], e.payload["type"]) for e in events] == [
        ("a1", "CREATED"), ("a1", "CANCELED")], events
    assert events[0].payload["orderId"] == str(first.pk)
    assert events[0].payload["createdAt"].endswith("Z"), events[0].payload  # UTC, said so
    resumed = feed.start_position(str(events[0].id))
    assert [e.id for e in feed.events_after(resumed, user_id=alice.pk)[0]] == [events[1].id]
    everyone, _ = feed.events_after(feed.start_position("0"), user_id=None)
    assert [e.id for e in everyone] == sorted(e.id for e in everyone) and len(everyone) == 3
    print("ok")
""")


def test_the_feed_reads_by_id_on_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'oms.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "omsproject.settings", "SECRET_KEY": "test-only",
           "ALLOWED_HOSTS": "localhost"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
