"""Wall screens: a TV in an ops room showing some screens of the fleet, without anyone signed in.

A display is reached by the secret in its URL, `/wall/<token>/`. Only the SHA-256 of the token is
stored: the token is shown once, when the display is created, and a revoked display's URL is dead
from the next request on.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

ALIVE_FOR = timedelta(minutes=10)  # a display that has not polled for this long is "not seen"
SEEN_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often per display


def token_hash(token: str) -> str:
    """The stored form of a display token: its SHA-256 (the token is 256 random bits, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


class DisplayQuerySet(models.QuerySet):
    def by_token(self, token: str) -> "Display | None":
        """The display whose URL holds `token` (revoked or not), or None."""
        if not token or len(token) > 100:
            return None
        return self.select_related("created_by").filter(token_hash=token_hash(token)).first()


class Display(models.Model):
    """One wall screen: which screens it rotates through, how, and whose project scope it shows.

    It shows rows within the project scope of `created_by` (dashboard.access.scope_of), so a
    display never shows more than its creator may see.
    """

    class Theme(models.TextChoices):
        DARK = "dark", "dark"
        BLACK = "black", "black (high contrast)"
        LIGHT = "light", "light"

    name = models.CharField(max_length=100)
    screens = models.JSONField(
        default=list, help_text='screen keys in order: "overview", "unhealthy", "sites", "timeline" or "view:<id>"'
    )
    seconds_per_screen = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(5), MaxValueValidator(3600)]
    )
    theme = models.CharField(max_length=10, choices=Theme, default=Theme.DARK)
    pause_on_problem = models.BooleanField(
        default=True, help_text="stay on a screen that shows a problem instead of rotating on"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="displays")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="the display's last request")

    objects = DisplayQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def new_token(self) -> str:
        """Give the display a fresh token (saved with the next save()) and return it: the only time it is seen."""
        token = secrets.token_urlsafe(32)
        self.token_hash = token_hash(token)
        return token

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self) -> None:
        """Kill the display's URL: every later request for it answers 410."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def alive(self, now: datetime | None = None) -> bool:
        """Whether the display polled within the last ALIVE_FOR."""
        now = now or timezone.now()
        return self.last_seen_at is not None and now - self.last_seen_at < ALIVE_FOR

    def seen(self, now: datetime | None = None) -> None:
        """Record a request from the display; written at most every SEEN_EVERY, so polls stay reads."""
        now = now or timezone.now()
        if self.last_seen_at is None or now - self.last_seen_at >= SEEN_EVERY:
            Display.objects.filter(pk=self.pk).update(last_seen_at=now)
            self.last_seen_at = now
