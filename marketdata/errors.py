from omsproject.errors import DomainError, NotFound


class MarketDataNotFound(NotFound):
    code = "market_data_not_found"


class MarketDataUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"
