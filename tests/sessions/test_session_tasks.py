import pytest

from sessions.tasks import session_reconcile_task
from tests.sessions.conftest import at

pytestmark = pytest.mark.django_db


def test_beat_task_is_named_and_safe_to_redeliver():
    # The beat schedule refers to the task by this name; a redelivered run is harmless.
    assert session_reconcile_task.name == "sessions.reconcile"
    assert session_reconcile_task.acks_late is True
    assert session_reconcile_task.ignore_result is True


def test_beat_task_reconciles_as_beat(make_venue, clock, venue_side):
    from sessions.models import SessionEvent

    make_venue("XNYS")
    clock.set(at("2025-02-04T11:00-05:00"))

    session_reconcile_task.apply()
    session_reconcile_task.apply(kwargs={"venue_code": "XNYS"})

    assert venue_side.received() == [("LOGON", "XNYS")]
    assert SessionEvent.objects.get(type="LOGON").actor == "system:beat"
