from django.urls import path

from risk.apis import RiskLimitsDetailApi, RiskLimitsListApi

urlpatterns = [
    path("risk/limits", RiskLimitsListApi.as_view(), name="risk-limits"),
    path("risk/limits/<str:account>", RiskLimitsDetailApi.as_view(), name="risk-limits-detail"),
]
