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
        429: "Too many requests from this token; see Retry-After.",
        503: "A dependency is unavailable.",
    }.items()
}
