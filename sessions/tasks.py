from celery import shared_task

from sessions import services


@shared_task(name="sessions.reconcile", acks_late=True, ignore_result=True)
def session_reconcile_task(venue_code: str | None = None) -> None:
    """Beat's nudge, every second. Idempotent: a lost, late or repeated run is harmless."""
    services.session_reconcile(venue_code=venue_code, actor="system:beat")
