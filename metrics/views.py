import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder

from metrics.collectors import oms_registry
from omsproject.errors import error_body

REGISTRY = oms_registry()


def _bearer_token_matches(request, expected: str) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


@require_GET
@never_cache
def metrics(request):
    """Prometheus exposition of the OMS's state (metrics/collectors.py).

    With OMS_METRICS_TOKEN set, Prometheus must send `Authorization: Bearer <token>`;
    unset, anyone who can reach the web process may read it (`check --deploy` warns).
    """
    expected = settings.OMS_METRICS_TOKEN
    if expected and not _bearer_token_matches(request, expected):
        response = JsonResponse(
            error_body("not_authenticated", "Send the metrics token as a Bearer token."),
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # Prometheus asks for OpenMetrics in its Accept header; anything else gets the classic
    # text format 0.0.4, as prometheus-client's own handlers do.
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(REGISTRY), content_type=content_type)
