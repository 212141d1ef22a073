"""The risk API's JSON shapes (camelCase)."""

from rest_framework import serializers

from omsproject.decimals import QUANTITY_DIGITS
from omsproject.serializer_fields import PlainDecimalField
from omsproject.serializers import StrictSerializer
from risk.models import NOTIONAL_DIGITS

# camelCase name -> model field
FIELDS = {
    "maxOrderQuantity": "max_order_quantity",
    "maxOrderNotional": "max_order_notional",
    "maxPosition": "max_position",
    "buyingPower": "buying_power",
    "maxOrdersPerSecond": "max_orders_per_second",
    "duplicateWindowSeconds": "duplicate_window_seconds",
    "priceBandPercent": "price_band_percent",
}
# Greater than zero (null is "no limit"), in the digits the column stores.
_INT_MAX = 2 ** 31 - 1  # what the PositiveIntegerField columns store
_QUANTITY = {**QUANTITY_DIGITS, "positive": True}
_NOTIONAL = {**NOTIONAL_DIGITS, "positive": True}


def _limit_fields(*, required: bool) -> dict:
    extra = {"required": required, "allow_null": True}
    return {
        "maxOrderQuantity": PlainDecimalField(**_QUANTITY, **extra, help_text="Per order."),
        "maxOrderNotional": PlainDecimalField(
            **_NOTIONAL, **extra,
            help_text="Per order: quantity x limit (or stop) price; a MARKET order is valued "
            "at the far side of the market widened by the price band."),
        "maxPosition": PlainDecimalField(
            **_QUANTITY, **extra,
            help_text="Per symbol, long or short, counting open orders as if they filled."),
        "buyingPower": PlainDecimalField(
            **_NOTIONAL, **extra,
            help_text="Notional of open orders plus fills today (UTC) may not exceed it."),
        "maxOrdersPerSecond": serializers.IntegerField(min_value=0, max_value=_INT_MAX, **extra),
        "duplicateWindowSeconds": serializers.IntegerField(
            min_value=0, max_value=_INT_MAX, **extra,
            help_text="Refuse the same terms again from the account within this many "
            "seconds; 0: off."),
        "priceBandPercent": PlainDecimalField(
            max_digits=6, decimal_places=3, positive=True, **extra,
            help_text="A LIMIT price further than this from the market's mid is refused."),
    }


def _output_fields() -> dict:
    """Decimals go out as exact strings without trailing zeros, as everywhere in the API."""
    return {
        name: serializers.CharField(allow_null=True, help_text=field.help_text or "")
        if isinstance(field, serializers.DecimalField)
        else serializers.IntegerField(allow_null=True, help_text=field.help_text or "")
        for name, field in _limit_fields(required=True).items()
    }


EffectiveLimitsOutput = type("EffectiveLimitsOutput", (serializers.Serializer,), {
    **_output_fields(),
    "halted": serializers.BooleanField(),
    "haltReason": serializers.CharField(allow_blank=True),
})


class RiskEventOutput(serializers.Serializer):
    actor = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()
    createdAt = serializers.DateTimeField(source="created_at")


class RiskLimitsOutput(serializers.Serializer):
    account = serializers.CharField(help_text='An account code, or "*": every account\'s '
                                    "defaults.")
    own = serializers.DictField(help_text="What is set for it (null: inherited).")
    effective = EffectiveLimitsOutput(help_text="What applies: its own, else the defaults, "
                                      "else the server's settings.")
    changedBy = serializers.CharField(allow_blank=True)
    changedAt = serializers.DateTimeField(allow_null=True)
    history = RiskEventOutput(many=True, help_text="The latest 50 changes, newest first.")


class _PatchFields(StrictSerializer):
    halted = serializers.BooleanField(required=False,
                                      help_text="The account's kill switch.")
    haltReason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    cancelOpenOrders = serializers.BooleanField(
        required=False, default=False,
        help_text="When halting: also cancel the account's open orders (queued ones here, "
        "live ones at their venues).")


class RiskLimitsPatchInput(type("_Limits", (_PatchFields,), _limit_fields(required=False))):
    min_properties = 1  # an empty body changes nothing: 400

    @classmethod
    def openapi_refine(cls, schema: dict) -> dict:
        # validate() below and risk.services' rules, as the schema states them.
        halting = {"properties": {"halted": {"enum": [True]}}, "required": ["halted"]}
        return schema | {"allOf": [
            # A limit or the kill switch: cancelOpenOrders alone changes nothing.
            {"anyOf": [{"required": [name]} for name in schema["properties"]
                       if name != "cancelOpenOrders"]},
            # Halting needs a reason with something other than whitespace in it.
            {"oneOf": [
                {"properties": {"halted": {"enum": [True]},
                                "haltReason": {"minLength": 1, "pattern": r"\S"}},
                 "required": ["halted", "haltReason"]},
                {"properties": {"halted": {"enum": [False]}}, "required": ["halted"]},
                {"not": {"required": ["halted"]}},
            ]},
            # cancelOpenOrders: true only together with halted: true.
            {"anyOf": [{"not": {"required": ["cancelOpenOrders"]}},
                       {"properties": {"cancelOpenOrders": {"enum": [False]}}}, halting]},
        ]}
    def validate(self, attrs):
        if not {k for k in attrs if k != "cancelOpenOrders"}:
            raise serializers.ValidationError("Give at least one limit or the kill switch.")
        if attrs.get("cancelOpenOrders") and not attrs.get("halted"):
            raise serializers.ValidationError(
                {"cancelOpenOrders": ["Only together with halted: true."]})
        return attrs
