"""Stored secrets are bound to where they are sent (dashboard/sealing.py): the ones stored before are
sealed again, bound to each row's target as it is now. Secrets no key here opens are left as they are."""

import json

from cryptography.fernet import InvalidToken
from django.db import migrations

from dashboard.sealing import rebind, secret_box, target_digest

# As PaletteAccount.SECRET_TARGET and EdgeCredential.SECRET_TARGET were when this was written.
TARGETS = {
    "PaletteAccount": ("secret_sealed", ("api_url", "auth_mode", "ca_pem")),
    "EdgeCredential": ("password_sealed", ("account_id", "scheme", "port", "ca_pem", "fingerprint", "insecure")),
}


def bind(apps: object, schema_editor: object) -> None:
    for model_name, (column, target) in TARGETS.items():
        model = apps.get_model("dashboard", model_name)
        for row in model.objects.exclude(**{column: ""}).iterator():
            bound = rebind(getattr(row, column), target_digest([str(getattr(row, name)) for name in target]))
            if bound is not None:
                model.objects.filter(pk=row.pk).update(**{column: bound})


def unbind(apps: object, schema_editor: object) -> None:
    box = secret_box()
    for model_name, (column, _target) in TARGETS.items():
        model = apps.get_model("dashboard", model_name)
        for row in model.objects.exclude(**{column: ""}).iterator():
            try:
                payload = json.loads(box.decrypt(getattr(row, column).encode()))
            except (InvalidToken, ValueError):
                continue
            if isinstance(payload, dict) and "secret" in payload:
                plain = box.encrypt(str(payload["secret"]).encode()).decode()
                model.objects.filter(pk=row.pk).update(**{column: plain})


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0012_trigram_search")]

    operations = [migrations.RunPython(bind, unbind, elidable=True)]
