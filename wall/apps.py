from django.apps import AppConfig


class WallConfig(AppConfig):
    name = "wall"
    verbose_name = "Wall screens"
    default_auto_field = "django.db.models.BigAutoField"
