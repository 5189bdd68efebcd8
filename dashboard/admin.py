from django import forms
from django.contrib import admin
from django.http import HttpRequest

from dashboard.models import (
    Cluster,
    ClusterProfile,
    EdgeCredential,
    EdgeHost,
    Project,
    SyncRun,
    TimelineEntry,
)
from dashboard.sealing import SecretState


class EdgeCredentialForm(forms.ModelForm):
    """The host password is write-only: typed in, sealed on save, never rendered back. It is bound to
    the account, scheme, port and trust: changing any of them needs the password again."""

    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The OS user's password on the edge hosts. Leave empty to keep the stored one, unless you "
        "change the account, scheme, port, CA, fingerprint or insecure: then enter it again.",
    )

    class Meta:
        model = EdgeCredential
        fields = ["account", "selector", "username", "scheme", "port", "ca_pem", "fingerprint", "insecure"]

    def clean(self) -> dict:
        data = super().clean()
        sealed = EdgeCredential._meta.get_field("password_sealed")
        changes = {name: data[name] for name in EdgeCredential.SECRET_TARGET if name in data}
        if not data.get("password"):
            if self.instance.pk and sealed.retargeted(self.instance, changes):
                self.add_error(
                    "password", "Enter the password again: the account, scheme, port or trust settings changed."
                )
            elif self.instance.password_state is not SecretState.STORED:
                self.add_error("password", "A password is required.")
        trusted = data.get("ca_pem") or data.get("fingerprint") or data.get("insecure")
        if data.get("scheme") == "https" and not trusted:
            self.add_error("ca_pem", "Give a CA certificate or a fingerprint to trust, or tick insecure explicitly.")
        return data

    def save(self, commit: bool = True) -> EdgeCredential:
        credential = super().save(commit=False)
        if self.cleaned_data.get("password"):
            credential.set_password(self.cleaned_data["password"])
        if commit:
            credential.save()
        return credential


@admin.register(EdgeCredential)
class EdgeCredentialAdmin(admin.ModelAdmin):
    form = EdgeCredentialForm
    list_display = ["selector", "account", "username", "scheme", "port", "trust"]

    @admin.display(description="trusts")
    def trust(self, credential: EdgeCredential) -> str:
        if credential.scheme == "http":
            return "no TLS"
        if credential.insecure:
            return "anything (insecure)"
        return "pinned fingerprint" if credential.fingerprint else "CA certificate"


class SyncedAdmin(admin.ModelAdmin):
    """Rows the sync writes: readable here, never added, changed or deleted by hand (only the sync
    writes them, and it would overwrite or resurrect a hand edit)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(SyncedAdmin):
    list_display = ["name", "account", "uid", "last_seen_at", "removed_at"]
    search_fields = ["name", "uid"]


@admin.register(Cluster)
class ClusterAdmin(SyncedAdmin):
    list_display = ["name", "project", "cloud_type", "state", "health", "health_since", "kubernetes_version"]
    list_filter = ["cloud_type", "state", "health"]
    search_fields = ["name", "uid"]


@admin.register(ClusterProfile)
class ClusterProfileAdmin(SyncedAdmin):
    list_display = ["name", "version", "latest_version", "project", "profile_type", "cloud_type", "cluster_count"]
    list_filter = ["profile_type", "cloud_type", "scope"]
    search_fields = ["name", "uid"]


@admin.register(EdgeHost)
class EdgeHostAdmin(SyncedAdmin):
    list_display = ["name", "project", "state", "health", "host_address", "cluster_name", "edge_api_state"]
    list_filter = ["state", "health", "edge_api_state"]
    search_fields = ["name", "uid", "host_address"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(SyncedAdmin):
    list_display = ["occurred_at", "account", "kind", "subject_kind", "subject_name", "action", "severity"]
    list_filter = ["kind", "severity"]
    search_fields = ["subject_name", "subject_uid", "message"]


@admin.register(SyncRun)
class SyncRunAdmin(SyncedAdmin):
    list_display = ["started_at", "account", "resource", "project", "status", "items", "added", "removed", "throttled"]
    list_filter = ["resource", "status"]
