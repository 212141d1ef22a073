"""The one serializer: the fields POST /api/v1/orders takes, with the same shapes (patterns,
lengths, choices, decimal digits, greater than zero), checked field by field with DRF's own
fields, and the order as JSON after. Not checked here, as in any plain DRF app: unknown
fields (ours refuses them), a JSON number where ours wants a string, and the rules across
fields that ours keeps in its services (a LIMIT order's price, ...)."""

from decimal import Decimal

from rest_framework import serializers

from bench.floor.intake.models import Order
from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS

_CODE = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
_QUANTITY = {**QUANTITY_DIGITS, "min_value": Decimal(1).scaleb(-6), "normalize_output": True}
_PRICE = {**PRICE_DIGITS, "min_value": Decimal(1).scaleb(-8), "normalize_output": True}


class OrderSerializer(serializers.ModelSerializer):
    orderId = serializers.UUIDField(source="id", read_only=True)
    clientOrderId = serializers.RegexField(_CODE, max_length=64, source="client_order_id")
    accountId = serializers.RegexField(_CODE, max_length=32, source="account_id")
    symbol = serializers.RegexField(r"^[A-Z0-9][A-Z0-9./-]*$", max_length=32)
    side = serializers.ChoiceField(choices=["BUY", "SELL"])
    orderType = serializers.ChoiceField(choices=["MARKET", "LIMIT", "STOP", "STOP_LIMIT"],
                                        source="order_type")
    quantity = serializers.DecimalField(**_QUANTITY)
    limitPrice = serializers.DecimalField(**_PRICE, source="limit_price", required=False,
                                          allow_null=True)
    stopPrice = serializers.DecimalField(**_PRICE, source="stop_price", required=False,
                                         allow_null=True)
    timeInForce = serializers.ChoiceField(choices=["DAY", "GTC", "IOC", "FOK"],
                                          source="time_in_force")
    venue = serializers.RegexField(r"^[A-Z0-9_]{2,16}$", source="venue_id", required=False)
    routing = serializers.ChoiceField(choices=["DIRECTED", "BEST_PRICE", "PRO_RATA"],
                                      required=False)
    status = serializers.CharField(read_only=True)
    filledQuantity = serializers.DecimalField(**_QUANTITY, source="filled_quantity",
                                              read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Order
        fields = ["orderId", "clientOrderId", "accountId", "symbol", "side", "orderType",
                  "quantity", "limitPrice", "stopPrice", "timeInForce", "venue", "routing",
                  "status", "filledQuantity", "createdAt", "updatedAt"]
        # ModelSerializer would look the (account, clientOrderId) pair up before each insert:
        # idempotency, which the floor leaves out (the unique key still holds).
        validators = []
