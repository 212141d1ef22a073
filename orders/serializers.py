"""The API's JSON shapes (camelCase). Input serializers check shape and types only; the
rules that decide whether an order can be traded live in orders.services."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dispatch.serializers import VenueRequestOutput
from executions.serializers import FillOutput
from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS
from omsproject.schema import ErrorOutput
from omsproject.serializer_fields import PlainDecimalField
from omsproject.serializers import StrictSerializer
from orders.models import OrderEventType, OrderType, Side, TimeInForce
from routing import Policy


_CODE = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"


class OrderCreateInput(StrictSerializer):
    clientOrderId = serializers.RegexField(_CODE, max_length=64)
    accountId = serializers.RegexField(_CODE, max_length=32)
    symbol = serializers.RegexField(r"^[A-Z0-9][A-Z0-9./-]*$", max_length=32)
    side = serializers.ChoiceField(choices=Side.choices)
    orderType = serializers.ChoiceField(choices=OrderType.choices)
    quantity = PlainDecimalField(**QUANTITY_DIGITS, positive=True)
    limitPrice = PlainDecimalField(**PRICE_DIGITS, positive=True, required=False,
                                   allow_null=True)
    stopPrice = PlainDecimalField(**PRICE_DIGITS, positive=True, required=False,
                                  allow_null=True)
    timeInForce = serializers.ChoiceField(choices=TimeInForce.choices)
    venue = serializers.RegexField(r"^[A-Z0-9_]{2,16}$", required=False,
                                   help_text="The venue of a DIRECTED order (default: the "
                                             "default venue); not with other routing.")
    routing = serializers.ChoiceField(
        choices=Policy.choices, required=False,
        help_text="DIRECTED: to `venue`. BEST_PRICE: swept across venues' books by price "
                  "net of the taker fee, ties by latency. PRO_RATA: split by displayed "
                  "size. Default: the account's, else DIRECTED.")


class OrderModifyInput(StrictSerializer):
    min_properties = 1  # the schema's minProperties: an empty body changes nothing: 400

    quantity = PlainDecimalField(**QUANTITY_DIGITS, positive=True, required=False)
    limitPrice = PlainDecimalField(**PRICE_DIGITS, positive=True, required=False,
                                   allow_null=True)
    stopPrice = PlainDecimalField(**PRICE_DIGITS, positive=True, required=False,
                                  allow_null=True)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give quantity, limitPrice and/or stopPrice.")
        return attrs


class OrderEventOutput(serializers.Serializer):
    type = serializers.CharField()
    fromStatus = serializers.CharField(source="from_status", allow_blank=True)
    toStatus = serializers.CharField(source="to_status")
    actor = serializers.CharField()
    data = serializers.JSONField()
    createdAt = serializers.DateTimeField(source="created_at")


class OrderOutput(serializers.Serializer):
    orderId = serializers.UUIDField(source="id")
    clientOrderId = serializers.CharField(source="client_order_id")
    accountId = serializers.CharField(source="account_id")
    symbol = serializers.CharField()
    side = serializers.ChoiceField(choices=Side.choices)
    orderType = serializers.ChoiceField(source="order_type", choices=OrderType.choices)
    quantity = PlainDecimalField(**QUANTITY_DIGITS)
    limitPrice = PlainDecimalField(source="limit_price", **PRICE_DIGITS, allow_null=True)
    stopPrice = PlainDecimalField(source="stop_price", **PRICE_DIGITS, allow_null=True)
    timeInForce = serializers.ChoiceField(source="time_in_force", choices=TimeInForce.choices)
    venue = serializers.CharField(source="venue_id", allow_null=True,
                                  help_text="Null for a routed order: its children have one "
                                            "each.")
    routing = serializers.ChoiceField(choices=Policy.choices)
    parentOrderId = serializers.UUIDField(source="parent_id", allow_null=True,
                                          help_text="Set on a routed order's child.")
    status = serializers.CharField()
    filledQuantity = PlainDecimalField(source="filled_quantity", **QUANTITY_DIGITS,
                                       help_text="The same as cumQty (kept for clients).")
    cumQty = PlainDecimalField(source="filled_quantity", **QUANTITY_DIGITS,
                               help_text="CumQty: the sum of the order's applied fills.")
    leavesQty = PlainDecimalField(source="leaves_quantity", **QUANTITY_DIGITS,
                                  help_text="LeavesQty: open for execution; 0 once done.")
    avgPx = PlainDecimalField(source="average_price", **PRICE_DIGITS, allow_null=True,
                              help_text="The fills' quantity-weighted mean price (8 places, "
                                        "half to even); null until filled.")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


_ROUTE_EVENTS = (OrderEventType.ROUTED, OrderEventType.ROUTE_FAILED)


class OrderDetailOutput(OrderOutput):
    events = OrderEventOutput(many=True)
    fills = serializers.SerializerMethodField(
        help_text="The order's fills; a routed order's are its children's.")
    requests = serializers.SerializerMethodField()
    children = OrderOutput(many=True, help_text="A routed order's child orders, one per "
                                                "venue and routing decision.")
    routeAudit = serializers.SerializerMethodField(
        help_text="Each routing decision: the quotes, fees, latencies and scores it used, "
                  "the venues it skipped and why, and what it sent where.")

    @extend_schema_field(FillOutput(many=True))
    def get_fills(self, order):
        if order.is_parent:
            fills = [fill for child in order.children.all() for fill in child.fills.all()]
            return FillOutput(sorted(fills, key=lambda f: f.pk), many=True).data
        return FillOutput(order.fills.all(), many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_routeAudit(self, order):  # noqa: N802 (the API's camelCase)
        return [{"type": event.type, "at": event.created_at.isoformat(), **event.data}
                for event in order.events.all() if event.type in _ROUTE_EVENTS]

    @extend_schema_field(VenueRequestOutput(many=True))
    def get_requests(self, order):
        return VenueRequestOutput(order.requests.all(), many=True).data


class OrderCreateOutput(OrderOutput):
    created = serializers.BooleanField()


class OrderBatchInput(StrictSerializer):
    """The batch's own shape. Each order in it is checked on its own, as POST /orders checks
    one, and refused in its own result: so the schema takes any object as an order (and
    shows OrderCreateInput as what one should be), and only a batch that is not an object
    with a list of 1 to OMS_BATCH_MAX_ORDERS objects is refused as a whole."""

    orders = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=settings.OMS_BATCH_MAX_ORDERS,
        help_text="The orders, each exactly as POST /api/v1/orders takes it, answered in "
                  "this order.")

    @classmethod
    def openapi_refine(cls, schema: dict) -> dict:
        # COMPONENT_SPLIT_REQUEST names request components "...Request".
        order = {"$ref": "#/components/schemas/OrderCreateInputRequest"}
        schema["properties"]["orders"]["items"] = {
            "anyOf": [order, {"type": "object"}],
            "description": "An order as POST /api/v1/orders takes it (OrderCreateInput). An "
                           "object it would refuse is refused in its own result (400 "
                           "validation_error), not with the batch.",
        }
        return schema


class OrderBatchResultOutput(serializers.Serializer):
    status = serializers.IntegerField(
        min_value=200, max_value=499,
        help_text="What POST /api/v1/orders would answer this order alone: 201 created, 200 "
                  "a replay of an earlier clientOrderId with the same terms, or its 4xx "
                  "(400, 403, 409, 422, ...).")
    orderId = serializers.UUIDField(allow_null=True,
                                    help_text="The order (the original, for a replay); null "
                                              "when refused.")
    clientOrderId = serializers.CharField(allow_null=True,
                                          help_text="As given, when it was a string.")
    created = serializers.BooleanField()
    error = ErrorOutput(allow_null=True, help_text="The refusal in the one error format; null "
                                                   "when accepted.")


class OrderBatchOutput(serializers.Serializer):
    results = OrderBatchResultOutput(many=True, help_text="One per order, in request order.")
    accepted = serializers.IntegerField(help_text="Results with status 201 or 200.")
    refused = serializers.IntegerField(help_text="Results with a 4xx status.")
