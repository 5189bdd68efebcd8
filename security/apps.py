from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Web security"

    def ready(self) -> None:
        from security import checks, lockout, sessions  # noqa: F401  (register the check, connect the receivers)
