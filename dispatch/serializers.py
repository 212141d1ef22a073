from rest_framework import serializers

from dispatch.models import RequestKind, RequestState
from omsproject.decimals import PRICE_DIGITS, QUANTITY_DIGITS
from omsproject.serializer_fields import PlainDecimalField


class VenueRequestOutput(serializers.Serializer):
    requestId = serializers.UUIDField(source="request_id")
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    state = serializers.ChoiceField(choices=RequestState.choices)
    quantity = PlainDecimalField(**QUANTITY_DIGITS, allow_null=True,
                                 help_text="Null on a queued NEW: it goes with the order's terms.")
    limitPrice = PlainDecimalField(source="limit_price", **PRICE_DIGITS, allow_null=True)
    stopPrice = PlainDecimalField(source="stop_price", **PRICE_DIGITS, allow_null=True)
    attempts = serializers.IntegerField()
    queuedAt = serializers.DateTimeField(source="queued_at")
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)
    respondedAt = serializers.DateTimeField(source="responded_at", allow_null=True)
    result = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    response = serializers.JSONField(allow_null=True)
    latencyMicros = serializers.IntegerField(source="latency_micros", allow_null=True)


class LatencyStatsOutput(serializers.Serializer):
    venue = serializers.CharField()
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    count = serializers.IntegerField()
    meanMicros = serializers.FloatField()
    p50Micros = serializers.FloatField()
    p90Micros = serializers.FloatField()
    p99Micros = serializers.FloatField()
    maxMicros = serializers.IntegerField()
    firstAnsweredAt = serializers.DateTimeField(
        help_text="When the oldest answer in the sample was read.")
    lastAnsweredAt = serializers.DateTimeField(
        help_text="When the newest answer in the sample was read.")
