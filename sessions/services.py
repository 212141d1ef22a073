"""Every write to a venue's session and to the kill switch goes through here.

session_reconcile is the only code that talks to venues about sessions. It compares the
desired session (halt > operator override > schedule, decided from the clock read under the
row lock) with the recorded one and sends at most one logon or logout per venue per run, so
it is safe to run every second, late, twice, or after a crash.

A request goes out in three steps: (1) under the row lock, record LOGGING_ON/LOGGING_OFF and
a PENDING history row, and commit; (2) call the gateway with no lock held, so operators and
order intake never wait on the network; (3) under the lock again, record the answer. While a
request is in flight, `retry_after` (the lease) keeps other reconcilers off the venue; a
sender that dies leaves LOGGING_* behind, and once the lease runs out the next reconcile
sends whatever the current time calls for.

Each run also announces a window close it has not announced yet (signals.session_window_closed),
which is where DAY orders expire: once per close, late if need be, whatever the logon state.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from omsproject.errors import InvalidInput
from sessions.errors import TradingHalted, VenueClosed, VenueNotFound
from venues.gateway import GatewayAck, VenueGateway, gateway_get
from sessions.models import (
    SessionEvent,
    SessionEventResult,
    SessionEventType,
    SessionOverride,
    SessionState,
    TradingHalt,
    TradingHaltEvent,
    VenueSession,
)
from sessions.selectors import (
    DesiredSession,
    iso_instant,
    session_desired_state,
    session_for_intake,
    trading_halt_get,
)
from sessions.schedule import last_close
from sessions.signals import session_window_closed
from venues.models import Venue

__all__ = [
    "DesiredSession",
    "ReconcileOutcome",
    "session_check_accepting",
    "session_default_schedule",
    "session_desired_state",
    "session_get_or_create_for_venue",
    "session_reconcile",
    "session_refuse_unless_accepting",
    "session_schedule_clean",
    "session_update",
    "trading_halt_get_or_create",
    "trading_halt_reason_clean",
    "trading_halt_set",
]

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:reconcile"
ALL_WEEKDAYS = [1, 2, 3, 4, 5, 6, 7]


def _lease() -> timedelta:
    # How long a sent logon/logout may go unanswered before another reconcile takes over.
    return timedelta(seconds=getattr(settings, "OMS_SESSION_LEASE_SECONDS", 30))


def _retry_delay() -> timedelta:
    # After a failed request: one attempt every few seconds, not one history row per beat.
    return timedelta(seconds=getattr(settings, "OMS_SESSION_RETRY_SECONDS", 5))


# --- creating and editing a session ----------------------------------------------------------


def session_default_schedule() -> dict:
    """The schedule a new venue starts with.

    OMS_DEMO_SESSION (default on) gives a demo venue that is open whenever someone tries it:
    every day 00:00:00-23:59:59 UTC, so the first reconcile logs on, and the one-second break
    at midnight shows a close and a logon. With it off, a conventional US equity session.
    """
    if getattr(settings, "OMS_DEMO_SESSION", True):
        return {
            "time_zone": "UTC",
            "open_time": time(0, 0),
            "close_time": time(23, 59, 59),
            "weekdays": list(ALL_WEEKDAYS),
            "holidays": [],
        }
    return {
        "time_zone": "America/New_York",
        "open_time": time(9, 30),
        "close_time": time(16, 0),
        "weekdays": [1, 2, 3, 4, 5],
        "holidays": [],
    }


def session_get_or_create_for_venue(*, venue_code: str, actor: str = "system") -> VenueSession:
    """The venue's session, created with the default schedule (logged out) if it has none."""
    session = VenueSession.objects.filter(pk=venue_code).first()
    if session is not None:
        return session
    # Checked first because PostgreSQL defers the foreign key check to COMMIT.
    if not Venue.objects.filter(pk=venue_code).exists():
        raise VenueNotFound(f"Unknown venue {venue_code}.")
    schedule = session_default_schedule()
    try:
        with transaction.atomic():
            session = VenueSession.objects.create(venue_id=venue_code, **schedule)
            SessionEvent.objects.create(
                session=session,
                type=SessionEventType.CREATED,
                actor=actor,
                data={"after": _editable_data(session)},
            )
    except IntegrityError:  # created concurrently: theirs is as good as ours
        return VenueSession.objects.get(pk=venue_code)
    return session


def _lock_session(venue_code: str) -> VenueSession:
    """Lock one venue's session row. Several are always locked in venue-code order."""
    try:
        return VenueSession.objects.select_for_update().get(pk=venue_code)
    except VenueSession.DoesNotExist as exc:
        raise VenueNotFound(f"Venue {venue_code} has no trading session.") from exc


def _editable_data(session: VenueSession) -> dict:
    return {
        "override": session.override,
        "time_zone": session.time_zone,
        "open_time": _as_time(session.open_time).isoformat(),
        "close_time": _as_time(session.close_time).isoformat(),
        "weekdays": list(session.weekdays),
        "holidays": list(session.holidays),
    }


def _as_time(value: time | str) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


def session_schedule_clean(
    *,
    time_zone: str,
    open_time: time,
    close_time: time,
    weekdays,
    holidays,
) -> dict:
    """Check a schedule and return it normalised; raise InvalidInput with per-field errors.

    Weekdays and holidays come back sorted and without repeats, holidays as YYYY-MM-DD.
    """
    errors: dict[str, list[str]] = {}
    try:
        ZoneInfo(str(time_zone))
    except (ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = [f"{time_zone!r} is not an IANA time zone name."]
    for field, value in (("open_time", open_time), ("close_time", close_time)):
        if not isinstance(value, time):
            errors[field] = ["A local time, HH:MM[:SS]."]
        elif value.tzinfo is not None:
            errors[field] = ["A local wall time, without a UTC offset."]
    if "open_time" not in errors and "close_time" not in errors and open_time == close_time:
        errors["close_time"] = ["Must differ from the open time: the window would be empty."]

    clean_weekdays: list[int] = []
    try:
        clean_weekdays = sorted(set(weekdays))
    except TypeError:
        errors["weekdays"] = ["A list of ISO weekday numbers, 1 (Monday) to 7 (Sunday)."]
    else:
        if not all(
            isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 7
            for day in clean_weekdays
        ):
            errors["weekdays"] = ["A list of ISO weekday numbers, 1 (Monday) to 7 (Sunday)."]

    clean_holidays: set[date] = set()
    try:
        for day in holidays:
            clean_holidays.add(day if isinstance(day, date) else date.fromisoformat(day))
    except (TypeError, ValueError):
        errors["holidays"] = ["A list of local dates, YYYY-MM-DD."]

    if errors:
        raise InvalidInput("The session schedule is invalid; see details.", details=errors)
    return {
        "time_zone": str(time_zone),
        "open_time": open_time,
        "close_time": close_time,
        "weekdays": clean_weekdays,
        "holidays": [day.isoformat() for day in sorted(clean_holidays)],
    }


_UNSET = object()


def session_update(
    *,
    venue_code: str,
    actor: str,
    override: str | None | object = _UNSET,
    time_zone: str | object = _UNSET,
    open_time: time | object = _UNSET,
    close_time: time | object = _UNSET,
    weekdays: list[int] | object = _UNSET,
    holidays: list[date | str] | object = _UNSET,
) -> VenueSession:
    """An operator changes a venue's override and/or schedule; what is not given is kept.

    Only the row changes here: the next reconcile (within a second under beat) logs the
    venue on or off to match.
    """
    if override is not _UNSET and override not in (None, *SessionOverride.values):
        raise InvalidInput(
            "The override is invalid.",
            details={"override": ['One of "OPEN", "CLOSED" or null (follow the schedule).']},
        )
    session_get_or_create_for_venue(venue_code=venue_code, actor=actor)
    with transaction.atomic():
        session = _lock_session(venue_code)
        before = _editable_data(session)
        given = {
            "time_zone": time_zone,
            "open_time": open_time,
            "close_time": close_time,
            "weekdays": weekdays,
            "holidays": holidays,
        }
        schedule = session_schedule_clean(
            **{
                field: getattr(session, field) if value is _UNSET else value
                for field, value in given.items()
            }
        )
        for field, value in schedule.items():
            setattr(session, field, value)
        if override is not _UNSET:
            session.override = override
        after = _editable_data(session)
        changed = [field for field in after if after[field] != before[field]]
        if not changed:
            return session
        session.save(update_fields=[*changed, "updated_at"])
        SessionEvent.objects.create(
            session=session,
            type=SessionEventType.UPDATED,
            actor=actor,
            data={
                "before": {field: before[field] for field in changed},
                "after": {field: after[field] for field in changed},
            },
        )
    return session


# --- the kill switch ---------------------------------------------------------------------------


def trading_halt_get_or_create() -> TradingHalt:
    """The kill switch's row, created (not halted) the first time it is needed."""
    halt, _ = TradingHalt.objects.get_or_create(pk=TradingHalt.SINGLETON_PK)
    return halt


def trading_halt_reason_clean(*, halted: bool, reason: str) -> str:
    reason = (reason or "").strip()
    if halted and not reason:
        raise InvalidInput(
            "Say why trading is halted.", details={"reason": ["Required when halting."]}
        )
    if len(reason) > 200:
        raise InvalidInput("The reason is too long.", details={"reason": ["At most 200."]})
    return reason


def trading_halt_set(*, halted: bool, reason: str, actor: str) -> TradingHalt:
    """Halt (or resume) all sending to every venue. Halting needs a reason."""
    reason = trading_halt_reason_clean(halted=halted, reason=reason)
    with transaction.atomic():
        trading_halt_get_or_create()
        halt = TradingHalt.objects.select_for_update().get(pk=TradingHalt.SINGLETON_PK)
        if halt.halted == halted and halt.reason == reason:
            return halt
        halt.halted = halted
        halt.reason = reason
        halt.changed_by = actor
        halt.changed_at = timezone.now()
        halt.save(update_fields=["halted", "reason", "changed_by", "changed_at"])
        TradingHaltEvent.objects.create(halt=halt, halted=halted, reason=reason, actor=actor)
    return halt


# --- order intake --------------------------------------------------------------------------------


def session_check_accepting(*, venue_code: str, now: datetime | None = None) -> None:
    """Raise VenueClosed (TradingHalted when halted) unless the venue takes orders now."""
    session = session_for_intake(venue_code=venue_code)
    if session is None:
        session_get_or_create_for_venue(venue_code=venue_code)
        session = session_for_intake(venue_code=venue_code)
    session_refuse_unless_accepting(session=session, now=now)


def session_refuse_unless_accepting(*, session: VenueSession, now: datetime | None = None) -> None:
    """Raise VenueClosed (TradingHalted when halted) unless the session takes orders now.

    `session` comes from session_for_intake (it carries `halted`). "Takes orders" is the
    desired state, not the logon: an order that arrives in the window while the logon is
    still on its way is accepted and waits in the queue.
    """
    venue_code = session.venue_id
    desired = session_desired_state(
        session=session, halted=session.halted, now=now or timezone.now()
    )
    if desired.logged_on:
        return
    if session.halted:
        halt = trading_halt_get()
        raise TradingHalted(
            f"Trading is halted ({halt.reason}); no orders are accepted until an operator "
            "resumes trading.",
            details={"venue": venue_code},
        )
    if session.override == SessionOverride.CLOSED:
        raise VenueClosed(
            f"Venue {venue_code} is closed by an operator; no orders are accepted until "
            "it is reopened.",
            details={"venue": venue_code, "next_open": None},
        )
    next_open = iso_instant(desired.schedule.next_open)
    when = f"it next opens at {next_open}" if next_open else "it has no opening scheduled"
    raise VenueClosed(
        f"Venue {venue_code} is closed; {when}.",
        details={"venue": venue_code, "next_open": next_open},
    )


# --- reconcile -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReconcileOutcome:
    venue_code: str
    action: str | None  # LOGON or LOGOUT; None when nothing was sent
    result: str | None  # ACKNOWLEDGED, FAILED or ABANDONED; None when nothing was sent
    state: str


def session_reconcile(
    *,
    venue_code: str | None = None,
    now: datetime | None = None,
    gateway: VenueGateway | None = None,
    actor: str = SYSTEM_ACTOR,
) -> list[ReconcileOutcome]:
    """Bring each venue's session (or just `venue_code`'s) to what it should be now.

    `now` is for simulations; by default the clock is read once each venue's row is locked.
    A venue without a session gets the default one first.
    """
    gateway = gateway or gateway_get()
    if venue_code is not None:
        session_get_or_create_for_venue(venue_code=venue_code)
        outcome = _reconcile_venue(venue_code=venue_code, now=now, gateway=gateway, actor=actor)
        _announce_window_close(venue_code=venue_code, now=now)
        return [outcome]
    outcomes = []
    with_session = set(VenueSession.objects.values_list("pk", flat=True))
    for code in Venue.objects.order_by("code").values_list("code", flat=True):
        try:
            if code not in with_session:
                session_get_or_create_for_venue(venue_code=code)
            outcomes.append(
                _reconcile_venue(venue_code=code, now=now, gateway=gateway, actor=actor)
            )
            _announce_window_close(venue_code=code, now=now)
        except Exception:
            # One venue's trouble must not keep the others from opening or closing on time.
            logger.exception("session reconcile failed for venue %s", code)
    return outcomes


def _reconcile_venue(
    *, venue_code: str, now: datetime | None, gateway: VenueGateway, actor: str
) -> ReconcileOutcome:
    # Step 1: decide under the lock, record the intent, commit.
    with transaction.atomic():
        session = _lock_session(venue_code)
        # The clock is read here, not when the task was queued: a run that comes late decides
        # for the time it actually runs, so a logon due at 09:30 never goes out after the close.
        at = now or timezone.now()
        if session.retry_after is not None and at < session.retry_after:
            return ReconcileOutcome(
                venue_code=venue_code, action=None, result=None, state=session.state
            )
        desired = session_desired_state(
            session=session, halted=trading_halt_get().halted, now=at
        )
        target = SessionState.LOGGED_ON if desired.logged_on else SessionState.LOGGED_OUT
        if session.state == target:
            return ReconcileOutcome(
                venue_code=venue_code, action=None, result=None, state=session.state
            )
        if session.pending_event_id is not None:
            _abandon(session.pending_event, at=at)
        action = SessionEventType.LOGON if desired.logged_on else SessionEventType.LOGOUT
        event = SessionEvent.objects.create(
            session=session,
            type=action,
            actor=actor,
            reason=desired.reason[:200],
            result=SessionEventResult.PENDING,
            sent_at=at,
            created_at=at,
        )
        session.state = (
            SessionState.LOGGING_ON if desired.logged_on else SessionState.LOGGING_OFF
        )
        session.state_changed_at = at
        session.pending_event = event
        session.retry_after = at + _lease()
        session.save(
            update_fields=["state", "state_changed_at", "pending_event", "retry_after",
                           "updated_at"]
        )

    # Step 2: talk to the venue with no lock held.
    ack: GatewayAck | None = None
    error: Exception | None = None
    try:
        ack = gateway.logon(venue_code) if desired.logged_on else gateway.logout(venue_code)
    except Exception as exc:  # any failure of the venue link is recorded and retried
        logger.warning("%s to venue %s failed: %r", action, venue_code, exc)
        error = exc

    # Step 3: record the answer, unless someone took the venue over in the meantime.
    with transaction.atomic():
        session = _lock_session(venue_code)
        event.refresh_from_db()
        answered_at = ack.acknowledged_at if ack is not None else (now or timezone.now())
        if session.pending_event_id != event.pk:
            # Our lease ran out and a later reconcile decided afresh; its decision stands.
            event.data = {**event.data, "late_answer": _answer_data(ack, error, answered_at)}
            event.save(update_fields=["data"])
            return ReconcileOutcome(
                venue_code=venue_code,
                action=action,
                result=SessionEventResult.ABANDONED,
                state=session.state,
            )
        session.pending_event = None
        if ack is not None:
            event.result = SessionEventResult.ACKNOWLEDGED
            event.acknowledged_at = ack.acknowledged_at
            if ack.detail:
                event.data = {**event.data, "detail": ack.detail}
            session.state = target
            session.state_changed_at = ack.acknowledged_at
            session.retry_after = None
        else:
            event.result = SessionEventResult.FAILED
            event.data = {**event.data, "error": _error_text(error)}
            # The state stays LOGGING_ON/LOGGING_OFF: the venue may or may not have acted on
            # the request, so after the back-off the next reconcile sends whichever request
            # the time then calls for (a logon that failed past the close becomes a logout).
            session.retry_after = answered_at + _retry_delay()
        event.save(update_fields=["result", "acknowledged_at", "data"])
        session.save(
            update_fields=["state", "state_changed_at", "pending_event", "retry_after",
                           "updated_at"]
        )
    return ReconcileOutcome(
        venue_code=venue_code, action=action, result=event.result, state=session.state
    )


def _abandon(event: SessionEvent, *, at: datetime) -> None:
    if event.result != SessionEventResult.PENDING:
        return
    event.result = SessionEventResult.ABANDONED
    event.data = {**event.data, "abandoned_at": iso_instant(at), "why": "no answer recorded "
                  "within the lease; the sender died or hung"}
    event.save(update_fields=["result", "data"])


def _error_text(error: Exception | None) -> str:
    return f"{type(error).__name__}: {error}"[:500]


def _answer_data(ack: GatewayAck | None, error: Exception | None, at: datetime) -> dict:
    if ack is not None:
        return {"result": SessionEventResult.ACKNOWLEDGED.value, "at": iso_instant(at)}
    return {"result": SessionEventResult.FAILED.value, "at": iso_instant(at),
            "error": _error_text(error)}


def _announce_window_close(*, venue_code: str, now: datetime | None) -> None:
    # After the logon/logout step, so a failing receiver can never hold up a logout.
    with transaction.atomic():
        session = _lock_session(venue_code)
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


def session_mark_dropped(*, venue_code: str, reason: str, actor: str = "system:dispatch") -> None:
    """The venue says we are not logged on although we thought we were (it restarted, or
    dropped the session): record it and let the next reconcile log on again."""
    with transaction.atomic():
        session = _lock_session(venue_code)
        if session.state != SessionState.LOGGED_ON:
            return
        now = timezone.now()
        session.state = SessionState.LOGGED_OUT
        session.state_changed_at = now
        session.save(update_fields=["state", "state_changed_at", "updated_at"])
        SessionEvent.objects.create(
            session=session, type=SessionEventType.LOGOUT, actor=actor, reason=reason[:200],
            result=SessionEventResult.ACKNOWLEDGED, sent_at=now, acknowledged_at=now,
            created_at=now, data={"dropped_by_venue": True},
        )
    logger.warning("venue %s dropped our session: %s", venue_code, reason)
