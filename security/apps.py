from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Web security"

    def ready(self) -> None:
        from security import lockout, sessions  # noqa: F401  (connect their signal receivers)
