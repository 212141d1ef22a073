import logging

logger = logging.getLogger(__name__)


def dispatch_nudge(*, venue_code: str) -> None:
    """Tell a dispatcher there is work for the venue. Only a nudge: the queue is the table,
    and the sweeper re-nudges whatever waits, so a nudge that cannot be sent is logged and
    dropped rather than failing the request that queued the work."""
    from dispatch.tasks import dispatch_drain_task

    try:
        dispatch_drain_task.apply_async(args=[venue_code], retry=False)
    except Exception as exc:  # the broker is down: the sweeper will find the work
        logger.warning("could not nudge dispatch for %s: %r", venue_code, exc)
