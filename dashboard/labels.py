"""How Palette's stored values read on a page: `UnHealthy` -> "Unhealthy", "" -> "unknown".

Pages filter on the stored value and show the readable one; a value nobody knows is "unknown",
never 0 and never healthy (issue: pages).
"""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.timesince import timesince

UNKNOWN = "unknown"

# Palette's spellings that a plain capitalisation would get wrong.
WORDS = {
    "aws": "AWS",
    "eks": "EKS",
    "aks": "AKS",
    "gcp": "GCP",
    "gke": "GKE",
    "azure": "Azure",
    "vsphere": "vSphere",
    "maas": "MAAS",
    "openstack": "OpenStack",
    "edge-native": "Edge native",
    "in-use": "In use",
    "unhealthy": "Unhealthy",
    "auth_failed": "Login refused",
    "tls_failed": "Certificate not trusted",
    "no_access": "No credentials",
    "bad_address": "Address refused",
    "edge_api_state": "Edge API",
    "edgehosts": "Edge hosts",  # sync sources, as the banner names them
    "edge_api": "Edge host API",
}

# The tone of a value: ok, bad, warn or unknown; the page shows an icon and the text beside the colour.
TONES = {
    "healthy": "ok",
    "running": "ok",
    "ready": "ok",
    "reachable": "ok",
    "ok": "ok",
    "unhealthy": "bad",
    "error": "bad",
    "failed": "bad",
    "unreachable": "bad",
    "auth_failed": "bad",
    "tls_failed": "bad",
    "bad_address": "bad",
    "provisioning": "warn",
    "pending": "warn",
    "deleting": "warn",
    "importing": "warn",
    "partial": "warn",
    "running_sync": "warn",
    "deleted": "unknown",
    "unknown": "unknown",
    "warning": "warn",
}
ICONS = {"ok": "✓", "bad": "✕", "warn": "!", "unknown": "?", "info": "·"}


def readable(value: object) -> str:
    """A stored Palette value as people read it."""
    if value is None or value == "":
        return UNKNOWN
    text = str(value)
    key = text.lower()
    if key in WORDS:
        return WORDS[key]
    return text[:1].upper() + text[1:].replace("_", " ") if not text[:1].isupper() else text


def tone(value: object) -> str:
    """ok | bad | warn | unknown: the colour class of a value (never its only signal)."""
    if value is None or value == "":
        return "unknown"
    return TONES.get(str(value).lower(), "info")


# Under four weeks no calendar month can have passed, and `timesince(depth=1)` says the largest whole
# unit: worked out here directly (a list page has a hundred ages; timesince costs ~20 µs each).
SHORT_UNITS = ((7 * 86400, "week"), (86400, "day"), (3600, "hour"), (60, "minute"))
FOUR_WEEKS = timedelta(days=28)


def age(moment: datetime | None) -> str:
    """ "3 hours" since `moment`; "under a minute"; "" when unknown."""
    if moment is None:
        return ""
    since = timezone.now() - moment
    if since < timedelta(minutes=1):
        return "under a minute"
    if since < FOUR_WEEKS:
        seconds = since.days * 86400 + since.seconds
        for size, unit in SHORT_UNITS:
            if n := seconds // size:
                return f"{n}\xa0{unit}{'' if n == 1 else 's'}"
    return timesince(moment, depth=1)


def held(since: datetime | None, first_seen: datetime | None) -> str:
    """How long a value has held, as far as the sync saw: "3 hours", or "3+ hours" when it already
    held when the row was first seen (Palette keeps no such history)."""
    text = age(since)
    if not text or text == "under a minute" or first_seen is None or since > first_seen:
        return text
    number, _, unit = text.partition("\xa0")
    return f"{number}+\xa0{unit}"
