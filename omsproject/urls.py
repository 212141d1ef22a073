from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from metrics.views import metrics
from omsproject.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("orders.urls")),
    path("api/v1/", include("executions.urls")),
    path("api/v1/", include("sessions.urls")),
    path("api/v1/", include("dispatch.urls")),
    path("api/v1/", include("venues.urls")),
    path("api/v1/", include("risk.urls")),
    path("api/v1/", include("marketdata.urls")),
]

handler400 = "omsproject.errors.json_bad_request"
handler403 = "omsproject.errors.json_permission_denied"
handler404 = "omsproject.errors.json_page_not_found"
handler500 = "omsproject.errors.json_server_error"
