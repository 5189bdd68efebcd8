"""Secrets at rest: one model field that keeps a secret Fernet-sealed and bound to where it is sent.

Palette API keys and passwords (`PaletteAccount`) and edge hosts' OS passwords (`EdgeCredential`)
are stored this way. The sealed text carries a digest of the fields that say where the secret goes
(an account's URL, an edge credential's port and trust, ...). Once any of them changes, whatever
changed it (the admin, the ORM, a command, a queryset update), the stored secret no longer opens,
and the next save clears it: it must be entered again for the new target. Otherwise anyone allowed
to edit an account could point its URL at their own server and receive the key on the next sync.
"""

import base64
import copy
import hashlib
import json
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


def secret_box() -> MultiFernet:
    """The Fernet keys that seal secrets: PALETTE_SECRET_KEY, else derived from SECRET_KEY.

    SECRET_KEY_FALLBACKS (Django's key rotation) still open secrets sealed with an older key.
    """
    return MultiFernet([Fernet(fernet_key(key)) for key in sealing_keys()])


def sealing_keys() -> list[str]:
    """The key material secrets are sealed with, the one in use first: PALETTE_SECRET_KEY, else
    SECRET_KEY and its SECRET_KEY_FALLBACKS."""
    explicit = getattr(settings, "PALETTE_SECRET_KEY", "")
    return [explicit] if explicit else [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def fernet_key(material: str) -> bytes:
    """A Fernet key from any string: a valid Fernet key is used as is, anything else is hashed."""
    try:
        Fernet(material)
        return material.encode()
    except (ValueError, TypeError):
        digest = hashlib.sha256(b"palette-fleet-dashboard/account-secret\x00" + material.encode()).digest()
        return base64.urlsafe_b64encode(digest)


def target_digest(values: list[str]) -> str:
    """A digest of where a secret goes; text is compared without surrounding space or CR/LF differences
    (a form strips and a browser sends CRLF, an import may not)."""
    normal = [value.replace("\r\n", "\n").strip() for value in values]
    return hashlib.sha256(json.dumps(normal).encode()).hexdigest()


def seal(plaintext: str, target: str) -> str:
    return secret_box().encrypt(json.dumps({"secret": plaintext, "target": target}).encode()).decode()


def unseal(token: str, target: str) -> str | None:
    """The secret, or None when it was sealed for another target (or before secrets were bound).

    Raises InvalidToken when no key of this install opens it.
    """
    opened = secret_box().decrypt(token.encode())
    try:
        payload = json.loads(opened)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("target") != target:
        return None
    return str(payload.get("secret", ""))


def rebind(token: str, target: str) -> str | None:
    """A secret sealed before secrets were bound, sealed again for `target` (migration 0013); None
    when it is bound already or no key of this install opens it."""
    try:
        opened = secret_box().decrypt(token.encode()).decode()
    except InvalidToken:
        return None
    try:
        payload = json.loads(opened)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and "target" in payload:
        return None
    return seal(opened, target)


class SecretState(StrEnum):
    NONE = "none"
    STORED = "stored"
    UNREADABLE = "unreadable"  # sealed under a key this install no longer has
    STALE = "stale"  # sealed for another target (a changed URL, port, trust, ...)


class SealedSecretField(models.TextField):
    """A secret stored Fernet-sealed, bound to the model fields named in `bound_to`.

    `seal(instance, plaintext)` sets it (sealed again at save, for the fields' values then);
    `open(instance)` gives it in clear, "" when there is none or it does not open for the current
    target; `state(instance)` says which.
    """

    def __init__(self, *args: object, bound_to: tuple[str, ...] = (), **kwargs: object) -> None:
        self.bound_to = tuple(bound_to)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple:
        # Stored as plain text: migrations need neither this class nor `bound_to` (behaviour, not schema).
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs

    def target(self, instance: models.Model) -> str:
        return target_digest([instance._meta.get_field(n).value_to_string(instance) for n in self.bound_to])

    def retargeted(self, instance: models.Model, changes: dict) -> bool:
        """Whether `changes` (field name -> new value) would move the secret to another target."""
        moved = copy.copy(instance)
        for name, value in changes.items():
            setattr(moved, name, value)
        return self.target(moved) != self.target(instance)

    def pending_key(self) -> str:
        return f"_{self.attname}_plaintext"

    def seal(self, instance: models.Model, plaintext: str) -> None:
        if plaintext:
            instance.__dict__[self.pending_key()] = plaintext
            setattr(instance, self.attname, seal(plaintext, self.target(instance)))
        else:
            instance.__dict__.pop(self.pending_key(), None)
            setattr(instance, self.attname, "")

    def open(self, instance: models.Model) -> str:
        if self.pending_key() in instance.__dict__:
            return instance.__dict__[self.pending_key()]
        token = getattr(instance, self.attname)
        if not token:
            return ""
        try:
            return unseal(token, self.target(instance)) or ""
        except InvalidToken:
            return ""

    def state(self, instance: models.Model) -> SecretState:
        if self.pending_key() in instance.__dict__:
            return SecretState.STORED
        token = getattr(instance, self.attname)
        if not token:
            return SecretState.NONE
        try:
            return SecretState.STORED if unseal(token, self.target(instance)) is not None else SecretState.STALE
        except InvalidToken:
            return SecretState.UNREADABLE

    def pre_save(self, instance: models.Model, add: bool) -> str:
        """Seal a newly set secret for the target as saved; clear one whose target changed."""
        plaintext = instance.__dict__.pop(self.pending_key(), None)
        if plaintext is not None:
            setattr(instance, self.attname, seal(plaintext, self.target(instance)))
        elif self.state(instance) is SecretState.STALE:
            setattr(instance, self.attname, "")
        return getattr(instance, self.attname)
