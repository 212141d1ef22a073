"""GET /api/v1/stats/latency: per venue and kind, over its latest answers only
(OMS_LATENCY_STATS_SAMPLE), saying which stretch of time they cover."""

import pytest

from dispatch.models import VenueRequest
from tests.dispatch.conftest import drain
from tests.factories import make_order
from tests.metrics.test_metrics import ScriptedLatencyVenue

pytestmark = pytest.mark.django_db


def test_the_latency_is_that_of_the_latest_answers(trader, trader_api, in_process_venue,
                                                   settings):
    for _ in range(4):
        make_order(user=trader, account_code="ACC-1")
    drain(ScriptedLatencyVenue([9_000, 1_000, 2_000, 3_000]))
    settings.OMS_LATENCY_STATS_SAMPLE = 3

    (row,) = trader_api.get("/api/v1/stats/latency").json()

    assert (row["venue"], row["kind"], row["count"]) == ("XMOCK", "NEW", 3)
    assert (row["p50Micros"], row["maxMicros"], row["meanMicros"]) == (2_000, 3_000, 2_000)
    answered = sorted(VenueRequest.objects.values_list("responded_at", flat=True))
    assert row["firstAnsweredAt"] == answered[1].isoformat().replace("+00:00", "Z")
    assert row["lastAnsweredAt"] == answered[-1].isoformat().replace("+00:00", "Z")


def test_no_answer_no_row(trader_api, in_process_venue):
    assert trader_api.get("/api/v1/stats/latency").json() == []
