from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations: health, metrics, logs"

    def ready(self) -> None:
        from ops import heartbeat

        heartbeat.connect()
