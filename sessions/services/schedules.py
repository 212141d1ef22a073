"""Creating sessions and editing their schedules and overrides (operators)."""

from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import IntegrityError, transaction

from omsproject.errors import InvalidInput
from sessions.calendars import calendar_exists
from sessions.errors import VenueNotFound
from sessions.locks import lock_session
from sessions.models import SessionEvent, SessionEventType, SessionOverride, VenueSession

ALL_WEEKDAYS = [1, 2, 3, 4, 5, 6, 7]


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
            "calendar": "",
        }
    return {
        "time_zone": "America/New_York",
        "open_time": time(9, 30),
        "close_time": time(16, 0),
        "weekdays": [1, 2, 3, 4, 5],
        "holidays": [],
        "calendar": "",
    }


def session_get_or_create_for_venue(*, venue_code: str, actor: str = "system") -> VenueSession:
    """The venue's session, created with the default schedule (logged out) if it has none."""
    session = VenueSession.objects.filter(pk=venue_code).first()
    if session is not None:
        return session
    # Checked first because PostgreSQL defers the foreign key check to COMMIT. The venue
    # model is reached through the relation: sessions sits below venues and imports nothing
    # of it.
    venues = VenueSession._meta.get_field("venue").related_model
    if not venues.objects.filter(pk=venue_code).exists():
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


def _editable_data(session: VenueSession) -> dict:
    return {
        "override": session.override,
        "time_zone": session.time_zone,
        "open_time": _as_time(session.open_time).isoformat(),
        "close_time": _as_time(session.close_time).isoformat(),
        "weekdays": list(session.weekdays),
        "holidays": list(session.holidays),
        "calendar": session.calendar,
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
    calendar: str = "",
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

    calendar = "" if calendar is None else str(calendar).strip()
    if calendar and not calendar_exists(calendar):
        errors["calendar"] = [f"{calendar!r} is not an exchange calendar's name (XNYS, XLON, "
                              "...; see exchange_calendars.get_calendar_names())."]

    if errors:
        raise InvalidInput("The session schedule is invalid; see details.", details=errors)
    return {
        "time_zone": str(time_zone),
        "open_time": open_time,
        "close_time": close_time,
        "weekdays": clean_weekdays,
        "holidays": [day.isoformat() for day in sorted(clean_holidays)],
        "calendar": calendar,
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
    calendar: str | object = _UNSET,
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
        session = lock_session(venue_code)
        before = _editable_data(session)
        given = {
            "time_zone": time_zone,
            "open_time": open_time,
            "close_time": close_time,
            "weekdays": weekdays,
            "holidays": holidays,
            "calendar": calendar,
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
