from rest_framework import serializers

from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS
from omsproject.serializer_fields import PlainDecimalField


class LevelOutput(serializers.Serializer):
    price = PlainDecimalField(**PRICE_DIGITS)
    size = PlainDecimalField(**QUANTITY_DIGITS)

    def to_representation(self, instance):
        price, size = instance
        return super().to_representation({"price": price, "size": size})


class VenueQuoteOutput(serializers.Serializer):
    venue = serializers.CharField()
    bid = PlainDecimalField(**PRICE_DIGITS, allow_null=True)
    bidSize = PlainDecimalField(source="bid_size", **QUANTITY_DIGITS, allow_null=True)
    ask = PlainDecimalField(**PRICE_DIGITS, allow_null=True)
    askSize = PlainDecimalField(source="ask_size", **QUANTITY_DIGITS, allow_null=True)
    last = PlainDecimalField(**PRICE_DIGITS, allow_null=True)
    lastSize = PlainDecimalField(source="last_size", **QUANTITY_DIGITS, allow_null=True)
    timestamp = serializers.DateTimeField(
        help_text="The venue's SendingTime of the refresh these figures come from (UTC).")
    ageSeconds = serializers.FloatField(source="age_seconds")
    stale = serializers.BooleanField(
        help_text="Older than OMS_MARKET_DATA_STALE_SECONDS: a cache, not the market now.")
    bids = LevelOutput(many=True, help_text="The venue's book, best first.")
    asks = LevelOutput(many=True, help_text="The venue's book, best first.")


class MarketDataOutput(serializers.Serializer):
    symbol = serializers.CharField()
    venues = VenueQuoteOutput(many=True)
