import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from sessions.services import session_update

from tests.dispatch.conftest import in_process_venue  # noqa: F401  (fixture)
from venues.services import venue_get_or_create_default


@pytest.fixture
def scrape(client):
    """GET /metrics and parse it: {sample name: {frozenset of label items: value}}."""

    def get(**headers) -> dict[str, dict[frozenset, float]]:
        response = client.get("/metrics", **headers)
        assert response.status_code == 200, response.content
        samples: dict[str, dict[frozenset, float]] = {}
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = (
                    sample.value
                )
        return samples

    return get


def series(samples: dict, name: str, **fixed) -> dict:
    """The samples of `name` whose labels include `fixed`, keyed by the remaining labels
    (a single remaining label as its bare value)."""
    found = {}
    for labels, value in samples.get(name, {}).items():
        labels = dict(labels)
        if any(labels.pop(key, None) != wanted for key, wanted in fixed.items()):
            continue
        key = next(iter(labels.values())) if len(labels) == 1 else frozenset(labels.items())
        found[key] = value
    return found


@pytest.fixture(autouse=True)
def default_venue_open(db):
    """Orders can be accepted: the default venue exists and is forced open (as in
    tests/orders/conftest.py); tests that send also log it on with venue_live()."""
    venue_get_or_create_default()
    session_update(venue_code=settings.OMS_DEFAULT_VENUE, actor="tests", override="OPEN")
