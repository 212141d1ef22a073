"""The FIX session holder's process: `python -m omsproject.fixholder` (the Procfile's `fix`).

It wires the session layer (venues/fix/, which knows FIX and nothing of the queue or the
books) to the queue it writes from (dispatch.outbox.QueueOutbox) and the books it applies
the venues' messages to (orders.services.OrderBooks). Run as many as you like, on any hosts:
each venue's session is held by one of them at a time (venues/fix/holder.py).

    python -m omsproject.fixholder [--venue XMOCK ...]
"""

import argparse
import logging
import os
import signal
import threading


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venue", action="append", default=None,
                        help="hold only these venues' sessions (default: every venue)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omsproject.settings")
    import django

    django.setup()
    from dispatch.outbox import QueueOutbox
    from orders.services import OrderBooks
    from venues.fix.holder import SessionHolder

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    holder = SessionHolder(outbox=QueueOutbox(), inbox=OrderBooks(), venues=args.venue)
    logging.getLogger("venues.fix").info("starting the FIX session holder %s", holder.name)
    holder.run(stop)


if __name__ == "__main__":
    main()
