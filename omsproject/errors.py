"""One error format for the whole API: {"code": ..., "message": ..., "details": ...}.

Services raise DomainError subclasses; this module is the only place that turns them, and
DRF's own exceptions, into HTTP responses.
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule said no. Subclasses set the HTTP status and the stable code."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class InvalidInput(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "validation_error"


class PayloadTooLarge(exceptions.APIException):
    """The body is over DATA_UPLOAD_MAX_MEMORY_SIZE; raised before any of it is parsed."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def payload_too_large(limit: int | None = None) -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if limit is None else limit
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.")


def _camel(name: str) -> str:
    # Services name fields as the models do; the API speaks camelCase.
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    body = {"code": code, "message": message}
    if details:
        body["details"] = details
    return body


_DRF_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    PayloadTooLarge: "payload_too_large",
}


def domain_error_body(exc: DomainError) -> dict:
    """The one error format for a domain error: the response body, or one item's error in
    a batch's answer."""
    return error_body(exc.code, exc.message,
                      {_camel(key): value for key, value in exc.details.items()})


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(domain_error_body(exc), status=exc.status_code)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return Response(
            error_body("service_unavailable", "The database is unavailable; retry shortly."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, DatabaseError):
        return None  # a bug, not bad input: let it surface as a 500 and be logged
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, RequestDataTooBig):
        # Django's own size check (request.body) is a SuspiciousOperation; it is a 413.
        exc = payload_too_large()
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
        response.data = error_body(code, "The request is invalid; see details.", details)
    else:
        response.data = error_body(code, str(exc.detail))
    return response


def json_page_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "No such resource."), status=404)


def json_server_error(request):
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def json_bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):  # outside DRF: the admin, /healthz
        error = payload_too_large()
        return JsonResponse(error_body("payload_too_large", str(error.detail)), status=413)
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def json_permission_denied(request, exception=None):
    return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)
