from django.core.validators import MinValueValidator, RegexValidator
from django.db import models


class Venue(models.Model):
    """An exchange venue orders are routed to. Every queue, limit and session is per venue."""

    code = models.CharField(
        primary_key=True,
        max_length=16,
        validators=[RegexValidator(r"^[A-Z0-9_]{2,16}$", "Upper-case letters, digits, _")],
        help_text="Short venue code, e.g. an ISO 10383 MIC.",
    )
    name = models.CharField(max_length=100, blank=True)
    throttle_per_second = models.PositiveIntegerField(
        validators=[MinValueValidator(1)],
        help_text="Most orders sent to this venue in any sliding one-second window.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code
