from django.contrib import admin

from dashboard.models import Cluster, PaletteAccount, Project, SyncRun


@admin.register(PaletteAccount)
class PaletteAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "api_url", "org_name", "tenant_uid"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "uid", "last_seen_at", "removed_at"]
    search_fields = ["name", "uid"]


@admin.register(Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "cloud_type", "state", "health", "kubernetes_version"]
    list_filter = ["cloud_type", "state", "health"]
    search_fields = ["name", "uid"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "account", "resource", "project", "status", "items", "throttled"]
    list_filter = ["resource", "status"]
