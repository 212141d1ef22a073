"""Fixtures for the sessions tests: venues with schedules (set up through the services), a
frozen clock, and gateways that stand in for the venue."""

from datetime import datetime, time

import factory
import pytest
import time_machine
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from sessions import services
from venues.gateway import GatewayError, InProcessGateway
from venues.models import Venue

NEW_YORK = "America/New_York"
WEEKDAYS = [1, 2, 3, 4, 5]


def at(text: str) -> datetime:
    """An aware instant from ISO-8601 text with an offset: at("2025-03-10T09:30-04:00")."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, "give the offset: tests never use naive datetimes"
    return value


class VenueFactory(factory.django.DjangoModelFactory):
    """Venues have no creation service of their own; saving one gives it a session."""

    class Meta:
        model = Venue
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"XV{n:02d}")
    name = factory.LazyAttribute(lambda venue: f"Venue {venue.code}")
    throttle_per_second = 100


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
        venue = VenueFactory(code=code)
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


class Clock:
    """A frozen clock the test moves by hand."""

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


@pytest.fixture(autouse=True)
def venue_side():
    """What the in-process venue saw; starts empty for every test."""
    InProcessGateway.reset()
    yield InProcessGateway
    InProcessGateway.reset()


class FlakyGateway(InProcessGateway):
    """The in-process venue behind a link that can be cut: while down, nothing arrives."""

    def __init__(self):
        self.down = False

    def _receive(self, venue_code, action):
        if self.down:
            raise GatewayError("connection refused")
        return super()._receive(venue_code, action)


@pytest.fixture
def flaky_gateway():
    return FlakyGateway()


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
