from django.apps import AppConfig


class TradingSessionsConfig(AppConfig):
    name = "sessions"
    # django.contrib.sessions (needed by the admin) already owns the label "sessions".
    label = "trading_sessions"
    verbose_name = "Trading sessions"

