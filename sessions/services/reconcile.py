"""Beat's reconcile: decide what each venue's session should be now, and announce closes.

Every second, for each venue, under its session row's lock and with the clock read there:
the desired state (operator override, else the schedule) is computed and, when it differs
from the recorded `desired`, recorded with a PENDING LOGON or LOGOUT event (abandoning one
still pending; none when the recorded state already is the new `desired`). The process that
holds the venue's FIX session (venues/fix/) compares `desired` with the wire and logs on or
off; it closes the event when the venue answers. So reconcile never talks to a venue and is
safe to run late, twice, or after a crash: it only ever writes what the clock says.

The kill switch is not part of the desired state: halting keeps sessions logged on, so that
cancels can go out and fills come in (sessions/services/halt.py).

Each run also announces a window close it has not announced yet (signals.session_window_closed),
which is where queued DAY orders expire: once per close, late if need be.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sessions.locks import lock_session
from sessions.models import (
    SessionEvent,
    SessionEventResult,
    SessionEventType,
    SessionState,
    VenueSession,
)
from sessions.schedule import last_close
from sessions.selectors import iso_instant, session_desired_state
from sessions.services.schedules import session_get_or_create_for_venue
from sessions.signals import session_window_closed

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:reconcile"


@dataclass(frozen=True, kw_only=True)
class ReconcileOutcome:
    venue_code: str
    action: str | None  # LOGON or LOGOUT newly wanted; None when `desired` did not change
    desired: str
    state: str


def session_reconcile(
    *, venue_code: str | None = None, now: datetime | None = None, actor: str = SYSTEM_ACTOR
) -> list[ReconcileOutcome]:
    """Bring each venue's desired session (or just `venue_code`'s) to what it should be now.

    `now` is for simulations; by default the clock is read once each venue's row is locked.
    A venue without a session gets the default one first.
    """
    if venue_code is not None:
        codes = [venue_code]
    else:
        venues = VenueSession._meta.get_field("venue").related_model
        codes = list(venues.objects.order_by("code").values_list("code", flat=True))
    outcomes = []
    for code in codes:
        try:
            session_get_or_create_for_venue(venue_code=code)
            outcomes.append(_reconcile_venue(venue_code=code, now=now, actor=actor))
            _announce_window_close(venue_code=code, now=now)
        except Exception:
            if venue_code is not None:
                raise
            # One venue's trouble must not keep the others from opening or closing on time.
            logger.exception("session reconcile failed for venue %s", code)
    return outcomes


def _reconcile_venue(*, venue_code: str, now: datetime | None, actor: str) -> ReconcileOutcome:
    with transaction.atomic():
        session = lock_session(venue_code)
        # The clock is read here, not when the task was queued: a run that comes late decides
        # for the time it actually runs, so a logon due at 09:30 never goes out after the close.
        at = now or timezone.now()
        desired = session_desired_state(session=session, now=at)
        target = SessionState.LOGGED_ON if desired.logged_on else SessionState.LOGGED_OUT
        if session.desired == target:
            return ReconcileOutcome(venue_code=venue_code, action=None,
                                    desired=session.desired, state=session.state)
        if session.pending_event_id is not None:
            _abandon(session.pending_event, at=at)
        action = SessionEventType.LOGON if desired.logged_on else SessionEventType.LOGOUT
        event = None
        if session.state != target:
            event = SessionEvent.objects.create(
                session=session, type=action, actor=actor, reason=desired.reason[:200],
                result=SessionEventResult.PENDING, created_at=at,
            )
        # else the wire already is what is wanted (the holder never carried out the request
        # just abandoned): a PENDING event would wait for a logon or logout that never comes.
        session.desired = target
        session.desired_reason = desired.reason[:200]
        session.pending_event = event
        session.save(update_fields=["desired", "desired_reason", "pending_event", "updated_at"])
    logger.info("venue %s should be %s: %s", venue_code, target, desired.reason)
    return ReconcileOutcome(venue_code=venue_code, action=action, desired=target,
                            state=session.state)


def _abandon(event: SessionEvent, *, at: datetime) -> None:
    if event.result != SessionEventResult.PENDING:
        return
    event.result = SessionEventResult.ABANDONED
    event.data = {**event.data, "abandoned_at": iso_instant(at),
                  "why": "superseded before the session's holder carried it out"}
    event.save(update_fields=["result", "data"])


def _announce_window_close(*, venue_code: str, now: datetime | None) -> None:
    with transaction.atomic():
        session = lock_session(venue_code)
        closed_at = last_close(session.schedule, now or timezone.now())
        if closed_at is None or (
            session.close_announced_at is not None and closed_at <= session.close_announced_at
        ):
            return
        # Inside the transaction: if a receiver fails, the mark rolls back with its work and
        # the next run announces this close again.
        session_window_closed.send(
            sender=VenueSession, venue_code=venue_code, closed_at=closed_at
        )
        session.close_announced_at = closed_at
        session.save(update_fields=["close_announced_at", "updated_at"])
