from django.urls import path

from sessions.apis import SessionDetailApi, SessionListApi, TradingHaltApi

urlpatterns = [
    path("sessions", SessionListApi.as_view(), name="session-list"),
    path("sessions/<str:venue>", SessionDetailApi.as_view(), name="session-detail"),
    path("halt", TradingHaltApi.as_view(), name="trading-halt"),
]
