from rest_framework import status

from omsproject.errors import DomainError


class NoRoute(DomainError):
    """No venue may take the order now. 422: the order is well formed, but nowhere to go;
    `details` says, for each venue, why not ("closed", "kill switch", "stale quote", ...).
    Raised even when every venue is merely closed: the caller decides what that means."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "routing_no_venue"
