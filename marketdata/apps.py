from django.apps import AppConfig


class MarketDataConfig(AppConfig):
    name = "marketdata"
    label = "marketdata"
    verbose_name = "Market data"
