"""The fleet as the dashboard knows it: synced copies of Palette objects, and sync records.

`palette_sync.sync` is the only writer of synced models; pages only read them.
"""

from datetime import timedelta

from django.db import models
from django.utils import timezone


class PaletteAccount(models.Model):
    """One Palette instance and tenant that the dashboard syncs (SaaS or self-hosted)."""

    name = models.CharField(max_length=100, unique=True)
    api_url = models.URLField(help_text="e.g. https://api.spectrocloud.com")
    tenant_uid = models.CharField(max_length=64, blank=True)
    org_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class SyncedModel(models.Model):
    """Fields every synced Palette object carries, keyed by (account, uid)."""

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    uid = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(null=True, blank=True, help_text="Palette creationTimestamp")
    modified_at = models.DateTimeField(null=True, blank=True, help_text="Palette lastModifiedTimestamp")
    raw = models.JSONField(default=dict, help_text="the object as Palette last returned it")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    removed_at = models.DateTimeField(
        null=True, blank=True, help_text="set only after a complete listing no longer had it"
    )

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["account", "uid"], name="%(class)s_account_uid"),
        ]

    def __str__(self) -> str:
        return self.name


class Project(SyncedModel):
    """A Palette project: the scope that most fleet objects live in."""

    class Meta(SyncedModel.Meta):
        ordering = ["name"]


class Cluster(SyncedModel):
    """A Palette cluster (spectrocluster), from the dashboard cluster search."""

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL)
    cloud_type = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=40, blank=True)
    health = models.CharField(max_length=40, blank=True, help_text="empty when Palette does not know")
    kubernetes_version = models.CharField(max_length=60, blank=True)

    class Meta(SyncedModel.Meta):
        ordering = ["name"]
        indexes = [models.Index(fields=["name"]), models.Index(fields=["removed_at", "name"])]


class SyncRun(models.Model):
    """One pass of the sync over one (account, resource[, project]): what it saw and spent."""

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        PARTIAL = "partial"  # ended early; nothing was removed on the strength of it
        FAILED = "failed"

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    resource = models.CharField(max_length=40)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    items = models.PositiveIntegerField(default=0)
    requests = models.JSONField(default=dict, help_text="requests made, per rate-limit family")
    throttled = models.PositiveIntegerField(default=0, help_text="429 answers received")
    errors = models.JSONField(default=list)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["account", "resource", "status", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.account} {self.resource} {self.status} {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    @classmethod
    def data_as_of(cls, resource: str) -> "SyncRun | None":
        """The last run of `resource` that completed: the data is at least as fresh as its start."""
        return cls.objects.filter(resource=resource, status=cls.Status.OK).order_by("-started_at").first()
