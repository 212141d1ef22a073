"""What the process holding a venue's FIX session records about the wire: the session row's
`state`, and the LOGON / LOGOUT history (closing the event reconcile opened, or writing one
of its own when the venue dropped us or we reconnected)."""

import logging
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

logger = logging.getLogger(__name__)

HOLDER_ACTOR = "system:fix"


def _set_state(session: VenueSession, state: str, at: datetime) -> None:
    session.state = state
    session.state_changed_at = at
    session.save(update_fields=["state", "state_changed_at", "pending_event", "updated_at"])


def session_record_connecting(*, venue_code: str) -> None:
    with transaction.atomic():
        session = lock_session(venue_code)
        if session.state in (SessionState.LOGGED_OUT, SessionState.LOGGING_OFF):
            _set_state(session, SessionState.LOGGING_ON, timezone.now())


def session_record_logging_off(*, venue_code: str) -> None:
    with transaction.atomic():
        session = lock_session(venue_code)
        if session.state == SessionState.LOGGED_ON:
            _set_state(session, SessionState.LOGGING_OFF, timezone.now())


def session_record_logon(*, venue_code: str, at: datetime | None = None, detail: str = "") -> None:
    """The venue answered our Logon: the session is up."""
    at = at or timezone.now()
    with transaction.atomic():
        session = lock_session(venue_code)
        if session.state == SessionState.LOGGED_ON:
            return
        _close_or_write(session, SessionEventType.LOGON, at=at,
                        data={"detail": detail} if detail else {})
        _set_state(session, SessionState.LOGGED_ON, at)
    logger.info("venue %s logged on", venue_code)


def session_record_logged_off(
    *, venue_code: str, at: datetime | None = None, reason: str = "", asked: bool = True
) -> None:
    """The session is down: our Logout was answered (`asked`), or the venue or the network
    ended it."""
    at = at or timezone.now()
    with transaction.atomic():
        session = lock_session(venue_code)
        if session.state == SessionState.LOGGED_OUT:
            return
        data = {} if asked else {"dropped": True}
        if reason:
            data["reason"] = reason[:200]
        # A drop while a logout was wanted still ends in the wanted state: it closes the
        # pending LOGOUT (marked dropped), or that would wait for a Logout never to be sent.
        _close_or_write(session, SessionEventType.LOGOUT, at=at, data=data)
        _set_state(session, SessionState.LOGGED_OUT, at)
    log = logger.info if asked else logger.warning
    log("venue %s logged out%s", venue_code, f": {reason}" if reason else "")


def _close_or_write(session: VenueSession, kind: str, *, at: datetime, data: dict) -> None:
    pending = session.pending_event
    if pending is not None and pending.type == kind and (
        pending.result == SessionEventResult.PENDING
    ):
        pending.result = SessionEventResult.ACKNOWLEDGED
        pending.sent_at = pending.sent_at or pending.created_at
        pending.acknowledged_at = at
        pending.data = {**pending.data, **data}
        pending.save(update_fields=["result", "sent_at", "acknowledged_at", "data"])
        session.pending_event = None
        return
    SessionEvent.objects.create(
        session=session, type=kind, actor=HOLDER_ACTOR, result=SessionEventResult.ACKNOWLEDGED,
        sent_at=at, acknowledged_at=at, created_at=at, data=data,
        reason=str(data.get("reason", ""))[:200],
    )
