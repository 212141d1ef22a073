from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.selectors import latency_stats
from dispatch.serializers import LatencyStatsOutput
from omsproject.schema import ERROR_RESPONSES


class LatencyStatsApi(APIView):
    @extend_schema(responses={200: LatencyStatsOutput(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(LatencyStatsOutput(latency_stats(), many=True).data)
