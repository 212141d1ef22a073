from datetime import time

import pytest

from sessions.models import SessionEvent, SessionState, VenueSession
from sessions.tasks import session_reconcile_task
from tests.sessions.conftest import at

pytestmark = pytest.mark.django_db


def test_beat_task_is_named_and_safe_to_redeliver():
    # The beat schedule refers to the task by this name; a redelivered run is harmless.
    assert session_reconcile_task.name == "sessions.reconcile"
    assert session_reconcile_task.acks_late is True
    assert session_reconcile_task.ignore_result is True


def test_beat_task_reconciles_as_beat_and_a_redelivery_changes_nothing(make_venue, clock):
    make_venue("XNYS")
    make_venue("XLON", time_zone="Europe/London", open_time=time(8), close_time=time(16, 30))
    clock.set(at("2025-02-04T11:00-05:00"))  # 16:00 in London: both open

    session_reconcile_task.apply()
    session_reconcile_task.apply(kwargs={"venue_code": "XNYS"})

    assert set(VenueSession.objects.values_list("venue_id", "desired")) == {
        ("XNYS", SessionState.LOGGED_ON), ("XLON", SessionState.LOGGED_ON)}
    logons = SessionEvent.objects.filter(type="LOGON")
    assert sorted(logons.values_list("session_id", "actor")) == [
        ("XLON", "system:beat"), ("XNYS", "system:beat")]
