"""Every write to a venue's session and to the kill switch goes through these services:
schedules and overrides (operators), the kill switch, beat's reconcile of the desired state,
and what the FIX session's holder records about the wire."""

from sessions.services.halt import (
    trading_halt_reason_clean,
    trading_halt_set,
    venue_kill_switch_set,
)
from sessions.services.holder import (
    session_record_connecting,
    session_record_logged_off,
    session_record_logging_off,
    session_record_logon,
)
from sessions.services.intake import session_check_accepting, session_refuse_unless_accepting
from sessions.services.reconcile import ReconcileOutcome, session_reconcile
from sessions.services.schedules import (
    session_default_schedule,
    session_get_or_create_for_venue,
    session_schedule_clean,
    session_update,
)

__all__ = [
    "ReconcileOutcome",
    "session_check_accepting",
    "session_default_schedule",
    "session_get_or_create_for_venue",
    "session_reconcile",
    "session_record_connecting",
    "session_record_logged_off",
    "session_record_logging_off",
    "session_record_logon",
    "session_refuse_unless_accepting",
    "session_schedule_clean",
    "session_update",
    "trading_halt_reason_clean",
    "trading_halt_set",
    "venue_kill_switch_set",
]
