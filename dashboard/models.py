"""The fleet as the dashboard knows it: synced copies of Palette objects, the timeline, and sync records.

`palette_sync.sync` is the only writer of synced models; pages only read them.
"""

import ipaddress
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from dashboard import labels
from dashboard.edge_states import EDGE_API_PROBLEMS, EdgeApiState
from dashboard.sealing import SealedSecretField, SecretState


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class PaletteAccount(models.Model):
    """One Palette instance and tenant that the dashboard syncs (SaaS or self-hosted).

    The credential (an API key, or a password) is stored sealed with Fernet, never in plaintext, and
    bound to the URL, sign-in mode and CA: a change of any of them clears it (dashboard/sealing.py).
    """

    SECRET_TARGET = ("api_url", "auth_mode", "ca_pem")

    class AuthMode(models.TextChoices):
        API_KEY = "api_key", "API key"
        PASSWORD = "password", "Username and password"  # 15-minute tokens (REFERENCE.md 2)

    name = models.CharField(max_length=100, unique=True)
    api_url = models.URLField(help_text="e.g. https://api.spectrocloud.com")
    auth_mode = models.CharField(max_length=10, choices=AuthMode, default=AuthMode.API_KEY)
    username = models.CharField(max_length=255, blank=True, help_text="email, for username/password accounts")
    org = models.CharField(max_length=255, blank=True, help_text="organisation (tenant) name, for the login")
    secret_sealed = SealedSecretField(bound_to=SECRET_TARGET, help_text="API key or password, Fernet-sealed")
    ca_pem = models.TextField(
        blank=True, help_text="PEM of the CA that signed a self-hosted Palette's certificate (empty: public CAs)"
    )
    enabled = models.BooleanField(default=True, help_text="synced on schedule")
    tenant_uid = models.TextField(blank=True)
    org_name = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def set_secret(self, plaintext: str) -> None:
        """Seal the API key or password (saved with the next save(), bound to the target then)."""
        self._meta.get_field("secret_sealed").seal(self, plaintext)

    def secret(self) -> str:
        """The API key or password in clear, for the client only; "" when none, unreadable or stale."""
        return self._meta.get_field("secret_sealed").open(self)

    @property
    def secret_state(self) -> SecretState:
        return self._meta.get_field("secret_sealed").state(self)

    @property
    def secret_unreadable(self) -> bool:
        """A secret is stored but was sealed under a key this install no longer has."""
        return self.secret_state is SecretState.UNREADABLE

    @property
    def has_secret(self) -> bool:
        """A secret is stored for the account's current URL, sign-in mode and CA (readable or not)."""
        return self.secret_state in (SecretState.STORED, SecretState.UNREADABLE)

    def clean(self) -> None:
        """Over plain http:// the API key or password would cross the network in clear: only a Palette
        on this machine (a loopback address, such as the simulator) may be reached so."""
        url = urlsplit(self.api_url)
        if url.scheme == "http" and not is_loopback(url.hostname or ""):
            raise ValidationError({"api_url": "Use https://: over http:// the credential would travel in clear."})

    def rate_key(self) -> str:
        """The rate budget this account spends: Palette limits per source IP and server (REFERENCE.md 5),
        so accounts on the same Palette host share one budget."""
        return self.api_url.split("://", 1)[-1].split("/", 1)[0].lower()


LIVE = models.Q(removed_at__isnull=True)


class SyncedModel(models.Model):
    """Fields every synced Palette object carries, keyed by (account, uid)."""

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    uid = models.CharField(max_length=64)
    name = models.TextField()
    created_at = models.DateTimeField(null=True, blank=True, help_text="Palette creationTimestamp")
    modified_at = models.DateTimeField(null=True, blank=True, help_text="Palette lastModifiedTimestamp")
    raw = models.JSONField(default=dict, help_text="the object as Palette last returned it")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    removed_at = models.DateTimeField(
        null=True, blank=True, help_text="set only once its absence from a complete listing was confirmed"
    )
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="a complete listing lacked it, unconfirmed: one more, or a 404, removes it"
    )

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["account", "uid"], name="%(class)s_account_uid"),
        ]

    def __str__(self) -> str:
        return self.name


class Project(SyncedModel):
    """A Palette project: the scope that most fleet objects live in (REFERENCE.md 3, 7)."""

    class Meta(SyncedModel.Meta):
        ordering = ["name"]


class Cluster(SyncedModel):
    """A Palette cluster (spectrocluster), from the dashboard cluster search (REFERENCE.md 8)."""

    UNHEALTHY = "UnHealthy"  # as Palette spells it (REFERENCE.md 8)

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL)
    cloud_type = models.TextField(blank=True)
    state = models.TextField(blank=True)
    health = models.TextField(blank=True, help_text="empty when Palette does not know")
    kubernetes_version = models.TextField(blank=True)
    profiles = models.JSONField(default=list, help_text="[{uid, name, type, version}] the cluster runs")
    node_count = models.PositiveBigIntegerField(null=True, blank=True)  # a sum of int32 pool sizes
    nodes_healthy = models.PositiveBigIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    agent_version = models.TextField(blank=True)
    location = models.TextField(blank=True)
    state_since = models.DateTimeField(null=True, blank=True, help_text="first sync that saw the current state")
    health_since = models.DateTimeField(null=True, blank=True, help_text="first sync that saw the current health")

    class Meta(SyncedModel.Meta):
        ordering = ["name"]
        indexes = [
            models.Index(fields=["name"]),
            models.Index(fields=["removed_at", "name"]),
            # The pages filter and sort live rows; partial indexes keep them small (bench/README.md).
            *[
                models.Index(fields=[f, "name"], name=f"cluster_live_{f[:12]}", condition=LIVE)
                for f in ("state", "health", "cloud_type", "kubernetes_version", "project")
            ],
            # (name, id): the list's default order, and a deep page read by ids first (dashboard/lists.py)
            models.Index(fields=["name", "id"], name="cluster_live_name", condition=LIVE),
            models.Index(fields=["id"], name="cluster_live_id", condition=LIVE),  # "behind latest" semi-join
            models.Index(fields=["health", "health_since"], name="cluster_live_health_since", condition=LIVE),
            models.Index(fields=["heartbeat_at", "name"], name="cluster_live_heartbeat", condition=LIVE),
            models.Index(fields=["modified_at"], name="cluster_live_modified", condition=LIVE),
            # Counts of a page filtered on two or more of these read this index alone, not the wide
            # rows (two filters on 100k clusters: 106 ms -> 9 ms).
            models.Index(
                fields=["cloud_type", "state", "health", "project", "account"],
                name="cluster_live_facets",
                condition=LIVE,
            ),
            models.Index(fields=["-removed_at"], name="cluster_removed", condition=~LIVE),
        ]

    def health_age(self) -> str:
        """How long the current health has held, as far as the sync saw ("3+ hours": at least)."""
        return labels.held(self.health_since, self.first_seen_at)


class ClusterProfile(SyncedModel):
    """One version of a cluster profile: Palette gives every version its own uid (REFERENCE.md 9).

    The versions of one profile share `name` and owner; `versions` lists them as Palette links them,
    and `in_use_clusters` names the clusters on this version.
    """

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.SET_NULL, help_text="owner; empty for tenant profiles"
    )
    scope = models.TextField(blank=True, help_text="tenant | project | system")
    profile_type = models.TextField(blank=True, help_text="cluster | infra | add-on | system")
    cloud_type = models.TextField(blank=True)
    version = models.TextField(blank=True, help_text="this object's version")
    latest_version = models.TextField(blank=True, help_text="the newest version of the name")
    versions = models.JSONField(default=list, help_text="[{uid, version}] of every version of the name")
    packs = models.JSONField(default=list, help_text="[{name, layer, version}]")
    kubernetes_version = models.TextField(blank=True)
    in_use_clusters = models.JSONField(default=list, help_text="[{uid, name}] of clusters on this version")
    cluster_count = models.PositiveIntegerField(default=0)
    is_published = models.BooleanField(default=True)

    class Meta(SyncedModel.Meta):
        ordering = ["name", "version"]
        indexes = [
            models.Index(fields=["account", "name"]),
            # the profile list groups live versions by (account, name, owner): an index-only count
            models.Index(fields=["account", "name", "project"], name="profile_live_key", condition=LIVE),
        ]


class EdgeHost(SyncedModel):
    """An edge host as Palette sees it (REFERENCE.md 10), with room for its own Edge Host API's facts."""

    EdgeApiState = EdgeApiState  # dashboard.edge_states: the client, the sync and the pages share it

    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL)
    state = models.TextField(blank=True, help_text="ready | unpaired | in-use")
    health = models.TextField(blank=True, help_text="healthy | unhealthy; empty when unknown")
    health_message = models.TextField(blank=True)
    host_address = models.TextField(blank=True, help_text="spec.host.hostAddress")
    mac_address = models.TextField(blank=True)
    arch = models.TextField(blank=True)
    host_state = models.TextField(blank=True, help_text="registration | cluster | recovery")
    host_type = models.TextField(blank=True, help_text="appliance | agent-mode")
    os = models.TextField(blank=True)
    agent_version = models.TextField(blank=True)
    cluster_uid = models.TextField(blank=True)
    cluster_name = models.TextField(blank=True)
    site = models.TextField(blank=True, help_text="the site label (PALETTE_SITE_LABEL)")
    state_since = models.DateTimeField(null=True, blank=True)
    health_since = models.DateTimeField(null=True, blank=True)
    # Written by the Edge Host API reader (palette_sync.sync.edge_api), never by the Palette listing.
    edge_api_state = models.CharField(max_length=12, choices=EdgeApiState, default=EdgeApiState.UNKNOWN)
    edge_api_since = models.DateTimeField(null=True, blank=True, help_text="when edge_api_state last changed")
    edge_api_checked_at = models.DateTimeField(null=True, blank=True)
    edge_api_error = models.TextField(blank=True)
    edge_facts = models.JSONField(default=dict, blank=True, help_text="what the host's own API reported")
    edge_api_due_at = models.DateTimeField(
        null=True, blank=True, help_text="when the host's own API is read next (PALETTE_EDGE_INTERVAL, spread by uid)"
    )

    UNHEALTHY = "unhealthy"  # as Palette spells it (REFERENCE.md 10)
    API_PROBLEMS = EDGE_API_PROBLEMS

    # Fields the Palette sync never overwrites.
    EDGE_API_FIELDS = (
        "edge_api_state",
        "edge_api_since",
        "edge_api_checked_at",
        "edge_api_error",
        "edge_facts",
        "edge_api_due_at",
    )

    class Meta(SyncedModel.Meta):
        ordering = ["name"]
        indexes = [
            models.Index(fields=["account", "host_address"]),
            models.Index(fields=["removed_at", "name"]),
            *[
                models.Index(fields=[f, "name"], name=f"edgehost_live_{f[:12]}", condition=LIVE)
                for f in ("state", "health", "edge_api_state", "site", "project", "cluster_uid", "cluster_name", "os")
            ],
            models.Index(fields=["name", "id"], name="edgehost_live_name", condition=LIVE),
            models.Index(
                fields=["edge_api_since", "id"],
                name="edgehost_live_api_problem",
                condition=LIVE & models.Q(edge_api_state__in=EDGE_API_PROBLEMS),
            ),  # the overview's "own API cannot be read", oldest first
            models.Index(fields=["health", "health_since"], name="edgehost_live_health_since", condition=LIVE),
            models.Index(fields=["edge_api_state", "edge_api_since"], name="edgehost_live_api_since", condition=LIVE),
            # The edge probe schedule claims due hosts by this (palette_sync.sync.edge_api).
            models.Index(fields=["edge_api_due_at"], name="edgehost_live_api_due", condition=LIVE),
        ]

    @property
    def edge_api_problem(self) -> bool:
        """Whether the host's own API could not be read (not merely unchecked or without credentials)."""
        return self.edge_api_state in self.API_PROBLEMS


class EdgeCredential(models.Model):
    """How to log in to some edge hosts' own API (REFERENCE.md 13): an OS user, its password
    (sealed, never in plaintext) and which TLS certificates to trust.

    The password is bound to the account, scheme, port and trust (CA, fingerprint, insecure): a
    change of any of them clears it (dashboard/sealing.py).

    A host takes the most specific credential whose selector matches its Palette labels:
    `site=<name>` before any other `key=value`, and those before `*` (every host).
    """

    class Scheme(models.TextChoices):
        HTTPS = "https"
        HTTP = "http", "http (no TLS)"

    SECRET_TARGET = ("account", "scheme", "port", "ca_pem", "fingerprint", "insecure")

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    selector = models.CharField(max_length=200, help_text="site=store-0042, another label key=value, or *")
    username = models.CharField(max_length=255, default="kairos", help_text="the host's OS user")
    password_sealed = SealedSecretField(bound_to=SECRET_TARGET)
    ca_pem = models.TextField(blank=True, help_text="PEM of the CA (or self-signed certificates) to trust")
    fingerprint = models.CharField(max_length=100, blank=True, help_text="SHA-256 of the host certificate to pin")
    insecure = models.BooleanField(default=False, help_text="skip certificate checks (only if you must)")
    scheme = models.CharField(max_length=5, choices=Scheme, default=Scheme.HTTPS)
    port = models.PositiveIntegerField(default=5080)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "selector"], name="edgecredential_account_selector")]

    def __str__(self) -> str:
        return f"{self.account} {self.selector}"

    def set_password(self, plaintext: str) -> None:
        """Seal the password (saved with the next save(), bound to the target then)."""
        self._meta.get_field("password_sealed").seal(self, plaintext)

    def password(self) -> str:
        """The password in clear; "" when none, unreadable or stale."""
        return self._meta.get_field("password_sealed").open(self)

    @property
    def password_state(self) -> SecretState:
        return self._meta.get_field("password_sealed").state(self)

    @property
    def specificity(self) -> int:
        if self.selector.strip() == "*":
            return 0
        return 2 if self.selector.split("=", 1)[0].strip() == "site" else 1

    def matches(self, labels: dict) -> bool:
        if self.selector.strip() == "*":
            return True
        key, _, value = self.selector.partition("=")
        return str(labels.get(key.strip(), "")) == value.strip() and bool(value.strip())


class TimelineEntry(models.Model):
    """One line of the merged timeline: a Palette audit or event, or a change the sync observed.

    Unique on (account, kind, source_id): Palette's uid for audits and events, so an overlapping
    watermark window never duplicates a row; a per-run id for observed transitions.
    """

    class Kind(models.TextChoices):
        AUDIT = "audit"
        EVENT = "event"
        TRANSITION = "transition"
        EDGE = "edge"

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    kind = models.CharField(max_length=12, choices=Kind)
    source_id = models.TextField()
    occurred_at = models.DateTimeField()
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL)
    subject_kind = models.TextField(blank=True)
    subject_uid = models.TextField(blank=True)
    subject_name = models.TextField(blank=True)
    actor = models.TextField(blank=True)
    action = models.TextField(blank=True)
    severity = models.TextField(blank=True)
    message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "kind", "source_id"], name="timelineentry_account_kind_source"),
        ]
        indexes = [
            # Keyset paging reads (occurred_at, id) newest first under each filter (dashboard/keyset.py).
            models.Index(fields=["-occurred_at", "-id"], name="timeline_newest"),
            models.Index(fields=["account", "kind", "project", "-occurred_at"]),
            models.Index(fields=["kind", "-occurred_at", "-id"], name="timeline_kind_newest"),
            models.Index(fields=["severity", "-occurred_at", "-id"], name="timeline_severity_newest"),
            models.Index(fields=["subject_uid", "-occurred_at", "-id"], name="timeline_subject_newest"),
            models.Index(fields=["project", "-occurred_at", "-id"], name="timeline_project_newest"),
            models.Index(fields=["actor", "-occurred_at", "-id"], name="timeline_actor_newest"),
            models.Index(fields=["subject_kind", "-occurred_at", "-id"], name="timeline_subjkind_newest"),
            models.Index(fields=["account", "-occurred_at", "-id"], name="timeline_account_newest"),
        ]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.kind} {self.subject_name} {self.action}"

    @classmethod
    def watermark(cls, account: PaletteAccount, kind: str, project: Project | None = None) -> datetime | None:
        """The newest occurred_at stored for (account, kind[, project]): where the next listing resumes."""
        entries = cls.objects.filter(account=account, kind=kind)
        if project is not None:
            entries = entries.filter(project=project)
        return entries.aggregate(newest=Max("occurred_at"))["newest"]


class SyncRun(models.Model):
    """One pass of the sync over one (account, resource[, project]): what it saw and spent."""

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        PARTIAL = "partial"  # ended early; nothing was removed on the strength of it
        FAILED = "failed"
        SKIPPED = "skipped"  # another run of the same scope held the lock

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    resource = models.CharField(max_length=40)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    items = models.PositiveIntegerField(default=0, help_text="items received")
    added = models.PositiveIntegerField(default=0, help_text="rows new (or back) in this run")
    removed = models.PositiveIntegerField(default=0, help_text="rows marked removed by this run")
    transitions = models.PositiveIntegerField(default=0, help_text="timeline entries written")
    detail_reads = models.PositiveIntegerField(default=0)
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


class ProfileUse(models.Model):
    """One cluster running one cluster-profile version (REFERENCE.md 9), as the cluster listing says.

    A table, not a JSON join, so that "clusters behind their profile's latest version" and "the
    clusters on this version" are each one indexed query. `latest_version` and `behind` come from
    the profile's own row and are empty/None until that profile has been synced.
    """

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="profile_uses")
    profile_uid = models.CharField(max_length=64)
    name = models.TextField(blank=True)
    version = models.TextField(blank=True)
    latest_version = models.TextField(blank=True)
    behind = models.BooleanField(null=True, help_text="None: the profile is not synced, so unknown")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "profile_uid"], name="profileuse_cluster_profile")]
        indexes = [
            models.Index(fields=["account", "profile_uid"]),
            models.Index(fields=["cluster"], name="profileuse_behind", condition=models.Q(behind=True)),
        ]

    def __str__(self) -> str:
        return f"{self.cluster_id} runs {self.name} {self.version}"


class SyncScope(models.Model):
    """The latest word on one (account, resource[, project]): what its last run said, kept by the sync.

    Pages read freshness and banners from here (a few rows), never by aggregating SyncRun.
    """

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    resource = models.CharField(max_length=40)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE)
    last_run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_status = models.CharField(max_length=10, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    ok_started_at = models.DateTimeField(null=True, blank=True, help_text="start of the last complete listing")
    running_since = models.DateTimeField(null=True, blank=True)
    progress_items = models.PositiveIntegerField(default=0, help_text="items so far of the running listing")
    progress_total = models.PositiveIntegerField(null=True, blank=True, help_text="listmeta.count, when known")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "resource", "project"], name="syncscope_unique"),
            models.UniqueConstraint(
                fields=["account", "resource"], condition=models.Q(project__isnull=True), name="syncscope_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.resource} {self.project or 'tenant'}"


class FleetCount(models.Model):
    """How many live rows of a resource in one project have one value of one field (precomputed).

    Rewritten by the sync after each run of the (account, project, resource), so the overview's
    tiles are a sum over a few hundred rows rather than a GROUP BY over the whole fleet.
    """

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE)
    resource = models.CharField(max_length=20)  # clusters | edgehosts
    dimension = models.CharField(max_length=30)  # state | health | cloud_type | edge_api_state | behind | site
    value = models.TextField(blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["resource", "dimension"])]

    def __str__(self) -> str:
        return f"{self.resource} {self.dimension}={self.value}: {self.count}"


class SiteSummary(models.Model):
    """One edge site of a project (its hosts share the PALETTE_SITE_LABEL label value), recounted by
    the sync after each edge-host or edge API run of the project: the site roll-up pages over these
    rows, worst first, instead of grouping hundreds of thousands of hosts."""

    account = models.ForeignKey(PaletteAccount, on_delete=models.CASCADE)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE)
    site = models.TextField(blank=True, help_text="empty: hosts without the label")
    hosts = models.PositiveIntegerField(default=0)
    healthy = models.PositiveIntegerField(default=0)
    unhealthy = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0, help_text="health not reported")
    unreadable = models.PositiveIntegerField(default=0, help_text="own API unreachable, refusing login, ...")
    trouble = models.PositiveIntegerField(default=0, help_text="unhealthy + unreadable: the roll-up's order")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "project", "site"], name="sitesummary_project_site")]
        indexes = [models.Index(fields=["-trouble", "-unhealthy", "-hosts", "site"], name="sitesummary_worst")]

    def __str__(self) -> str:
        return f"{self.site or '(no site label)'}: {self.hosts} hosts"


class HealthSample(models.Model):
    """Unhealthy clusters and edge hosts over the whole fleet, one sample an hour (the overview's chart).

    Written from the counts each time the sync refreshes them; the last refresh of the hour stands.
    """

    hour = models.DateTimeField(unique=True)
    clusters_unhealthy = models.PositiveIntegerField(default=0)
    clusters_total = models.PositiveIntegerField(default=0)
    hosts_unhealthy = models.PositiveIntegerField(default=0)
    hosts_total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["hour"]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00}: {self.clusters_unhealthy} clusters, {self.hosts_unhealthy} hosts"


class SavedView(models.Model):
    """A named list view (page, filters, sort, columns as a query string), private or shared."""

    class Page(models.TextChoices):
        CLUSTERS = "clusters"
        EDGE_HOSTS = "edge_hosts", "edge hosts"
        PROFILES = "profiles"
        TIMELINE = "timeline"

    LIST_URLS = {
        Page.CLUSTERS: "dashboard:cluster_list",
        Page.EDGE_HOSTS: "dashboard:edgehost_list",
        Page.PROFILES: "dashboard:profile_list",
        Page.TIMELINE: "dashboard:timeline",
    }

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    page = models.CharField(max_length=20, choices=Page)
    query = models.TextField(blank=True, help_text="the list's query string, without the page number")
    shared = models.BooleanField(default=False, help_text="visible to every user")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["page", "name"]
        constraints = [models.UniqueConstraint(fields=["owner", "page", "name"], name="savedview_owner_page_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(self.LIST_URLS[self.page]) + (f"?{self.query}" if self.query else "")

    @classmethod
    def visible_to(cls, user: object, page: str) -> list["SavedView"]:
        """The user's own views of `page` and the shared ones, own first; each with its owner's
        `owner_name` (a name, not a user object: every list page reads these)."""
        views = cls.objects.filter(page=page).filter(models.Q(owner=user) | models.Q(shared=True))
        named = views.annotate(owner_name=models.F(f"owner__{get_user_model().USERNAME_FIELD}"))
        return sorted(named, key=lambda v: (v.owner_id != user.pk, v.name.lower()))
