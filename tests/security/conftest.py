import pytest
from django.conf import settings

from sessions.services import session_update
from venues.services import venue_get_or_create_default

ORDERS = "/api/v1/orders"


@pytest.fixture
def default_venue_open(db):
    """The default venue forced open, so order intake is not about the clock."""
    venue_get_or_create_default()
    session_update(venue_code=settings.OMS_DEFAULT_VENUE, actor="tests", override="OPEN")


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one JSON error format: {"code", "message"[, "details"]}, with this status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    if code is not None:
        assert body["code"] == code, body
    return body
