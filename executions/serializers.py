"""The API's JSON shapes for fills and positions (camelCase, exact decimal strings)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from executions.models import FillKind, FillState, Liquidity
from executions.pnl import unrealized
from omsproject.decimals import MONEY_DIGITS, PRICE_DIGITS, QUANTITY_DIGITS
from omsproject.serializer_fields import PlainDecimalField


class FillOutput(serializers.Serializer):
    execId = serializers.CharField(source="exec_id", help_text="The venue's ExecID (17).")
    orderId = serializers.UUIDField(source="order_id")
    accountId = serializers.CharField(source="account_id")
    symbol = serializers.CharField()
    side = serializers.CharField()
    venue = serializers.CharField(source="venue_id")
    lastQty = PlainDecimalField(source="last_quantity", **QUANTITY_DIGITS,
                                help_text="LastQty (32); after a correction, the corrected.")
    lastPx = PlainDecimalField(source="last_price", **PRICE_DIGITS,
                               help_text="LastPx (31); after a correction, the corrected.")
    liquidity = serializers.SerializerMethodField()
    fee = PlainDecimalField(**MONEY_DIGITS, allow_null=True,
                            help_text="Commission (12) in the instrument's currency; "
                                      "negative: a rebate.")
    transactTime = serializers.DateTimeField(source="transact_time")
    state = serializers.ChoiceField(
        choices=FillState.choices,
        help_text="APPLIED: in the order's cumQty and the position. BUSTED: cancelled by "
                  "the venue. QUARANTINED: stored, booked nowhere (overfill, an order that "
                  "never lived at the venue, counted already); for an operator.")
    kind = serializers.ChoiceField(
        choices=FillKind.choices,
        help_text="TRADE: reported by the venue. RECONCILED: the venue's CumQty was ahead "
                  "of the trades it reported; the difference, from its CumQty and AvgPx.")
    corrected = serializers.BooleanField()
    originalQty = PlainDecimalField(source="original_quantity", **QUANTITY_DIGITS,
                                    allow_null=True)
    originalPx = PlainDecimalField(source="original_price", **PRICE_DIGITS, allow_null=True)
    flag = serializers.CharField(allow_blank=True)

    @extend_schema_field({"type": "string", "enum": Liquidity.values, "nullable": True,
                          "description": "LastLiquidityInd (851): MAKER (1, added), TAKER "
                                         "(2, removed), ROUTED (3); null when not given."})
    def get_liquidity(self, fill):
        return fill.liquidity or None


class PositionOutput(serializers.Serializer):
    accountId = serializers.CharField(source="account_id")
    symbol = serializers.CharField()
    netQuantity = PlainDecimalField(source="net_quantity", **QUANTITY_DIGITS,
                                    help_text="Bought minus sold (applied fills).")
    averageCost = PlainDecimalField(source="average_cost", **PRICE_DIGITS, allow_null=True,
                                    help_text="Of the open quantity; null when flat.")
    realizedPnl = PlainDecimalField(source="realized_pnl", **MONEY_DIGITS,
                                    help_text="Average cost method, before fees.")
    fees = PlainDecimalField(**MONEY_DIGITS)
    markPrice = serializers.SerializerMethodField()
    markedAt = serializers.SerializerMethodField()
    unrealizedPnl = serializers.SerializerMethodField()
    updatedAt = serializers.DateTimeField(source="updated_at")

    def _mark(self, position):
        return self.context.get("marks", {}).get(position.symbol)

    @extend_schema_field(PlainDecimalField(**PRICE_DIGITS, allow_null=True,
                                           help_text="The latest market price (last, else "
                                                     "mid) of the freshest venue; null "
                                                     "when none is known."))
    def get_markPrice(self, position):  # noqa: N802 (the API's camelCase)
        mark = self._mark(position)
        return None if mark is None else format(mark.price.normalize(), "f")

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_markedAt(self, position):  # noqa: N802
        mark = self._mark(position)
        return None if mark is None else serializers.DateTimeField().to_representation(mark.ts)

    @extend_schema_field(PlainDecimalField(**MONEY_DIGITS, allow_null=True,
                                           help_text="netQuantity x (markPrice - "
                                                     "averageCost); 0 when flat, null "
                                                     "without a mark."))
    def get_unrealizedPnl(self, position):  # noqa: N802
        mark = self._mark(position)
        value = unrealized(net=position.net_quantity, average_cost=position.average_cost,
                           mark=None if mark is None else mark.price)
        return None if value is None else format(value.normalize(), "f")
