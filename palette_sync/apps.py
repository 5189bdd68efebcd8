from django.apps import AppConfig


class PaletteSyncConfig(AppConfig):
    name = "palette_sync"
    verbose_name = "Palette sync"
