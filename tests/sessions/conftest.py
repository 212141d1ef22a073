"""Fixtures for the sessions tests: venues with schedules (set up through the services), a
frozen clock, the session holder's side played by hand, and API users.

Reconcile never talks to a venue: it records what each session should be (`desired`, with a
PENDING LOGON/LOGOUT event). The process holding the FIX session logs on or off to match and
records what happened (sessions/services/holder.py); `holder_follows` plays that process."""

import threading
import time as wall_clock
from contextlib import contextmanager
from datetime import datetime, time

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from rest_framework.test import APIClient

from sessions import services
from sessions.locks import lock_session
from sessions.models import SessionState, VenueSession
from venues.models import Venue
from venues.services import venue_put

NEW_YORK = "America/New_York"
WEEKDAYS = [1, 2, 3, 4, 5]


def at(text: str) -> datetime:
    """An aware instant from ISO-8601 text with an offset: at("2025-03-10T09:30-04:00")."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, "give the offset: tests never use naive datetimes"
    return value


def venue_create(code: str) -> Venue:
    """A venue as an operator creates one (it comes with a session on the default schedule)."""
    venue, created = venue_put(code=code, actor="test-setup", throttle_per_second=100)
    assert created
    return venue


@pytest.fixture
def make_venue(db):
    """A venue whose session follows the given schedule (default: New York 09:30-16:00)."""

    def make(
        code: str = "XNYS",
        *,
        time_zone: str = NEW_YORK,
        open_time: time = time(9, 30),
        close_time: time = time(16, 0),
        weekdays: list[int] = WEEKDAYS,
        holidays: list[str] = (),
        override: str | None = None,
    ) -> Venue:
        venue = venue_create(code)
        services.session_update(
            venue_code=code,
            actor="test-setup",
            time_zone=time_zone,
            open_time=open_time,
            close_time=close_time,
            weekdays=list(weekdays),
            holidays=list(holidays),
            override=override,
        )
        return venue

    return make


def session_of(code: str) -> VenueSession:
    return VenueSession.objects.get(pk=code)


def holder_follows(code: str) -> str:
    """What the FIX session's holder does on its next tick once the venue has answered: log
    on or off as `desired` says, and record it. Returns the state it recorded."""
    session = session_of(code)
    if session.desired == SessionState.LOGGED_ON:
        services.session_record_logon(venue_code=code)
    else:
        services.session_record_logged_off(venue_code=code, reason="session closed")
    return session_of(code).state


class Clock:
    """A frozen clock the test moves by hand (time_machine: every thread sees it)."""

    def __init__(self):
        self._traveller = None

    def set(self, when: datetime) -> datetime:
        self.stop()
        self._traveller = time_machine.travel(when, tick=False)
        self._traveller.start()
        return when

    def stop(self):
        if self._traveller is not None:
            self._traveller.stop()
            self._traveller = None


@pytest.fixture
def clock():
    frozen = Clock()
    yield frozen
    frozen.stop()


# --- races (tests marked django_db(transaction=True)) --------------------------------------------


def waiting_on_locks() -> int:
    """How many other connections to this database wait for a row lock now."""
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views are a snapshot unless it is cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def wait_for_lock_waiters(count: int, timeout: float = 3.0) -> bool:
    deadline = wall_clock.monotonic() + timeout
    while wall_clock.monotonic() < deadline:
        if waiting_on_locks() >= count:
            return True
        wall_clock.sleep(0.01)
    return False


class InThreads:
    """Callables started in threads, each on its own connection; `join()` re-raises."""

    def __init__(self, *actions):
        self.results: list = []
        self.errors: list[BaseException] = []

        def run(action):
            try:
                self.results.append(action())
            except BaseException as exc:  # reported by join()
                self.errors.append(exc)
            finally:
                connection.close()

        self._threads = [threading.Thread(target=run, args=(a,)) for a in actions]
        for thread in self._threads:
            thread.start()

    def join(self) -> list:
        for thread in self._threads:
            thread.join(timeout=20)
        assert not any(thread.is_alive() for thread in self._threads), "a thread hung"
        if self.errors:
            raise self.errors[0]
        return self.results


@contextmanager
def session_row_locked(code: str):
    """Hold the venue's session row locked, as a send or another reconcile would, until the
    block ends (and commits)."""
    with transaction.atomic():
        lock_session(code)
        yield


# --- API and admin users -----------------------------------------------------------------------


@pytest.fixture
def desk_operator(db):
    # Staff but not superuser: being an operator is what the API checks.
    return get_user_model().objects.create_user(username="desk-op", password="x", is_staff=True)


@pytest.fixture
def desk_admin(db):
    return get_user_model().objects.create_superuser(username="desk-admin", password="x")


@pytest.fixture
def client_user(db):
    return get_user_model().objects.create_user(username="client-prog", password="x")


def _api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user=user)
    return api


@pytest.fixture
def staff_api(desk_operator):
    return _api_as(desk_operator)


@pytest.fixture
def client_api(client_user):
    return _api_as(client_user)
