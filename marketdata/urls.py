from django.urls import path

from marketdata.apis import MarketDataApi

urlpatterns = [
    path("marketdata/<str:symbol>", MarketDataApi.as_view(), name="marketdata-detail"),
]
