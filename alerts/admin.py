from django.contrib import admin

from alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Alerts, read-only: the evaluation writes them."""

    list_display = ("subject", "kind", "state", "since", "opened_at", "notified_at", "resolved_at", "attempts")
    list_filter = ("kind", "state")
    search_fields = ("subject", "key")
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
