"""Session history past the retention: logons, logouts and operators' edits of venues'
sessions, and the kill switch's trail. A session's and the halt's current state are their
own rows (VenueSession, TradingHalt), which stay; a LOGON or LOGOUT still pending (asked
for and not yet carried out) stays whatever its age."""

from datetime import datetime

from django.db import transaction

from omsproject.archive import Archive
from sessions.models import SessionEvent, SessionEventResult, TradingHaltEvent, VenueSession


def session_history_prune(*, before: datetime, batch: int, archive: Archive) -> dict[str, int]:
    """One batch of each (its own transaction), oldest first, created before `before`."""
    return {"session_events": _prune_session_events(before, batch, archive),
            "trading_halt_events": _prune(TradingHaltEvent, before, batch, archive)}


def _prune_session_events(before: datetime, batch: int, archive: Archive) -> int:
    with transaction.atomic():
        pending = VenueSession.objects.filter(pending_event__isnull=False).values("pending_event")
        pks = list(SessionEvent.objects.select_for_update(skip_locked=True)
                   .filter(created_at__lt=before)
                   .exclude(result=SessionEventResult.PENDING).exclude(pk__in=pending)
                   .order_by("created_at").values_list("pk", flat=True)[:batch])
        return _drop(SessionEvent.objects.filter(pk__in=pks), archive) if pks else 0


def _prune(model, before: datetime, batch: int, archive: Archive) -> int:
    with transaction.atomic():
        pks = list(model.objects.select_for_update(skip_locked=True)
                   .filter(created_at__lt=before).order_by("created_at")
                   .values_list("pk", flat=True)[:batch])
        return _drop(model.objects.filter(pk__in=pks), archive) if pks else 0


def _drop(rows, archive: Archive) -> int:
    archive.keep(rows)
    return rows.delete()[1].get(rows.model._meta.label, 0)
