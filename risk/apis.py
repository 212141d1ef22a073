"""Operators read and change risk limits and account kill switches:

    GET   /api/v1/risk/limits              every account with limits of its own, and "*"
    GET   /api/v1/risk/limits/{account}    one account ("*": the defaults)
    PATCH /api/v1/risk/limits/{account}    set limits (null: inherit again), the kill switch
"""

import re
from decimal import Decimal

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from omsproject.decimals import decimal_text
from omsproject.errors import NotFound
from omsproject.schema import ERROR_RESPONSES
from orders.services import orders_cancel_open
from risk.limits import limits_for
from risk.models import GLOBAL, RiskEvent, RiskLimits
from risk.serializers import FIELDS, RiskLimitsOutput, RiskLimitsPatchInput
from risk.services import risk_limits_update

_ACCOUNT = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9._:/-]{0,31})$")


class IsOperator(BasePermission):
    message = "Only operators may read or change risk limits."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


def _account(text: str) -> str:
    if not _ACCOUNT.fullmatch(text):
        raise NotFound(f"No account {text[:32]!r}.")
    return text


def _text(value):
    return decimal_text(value) if isinstance(value, Decimal) else value


def limits_view(account: str) -> dict:
    row = RiskLimits.objects.filter(pk=account).first()
    effective = limits_for(account)
    return {
        "account": account,
        "own": {camel: _text(getattr(row, field)) if row else None
                for camel, field in FIELDS.items()}
        | {"halted": bool(row and row.halted), "haltReason": row.halt_reason if row else ""},
        "effective": {camel: _text(getattr(effective, field)) for camel, field in FIELDS.items()}
        | {"halted": effective.halted, "haltReason": effective.halt_reason},
        "changedBy": row.changed_by if row else "",
        "changedAt": row.changed_at if row else None,
        "history": list(RiskEvent.objects.filter(account=account)[:50]),
    }


class RiskLimitsListApi(GenericAPIView):
    queryset = RiskLimits.objects.none()  # for the schema only; reads go through limits_view
    serializer_class = RiskLimitsOutput
    permission_classes = [IsOperator]

    @extend_schema(responses={200: RiskLimitsOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        accounts = [GLOBAL, *RiskLimits.objects.exclude(pk=GLOBAL).order_by("pk")
                    .values_list("pk", flat=True)]
        return Response(RiskLimitsOutput([limits_view(a) for a in accounts], many=True).data)


@extend_schema(parameters=[OpenApiParameter(
    "account", str, OpenApiParameter.PATH, pattern=_ACCOUNT.pattern,
    description='An account code, or "*" for every account\'s defaults.')])
class RiskLimitsDetailApi(GenericAPIView):
    serializer_class = RiskLimitsOutput
    permission_classes = [IsOperator]

    @extend_schema(responses={200: RiskLimitsOutput, **ERROR_RESPONSES})
    def get(self, request, account):
        return Response(RiskLimitsOutput(limits_view(_account(account))).data)

    @extend_schema(request=RiskLimitsPatchInput,
                   responses={200: RiskLimitsOutput, **ERROR_RESPONSES})
    def patch(self, request, account):
        account = _account(account)
        given = RiskLimitsPatchInput(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        cancel_open = data.pop("cancelOpenOrders", False)
        changes = {FIELDS[k]: v for k, v in data.items() if k in FIELDS}
        if "halted" in data:
            changes["halted"] = data["halted"]
        if "haltReason" in data:
            changes["halt_reason"] = data["haltReason"]
        actor = request.user.get_username()
        risk_limits_update(account=account, actor=actor, **changes)
        if cancel_open:
            transaction.on_commit(lambda: orders_cancel_open(
                actor=actor, reason="account halted", account_code=account))
        return Response(RiskLimitsOutput(limits_view(account)).data)


