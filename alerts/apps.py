from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        import logging

        from alerts.notify import RedactAlertUrls

        logging.getLogger("apprise").addFilter(RedactAlertUrls())
