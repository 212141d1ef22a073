from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.DictField(required=False, help_text="Field-level errors, if any.")


ERROR_RESPONSES = {
    code: OpenApiResponse(ErrorOutput, description=description)
    for code, description in {
        400: "Invalid request.",
        401: "Not authenticated.",
        403: "Not allowed.",
        404: "Not found.",
        409: "The order's state forbids this.",
        413: "The request body is too large (DATA_UPLOAD_MAX_MEMORY_SIZE).",
        415: "The body is not JSON (Content-Type: application/json).",
        422: "Pre-trade risk refused the order (`code` names the check: risk_...), or no "
             "venue can take it now (routing_no_venue; `details` says why, venue by venue).",
        429: "Too many requests from this token; see Retry-After.",
        503: "A dependency is unavailable.",
    }.items()
}


def request_bodies_required(result, generator, request, public):
    """drf-spectacular marks a PATCH body optional (its serializer is partial); one with
    minProperties is required: no body changes nothing and is refused (400)."""
    schemas = result.get("components", {}).get("schemas", {})
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if schemas.get(ref.rsplit("/", 1)[-1], {}).get("minProperties"):
                    operation["requestBody"]["required"] = True
    return result
