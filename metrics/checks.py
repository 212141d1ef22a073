from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def metrics_token_check(app_configs, **kwargs):
    # Open /metrics keeps a local Prometheus set-up to one line; in production it would show
    # anyone who can reach the web process the desk's order flow per venue.
    if settings.OMS_METRICS_TOKEN:
        return []
    return [
        Warning(
            "OMS_METRICS_TOKEN is not set, so /metrics is served to anyone.",
            hint="Set OMS_METRICS_TOKEN and give Prometheus the same bearer token.",
            id="metrics.W001",
        )
    ]
