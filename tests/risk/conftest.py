import pytest
from django.conf import settings

from sessions.services import session_update
from tests.dispatch.conftest import in_process_venue  # noqa: F401  (fixture)
from venues.services import venue_get_or_create_default


@pytest.fixture(autouse=True)
def default_venue_open(db):
    venue_get_or_create_default()
    session_update(venue_code=settings.OMS_DEFAULT_VENUE, actor="tests", override="OPEN")
