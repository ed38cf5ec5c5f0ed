from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# Writing last_used on every request would turn each read into a write; once a minute is enough to audit.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiToken(models.Model):
    """A personal API token (for the Nodeworks desktop app). Only the SHA-256 digest is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    # The first characters, for recognising a token in lists; far too short to be usable.
    hint = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.hint}… ({self.user})"

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used and now - self.last_used < LAST_USED_RESOLUTION:
            return
        # Conditional so that concurrent requests with one token write at most once a minute.
        ApiToken.objects.filter(pk=self.pk).filter(
            models.Q(last_used__isnull=True) | models.Q(last_used__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used=now)
        self.last_used = now
