"""Alerts: one row per problem, from the first evaluation that saw it to the message that said it ended.

The evaluation (`alerts.rules`) opens and resolves rows; delivery (`alerts.notify`) sends what a row
still owes, so one problem gives one "problem" message and, once it is over, one "resolved" message,
however many evaluations see it in between.
"""

from django.db import models
from django.db.models import Q

from dashboard.models import PaletteAccount, Project

OPEN = Q(resolved_at__isnull=True)


class Alert(models.Model):
    """One problem (a cluster unhealthy, a site dark, ...) and what has been said about it.

    `state` is the outbox: PENDING owes the problem message, RESOLVING owes the resolved message,
    NOTIFIED and CLOSED owe nothing. A problem that ends before its problem message went out (within
    its grace period, or within quiet hours) is CLOSED without a word.
    """

    class Kind(models.TextChoices):
        CLUSTER_UNHEALTHY = "cluster_unhealthy", "cluster unhealthy"
        EDGEHOST_UNHEALTHY = "edgehost_unhealthy", "edge host unhealthy"
        SITE_DARK = "site_dark", "edge site dark"
        SOURCE_STALE = "source_stale", "source stale or failing"
        DISPLAY_SILENT = "display_silent", "wall screen silent"

    class State(models.TextChoices):
        PENDING = "pending", "problem message due"
        NOTIFIED = "notified", "problem message sent"
        RESOLVING = "resolving", "resolved message due"
        CLOSED = "closed"

    kind = models.CharField(max_length=20, choices=Kind)
    key = models.CharField(max_length=300, help_text="what the problem is about, e.g. cluster:42")
    subject_id = models.BigIntegerField(null=True, blank=True, help_text="the row the problem is about, if stable")
    account = models.ForeignKey(PaletteAccount, null=True, blank=True, on_delete=models.CASCADE)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL)
    subject = models.TextField(help_text="a name people recognise")
    message = models.TextField(blank=True, help_text="what is wrong, as the evaluation that opened it saw it")
    since = models.DateTimeField(help_text="when the problem began, as far as the data says")
    opened_at = models.DateTimeField()
    notify_after = models.DateTimeField(help_text="the problem message waits until then (the grace period)")
    resolved_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="the problem message went out")
    resolve_notified_at = models.DateTimeField(null=True, blank=True, help_text="the resolved message went out")
    delivered = models.JSONField(default=list, help_text="channels that have the message now due")
    attempts = models.PositiveIntegerField(default=0, help_text="failed deliveries of the message now due")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True, help_text="a deliverer is sending it")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            # one open alert per problem: a second evaluation finding it again adds nothing
            models.UniqueConstraint(fields=["key"], condition=OPEN, name="alert_open_key"),
        ]
        indexes = [
            models.Index(fields=["kind", "subject_id"], name="alert_open_subject", condition=OPEN),
            models.Index(
                fields=["next_attempt_at", "id"],
                name="alert_outbox",
                condition=Q(state__in=["pending", "resolving"]),
            ),
            models.Index(fields=["resolved_at"], name="alert_closed", condition=Q(state="closed")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"
