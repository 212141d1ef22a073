"""Operators change limits and kill switches; every change is audited (RiskEvent)."""

from decimal import Decimal

from django.db import transaction

from omsproject.decimals import decimal_text
from omsproject.errors import InvalidInput
from risk.limits import LIMIT_FIELDS
from risk.models import GLOBAL, RiskEvent, RiskLimits

_UNSET = object()
EDITABLE = (*LIMIT_FIELDS, "halted", "halt_reason")
_INTEGER_FIELDS = {"max_orders_per_second", "duplicate_window_seconds"}


def _snapshot(row: RiskLimits) -> dict:
    data = {}
    for field in EDITABLE:
        value = getattr(row, field)
        data[field] = decimal_text(value) if isinstance(value, Decimal) else value
    return data


def _clean(field: str, value):
    if value is None or field in ("halted", "halt_reason"):
        return value
    if field in _INTEGER_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput("The limits are invalid; see details.",
                               details={field: ["A whole number, 0 or more, or null."]})
        return value
    number = Decimal(value)
    if not number.is_finite() or number <= 0:
        raise InvalidInput("The limits are invalid; see details.",
                           details={field: ["Greater than zero, or null (no limit)."]})
    return number


def risk_limits_update(*, account: str, actor: str, **changes) -> RiskLimits:
    """Set some of an account's limits (account "*": everyone's defaults); a field set to
    None inherits again. `halted` with `halt_reason` is the account's kill switch."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput("Unknown limits.", details={f: ["Unknown field."] for f in unknown})
    if account == GLOBAL and changes.get("halted"):
        raise InvalidInput("The defaults have no kill switch: use the global halt.",
                           details={"halted": ["Only for an account."]})
    if changes.get("halted") and not str(changes.get("halt_reason") or "").strip():
        raise InvalidInput("Say why the account is halted.",
                           details={"haltReason": ["Required when halting."]})
    clean = {field: _clean(field, value) for field, value in changes.items()}
    with transaction.atomic():
        RiskLimits.objects.bulk_create([RiskLimits(account=account)], ignore_conflicts=True)
        row = RiskLimits.objects.select_for_update().get(pk=account)
        before = _snapshot(row)
        for field, value in clean.items():
            setattr(row, field, value)
        if clean.get("halted") is False:
            row.halt_reason = ""
        row.changed_by = actor
        after = _snapshot(row)
        changed = [field for field in EDITABLE if before[field] != after[field]]
        if changed:
            row.save()
            RiskEvent.objects.create(account=account, actor=actor,
                                     before={f: before[f] for f in changed},
                                     after={f: after[f] for f in changed})
    return row
