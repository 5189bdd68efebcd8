"""`manage.py check --deploy`: the key that seals stored secrets is strong enough."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_palette_secret_key(app_configs: object, **kwargs: object) -> list[Warning]:
    """PALETTE_SECRET_KEY is a Fernet key or a long random string (it is hashed into one)."""
    key = settings.PALETTE_SECRET_KEY
    if not key:
        return []
    try:
        Fernet(key)
        return []
    except (ValueError, TypeError):
        pass
    if len(key) >= 32 and len(set(key)) >= 8:
        return []
    return [
        Warning(
            "PALETTE_SECRET_KEY is short or repetitive: the stored API keys and passwords are only as safe as it.",
            hint='Use a Fernet key: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())"',
            id="security.palette.W001",
        )
    ]
