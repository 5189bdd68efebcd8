"""Which edge credential reads which host, and what a probe batch carries of it (sealed)."""

import json

from dashboard.models import EdgeCredential, PaletteAccount
from palette_sync import edge


def has_edge_credentials(account: PaletteAccount) -> bool:
    return EdgeCredential.objects.filter(account=account).exists()


def credentials_of(account: PaletteAccount) -> list[EdgeCredential]:
    """The account's edge credentials, most specific first (`site=` before `key=value` before `*`)."""
    return sorted(EdgeCredential.objects.filter(account=account), key=lambda c: -c.specificity)


def credential_for(labels: dict, credentials: list[EdgeCredential]) -> EdgeCredential | None:
    """The most specific credential whose selector matches the host's labels."""
    return next((c for c in credentials if c.matches(labels if isinstance(labels, dict) else {})), None)


def sealed(credential: EdgeCredential) -> dict:
    """What a probe batch carries of a credential: the password stays sealed (PALETTE_SECRET_KEY)."""
    return {
        "account_id": credential.account_id,  # the password is bound to it (dashboard/sealing.py)
        "username": credential.username,
        "password_sealed": credential.password_sealed,
        "ca_pem": credential.ca_pem,
        "fingerprint": credential.fingerprint,
        "insecure": credential.insecure,
        "scheme": credential.scheme,
        "port": credential.port,
    }


def unsealed(values: dict) -> edge.EdgeAccess | None:
    """Client settings from a batch's credential; None when its password cannot be unsealed here."""
    bound = {name: values[name] for name in ("ca_pem", "fingerprint", "insecure", "scheme", "port")}
    credential = EdgeCredential(account_id=values.get("account_id"), password_sealed=values["password_sealed"], **bound)
    password = credential.password()  # no database involved
    if values["password_sealed"] and not password:
        return None
    return edge.EdgeAccess(
        username=values["username"],
        password=password,
        ca_pem=values["ca_pem"],
        fingerprint=values["fingerprint"],
        insecure=values["insecure"],
        scheme=values["scheme"],
        port=values["port"],
    )


def labels_of(host: dict) -> dict:
    """The host's Palette labels (`metadata.labels`), read as JSON text by the query."""
    labels = host.get("labels")
    if isinstance(labels, str):
        try:
            labels = json.loads(labels)
        except ValueError:
            return {}
    return labels if isinstance(labels, dict) else {}
