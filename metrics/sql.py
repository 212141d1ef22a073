"""The metrics app's raw SQL: one statement, for one snapshot."""

from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def one_snapshot():
    """Every read of a scrape sees the same instant of the database.

    Counters are a tally plus the rows not yet folded into it (dispatch/tally.py,
    orders/tally.py); read at READ COMMITTED, a tally committing between the two reads
    counts its rows twice or not at all, and Prometheus reads a counter that went down as a
    restart. REPEATABLE READ takes one snapshot for the whole transaction; READ ONLY, since a
    scrape writes nothing. Inside a transaction already begun (tests) the caller's stands.
    SQLite: its transaction is a snapshot already.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
