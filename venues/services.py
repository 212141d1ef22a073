"""Venue configuration (operators, via the API and the admin) and the FIX session's durable
record (its holder's lease and sequence numbers)."""

import ipaddress
import logging
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest, Now

from omsproject.errors import InvalidInput
from sessions.errors import VenueNotFound
from sessions.services import session_get_or_create_for_venue
from venues.models import FixSession, FixSessionState, Venue

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "name", "throttle_per_second", "fix_host", "fix_port", "sender_comp_id", "target_comp_id",
    "heartbeat_seconds", "reset_seq_num_on_logon", "maker_fee_per_share", "taker_fee_per_share",
)


def venue_defaults(*, code: str) -> dict:
    """What a venue is given for each field nobody set: the demo venues' settings."""
    return {
        "name": "",
        "throttle_per_second": settings.OMS_THROTTLE_PER_SECOND,
        "fix_host": settings.OMS_FIX_HOST,
        "fix_port": settings.OMS_FIX_PORT,
        "sender_comp_id": settings.OMS_SENDER_COMP_ID,
        "target_comp_id": code,
        "heartbeat_seconds": settings.OMS_FIX_HEARTBEAT_SECONDS,
        "reset_seq_num_on_logon": False,
        "maker_fee_per_share": Decimal(0),
        "taker_fee_per_share": Decimal(0),
    }


def venue_get_or_create_default() -> Venue:
    """The configured default venue, created on first use so a fresh install can trade."""
    venue = Venue.objects.filter(pk=settings.OMS_DEFAULT_VENUE).first()
    if venue is not None:
        return venue
    venue, _ = venue_put(code=settings.OMS_DEFAULT_VENUE, actor="system",
                         name="Default venue", replace=False)
    return venue


def venue_get_or_create_demos() -> list[Venue]:
    """The venues of OMS_DEMO_VENUES ({code: fields}), each created on first use with its
    own send limit and fees and the default FIX settings; an existing one is left as it is."""
    return [
        venue_put(code=code, actor="system", name=f"Demo venue {code}", replace=False,
                  **fields)[0]
        for code, fields in settings.OMS_DEMO_VENUES.items()
    ]


_HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def venue_host_problem(host: str) -> str | None:
    """Why `host` cannot be connected to, or None: an IPv4 or IPv6 address, or a DNS name
    (dot-separated labels of letters, digits, - and _, each 1-63 long, not starting or
    ending with -; 253 at most). QuickFIX would only fail at connect time, in a log line
    nobody reads, so the mistake is refused when it is made."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if ":" in host:
        # "host:9878" is the usual slip; an IPv6 address that did not parse is the other.
        return "Not an address: give the port in fixPort, and IPv6 addresses unbracketed."
    name = host.removesuffix(".")  # a fully qualified name's root dot
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return "Not a host name: dot-separated labels of letters, digits, - and _ (1-63 each)."
    if all(label.isdigit() for label in labels):
        return "Not an IPv4 address (four numbers 0-255)."
    return None


def _check(venue: Venue) -> None:
    """Refuse (InvalidInput, details per field) a configuration the FIX layer cannot use."""
    details: dict[str, list[str]] = {}
    try:
        # Uniqueness (the code, the FIX session's identity: the model's only constraint) is
        # checked below, where the message can name the venue in the way.
        venue.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            details.setdefault("non_field_errors" if field == NON_FIELD_ERRORS else field,
                               []).extend(problems)
    if "fix_host" not in details and (problem := venue_host_problem(venue.fix_host)):
        details["fix_host"] = [problem]
    if "name" not in details and "\x00" in venue.name:  # PostgreSQL refuses NUL in text
        details.setdefault("name", []).append("Must not contain NUL characters.")
    if venue._state.adding and "code" not in details and Venue.objects.filter(
        pk=venue.code
    ).exists():
        details["code"] = [f"Venue {venue.code} already exists."]
    if not details:
        other = (
            Venue.objects.filter(
                fix_host=venue.fix_host, fix_port=venue.fix_port,
                sender_comp_id=venue.sender_comp_id, target_comp_id=venue.target_comp_id,
            )
            .exclude(pk=venue.code)
            .values_list("code", flat=True)
            .first()
        )
        if other is not None:
            details["fix_session"] = [(
                f"Venue {other} already uses {venue.fix_host}:{venue.fix_port} with "
                f"SenderCompID {venue.sender_comp_id} and TargetCompID "
                f"{venue.target_comp_id}: one FIX session cannot serve two venues."
            )]
    if details:
        raise InvalidInput("The venue's configuration is invalid; see details.",
                           details=details)


def _refuse_unknown(fields: dict) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput("Unknown venue fields.",
                           details={f: ["Unknown field."] for f in sorted(unknown)})


def _configured(*, code: str, existing: Venue | None, fields: dict, replace: bool) -> Venue:
    """The venue as venue_put (replace: defaults for what is not given) or venue_update
    (only what is given) would save it, not saved."""
    if existing is None:
        venue = Venue(code=code)
    else:
        venue = existing
    values = {**venue_defaults(code=code), **fields} if replace or existing is None else fields
    for field, value in values.items():
        setattr(venue, field, value)
    return venue


def venue_clean(*, code: str, adding: bool, **fields) -> None:
    """The checks venue_put (adding: a new venue, defaults for what is not given) or
    venue_update would make, without saving: for forms that show every problem before
    the save."""
    _refuse_unknown(fields)
    existing = None if adding else Venue.objects.filter(pk=code).first()
    if not adding and existing is None:
        raise VenueNotFound(f"Unknown venue {code}.")
    _check(_configured(code=code, existing=existing, fields=fields, replace=False))


def _save(venue: Venue) -> None:
    try:
        with transaction.atomic():
            venue.save()
    except IntegrityError as exc:  # a concurrent write took the same FIX identity or code
        raise InvalidInput(
            "The venue's configuration conflicts with another venue.",
            details={"fix_session": [("Another venue took this host, port and CompIDs, "
                                      "or this code, a moment ago.")]},
        ) from exc


def venue_put(
    *, code: str, actor: str, replace: bool = True, **fields
) -> tuple[Venue, bool]:
    """Create the venue, or (replace=True) set every editable field: those not given go back
    to their defaults, as a PUT means. Returns (venue, created). A new venue gets a trading
    session with the default schedule and a FIX session record."""
    _refuse_unknown(fields)
    with transaction.atomic():
        existing = Venue.objects.select_for_update().filter(pk=code).first()
        created = existing is None
        if not created and not replace:
            return existing, False
        venue = _configured(code=code, existing=existing, fields=fields, replace=True)
        _check(venue)
        _save(venue)
        FixSession.objects.get_or_create(venue=venue)
        session_get_or_create_for_venue(venue_code=code, actor=actor)
    logger.info("venue %s %s by %s", code, "created" if created else "replaced", actor)
    return venue, created


def venue_update(*, code: str, actor: str, **changes) -> Venue:
    """Change some of a venue's fields (PATCH). The session's holder reconnects when a FIX
    setting changed; dispatchers read the new send limit on their next drain."""
    _refuse_unknown(changes)
    with transaction.atomic():
        venue = Venue.objects.select_for_update().filter(pk=code).first()
        if venue is None:
            raise VenueNotFound(f"Unknown venue {code}.")
        venue = _configured(code=code, existing=venue, fields=changes, replace=False)
        _check(venue)
        _save(venue)
    logger.info("venue %s changed by %s: %s", code, actor, sorted(changes))
    return venue


# --- the FIX session's record ------------------------------------------------------------------


def fix_session_get_or_create(*, venue_code: str) -> FixSession:
    session, _ = FixSession.objects.get_or_create(venue_id=venue_code)
    return session


def fix_session_acquire(*, venue_code: str, owner: str, lease_seconds: float) -> FixSession | None:
    """Take (or keep) the venue's FIX session for `owner` if nobody else holds a current
    lease, on the database's clock. Returns the record when `owner` holds it."""
    fix_session_get_or_create(venue_code=venue_code)
    taken = FixSession.objects.filter(
        Q(owner=owner) | Q(owner="") | Q(lease_until__isnull=True) | Q(lease_until__lt=Now()),
        venue_id=venue_code,
    ).update(owner=owner, lease_until=Now() + timedelta(seconds=lease_seconds))
    return FixSession.objects.get(venue_id=venue_code) if taken else None


def fix_session_renew(*, venue_code: str, owner: str, lease_seconds: float) -> bool:
    return bool(FixSession.objects.filter(venue_id=venue_code, owner=owner).update(
        lease_until=Now() + timedelta(seconds=lease_seconds)))


def fix_session_started(*, venue_code: str, owner: str, reserved: int) -> bool:
    """The holder starts using sequence numbers: until its clean stop, numbers below
    `reserved` may have been used."""
    return bool(FixSession.objects.filter(venue_id=venue_code, owner=owner).update(
        clean_stop=False, sender_seq_reserved=Greatest(F("sender_seq_reserved"), reserved),
        updated_at=Now()))


def fix_session_reserve(*, venue_code: str, owner: str, reserved: int) -> bool:
    """Raise the sender reservation: committed before any number at or above the old one is
    used."""
    return bool(FixSession.objects.filter(venue_id=venue_code, owner=owner).update(
        sender_seq_reserved=Greatest(F("sender_seq_reserved"), reserved)))


def fix_session_record(
    *, venue_code: str, owner: str, state: str | None = None, next_sender: int | None = None,
    next_target: int | None = None, error: str | None = None, **times,
) -> bool:
    """Record what the holder knows now. Sequence numbers only move forward here (a reset is
    fix_session_reset_sequence's job)."""
    changes: dict = {}
    if state is not None:
        changes |= {"state": state, "state_changed_at": Now()}
    if next_sender is not None:
        changes["next_sender_seq"] = Greatest(F("next_sender_seq"), next_sender)
    if next_target is not None:
        changes["next_target_seq"] = Greatest(F("next_target_seq"), next_target)
    if error is not None:
        changes["last_error"] = error[:300]
    changes |= times  # last_logon_at / last_logout_at
    if not changes:
        return True
    changes["updated_at"] = Now()
    return bool(FixSession.objects.filter(venue_id=venue_code, owner=owner).update(**changes))


def fix_session_reset_sequence(*, venue_code: str, owner: str) -> None:
    """Both sides start again at 1 (a Logon with ResetSeqNumFlag)."""
    FixSession.objects.filter(venue_id=venue_code, owner=owner).update(
        next_sender_seq=1, next_target_seq=1, sender_seq_reserved=1, updated_at=Now())


def fix_session_release(
    *, venue_code: str, owner: str, next_sender: int, next_target: int
) -> None:
    """A clean stop: the numbers are exact, and the lease ends now so a successor need not
    wait it out."""
    FixSession.objects.filter(venue_id=venue_code, owner=owner).update(
        next_sender_seq=next_sender, sender_seq_reserved=next_sender,
        next_target_seq=Greatest(F("next_target_seq"), next_target), clean_stop=True,
        owner="", lease_until=None, state=FixSessionState.DISCONNECTED, state_changed_at=Now(),
        updated_at=Now(),
    )


def fix_week_start(moment: datetime) -> datetime:
    """The start of the FIX week `moment` is in: Sunday 00:00 UTC, when QuickFIX 1.15.1
    starts both sides of a session again at 1 (venues/fix/config.py)."""
    moment = moment.astimezone(UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=(midnight.weekday() + 1) % 7)


def fix_session_first_numbers(record: FixSession, *, now: datetime) -> tuple[int, int]:
    """Where a new holder starts (next to send, next expected): exact after a clean stop;
    after a crash, past every number the last holder may have used (the venue asks for the
    gap and gets a GapFill); at 1 and 1 when the numbers are of a FIX week gone by."""
    if record.updated_at < fix_week_start(now):
        return 1, 1
    target = max(record.next_target_seq, 1)
    if record.clean_stop:
        return max(record.next_sender_seq, 1), target
    return max(record.sender_seq_reserved, record.next_sender_seq, 1), target
