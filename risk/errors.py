from rest_framework import status

from omsproject.errors import DomainError


class RiskRefused(DomainError):
    """A pre-trade check said no: 422 with the check's own code (risk_price_band, ...)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "risk_refused"

    def __init__(self, code: str, message: str, *, details: dict | None = None):
        super().__init__(message, details=details)
        self.code = code
