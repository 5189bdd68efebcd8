from django import forms
from django.contrib import admin

from dashboard.models import (
    Cluster,
    ClusterProfile,
    EdgeCredential,
    EdgeHost,
    PaletteAccount,
    Project,
    SyncRun,
    TimelineEntry,
)


class PaletteAccountForm(forms.ModelForm):
    """The secret is write-only: typed in, sealed on save, never rendered back."""

    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="API key, or the password for username/password accounts. Leave empty to keep the stored one.",
    )

    class Meta:
        model = PaletteAccount
        fields = ["name", "api_url", "auth_mode", "username", "org", "enabled"]

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("secret") and not (self.instance and self.instance.has_secret):
            self.add_error("secret", "An API key or password is required.")
        return data

    def save(self, commit: bool = True) -> PaletteAccount:
        account = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            account.set_secret(self.cleaned_data["secret"])
        if commit:
            account.save()
        return account


@admin.register(PaletteAccount)
class PaletteAccountAdmin(admin.ModelAdmin):
    form = PaletteAccountForm
    list_display = ["name", "api_url", "auth_mode", "enabled", "has_secret", "org_name", "tenant_uid"]
    readonly_fields = ["tenant_uid", "org_name", "created_at"]

    @admin.display(boolean=True, description="secret stored")
    def has_secret(self, account: PaletteAccount) -> bool:
        return account.has_secret


class EdgeCredentialForm(forms.ModelForm):
    """The host password is write-only: typed in, sealed on save, never rendered back."""

    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The OS user's password on the edge hosts. Leave empty to keep the stored one.",
    )

    class Meta:
        model = EdgeCredential
        fields = ["account", "selector", "username", "scheme", "port", "ca_pem", "fingerprint", "insecure"]

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("password") and not (self.instance and self.instance.password_sealed):
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


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "uid", "last_seen_at", "removed_at"]
    search_fields = ["name", "uid"]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "cloud_type", "state", "health", "health_since", "kubernetes_version"]
    list_filter = ["cloud_type", "state", "health"]
    search_fields = ["name", "uid"]


@admin.register(ClusterProfile)
class ClusterProfileAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "latest_version", "project", "profile_type", "cloud_type", "cluster_count"]
    list_filter = ["profile_type", "cloud_type", "scope"]
    search_fields = ["name", "uid"]


@admin.register(EdgeHost)
class EdgeHostAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "state", "health", "host_address", "cluster_name", "edge_api_state"]
    list_filter = ["state", "health", "edge_api_state"]
    search_fields = ["name", "uid", "host_address"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "account", "kind", "subject_kind", "subject_name", "action", "severity"]
    list_filter = ["kind", "severity"]
    search_fields = ["subject_name", "subject_uid", "message"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "account", "resource", "project", "status", "items", "added", "removed", "throttled"]
    list_filter = ["resource", "status"]
