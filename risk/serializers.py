"""The risk API's JSON shapes (camelCase)."""

from rest_framework import serializers

from omsproject.serializers import StrictSerializer

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
_DECIMAL = {"max_digits": 24, "decimal_places": 8, "coerce_to_string": True}


def _limit_fields(*, required: bool) -> dict:
    extra = {"required": required, "allow_null": True}
    return {
        "maxOrderQuantity": serializers.DecimalField(**_DECIMAL, min_value=0, **extra,
                                                     help_text="Per order."),
        "maxOrderNotional": serializers.DecimalField(
            **_DECIMAL, min_value=0, **extra,
            help_text="Per order: quantity x limit (or stop) price; a MARKET order is valued "
            "at the far side of the market widened by the price band."),
        "maxPosition": serializers.DecimalField(
            **_DECIMAL, min_value=0, **extra,
            help_text="Per symbol, long or short, counting open orders as if they filled."),
        "buyingPower": serializers.DecimalField(
            **_DECIMAL, min_value=0, **extra,
            help_text="Notional of open orders plus fills today (UTC) may not exceed it."),
        "maxOrdersPerSecond": serializers.IntegerField(min_value=0, **extra),
        "duplicateWindowSeconds": serializers.IntegerField(
            min_value=0, **extra,
            help_text="Refuse the same terms again from the account within this many "
            "seconds; 0: off."),
        "priceBandPercent": serializers.DecimalField(
            max_digits=6, decimal_places=3, coerce_to_string=True, min_value=0, **extra,
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
    def validate(self, attrs):
        if not {k for k in attrs if k != "cancelOpenOrders"}:
            raise serializers.ValidationError("Give at least one limit or the kill switch.")
        if attrs.get("cancelOpenOrders") and not attrs.get("halted"):
            raise serializers.ValidationError(
                {"cancelOpenOrders": ["Only together with halted: true."]})
        return attrs
