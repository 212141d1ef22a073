from django.urls import path

from dispatch.apis import LatencyStatsApi

urlpatterns = [
    path("stats/latency", LatencyStatsApi.as_view(), name="stats-latency"),
]
