from rest_framework import status

from omsproject.errors import DomainError, InvalidInput, NotFound


class OrderNotFound(NotFound):
    code = "order_not_found"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class DuplicateClientOrderId(DomainError):
    code = "duplicate_client_order_id"


class AccountForbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "account_forbidden"


class UnknownVenue(InvalidInput):
    code = "unknown_venue"
