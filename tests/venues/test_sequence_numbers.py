"""Where a holder starts its sequence numbers: the durable record, and QuickFIX 1.15.1's week."""

from datetime import UTC, datetime, timedelta

import pytest

from venues.models import FixSession
from venues.services import fix_session_first_numbers, fix_week_start, venue_put

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("moment, start", [
    (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC)),  # Tuesday
    (datetime(2026, 11, 29, 0, 0, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC)),  # Sun 00:00
    (datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)),
])
def test_the_fix_week_starts_on_sunday_at_midnight_utc(moment, start):
    assert fix_week_start(moment) == start


def record(**fields) -> FixSession:
    venue_put(code="XSEQ", actor="t")
    FixSession.objects.filter(pk="XSEQ").update(**fields)
    return FixSession.objects.get(pk="XSEQ")


def test_after_a_clean_stop_the_numbers_continue_exactly():
    now = datetime.now(UTC)
    first = record(next_sender_seq=41, sender_seq_reserved=41, next_target_seq=17,
                   clean_stop=True, updated_at=now)
    assert fix_session_first_numbers(first, now=now) == (41, 17)


def test_after_a_crash_the_sender_starts_past_everything_it_may_have_used():
    now = datetime.now(UTC)
    crashed = record(next_sender_seq=41, sender_seq_reserved=5041, next_target_seq=17,
                     clean_stop=False, updated_at=now)
    assert fix_session_first_numbers(crashed, now=now) == (5041, 17)


def test_numbers_of_a_week_gone_by_start_again_at_one():
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    old = record(next_sender_seq=41, next_target_seq=17, clean_stop=True,
                 updated_at=fix_week_start(now) - timedelta(seconds=1))
    assert fix_session_first_numbers(old, now=now) == (1, 1)
