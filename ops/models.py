"""Running totals of the sync for /metrics: Prometheus counters that survive restarts and retention.

Each finished SyncRun adds itself once, in the transaction that closes it (ops.tallies). A scrape
reads these few rows, never SyncRun itself: that table is large, and retention deletes from it,
which would make a counter derived from it go backwards.
"""

from django.db import models

from dashboard.models import PaletteAccount

# Upper bounds (seconds) of the run duration histogram's buckets; a run longer than all is in +Inf.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
INFINITE = 0  # the `le` of the +Inf bucket (0 is no bound: the first is 1 s)


class SyncTally(models.Model):
    """Finished runs of one (account, resource, status) whose duration fell in one histogram bucket."""

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    resource = models.CharField(max_length=40)
    status = models.CharField(max_length=10)
    le = models.PositiveIntegerField(help_text="bucket upper bound in seconds; 0: +Inf")
    runs = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0.0, help_text="summed durations")
    throttled = models.PositiveBigIntegerField(default=0, help_text="429 answers the runs received")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "resource", "status", "le"], name="synctally_key"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.resource} {self.status} le={self.le}: {self.runs}"


class RequestTally(models.Model):
    """Requests the sync sent to one account, per rate-limit family (retries and logins included)."""

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    family = models.CharField(max_length=200)
    requests = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "family"], name="requesttally_key")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.family}: {self.requests}"
