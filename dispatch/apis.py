from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.selectors import latency_stats
from dispatch.serializers import LatencyStatsOutput
from omsproject.schema import ERROR_RESPONSES


class LatencyStatsApi(APIView):
    @extend_schema(
        summary="Round-trip latency per venue and request kind",
        description=(
            "For each venue and request kind (NEW, MODIFY, CANCEL, STATUS): the count, mean, "
            "p50, p90, p99 and max of the round trip from writing a request to reading the "
            "venue's first answer, in microseconds, over its latest answers with a measured "
            "round trip: at most OMS_LATENCY_STATS_SAMPLE of them (10,000 by default), the "
            "newest first. `firstAnsweredAt` and `lastAnsweredAt` say which stretch of time "
            "that is. A venue and kind with no such answer has no row. The latency now, read "
            "in the same time however long the history (the whole history's figures are "
            "/metrics' oms_venue_request_latency_seconds histogram)."),
        responses={200: LatencyStatsOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(LatencyStatsOutput(latency_stats(), many=True).data)
