"""Opaque `continue` tokens (REFERENCE.md 4).

A token decodes like Palette's (base64 of {"offset", "count", "token"}); its inner `token` is a
signature over the listing it belongs to, so a malformed or foreign token is refused, never
answered with another listing's rows.
"""

import base64
import binascii
import hashlib
import hmac
import json

MAX_LIMIT = 50


class BadToken(ValueError):
    pass


def listing_key(path: str, scope: str | None, body: bytes) -> str:
    return f"{path}|{scope or ''}|{hashlib.sha256(body).hexdigest()}"


def make_token(secret: bytes, key: str, offset: int, count: int) -> str:
    sig = hmac.new(secret, f"{key}|{offset}".encode(), hashlib.sha256).hexdigest()[:24]
    raw = json.dumps({"offset": offset, "count": count, "token": sig}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def read_token(secret: bytes, key: str, token: str) -> int:
    """The offset a token stands for, or BadToken."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        offset, sig = int(data["offset"]), str(data["token"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise BadToken("malformed continue token") from exc
    expected = hmac.new(secret, f"{key}|{offset}".encode(), hashlib.sha256).hexdigest()[:24]
    if offset < 0 or not hmac.compare_digest(sig, expected):
        raise BadToken("continue token does not belong to this listing")
    return offset


def page(items: list, offset: int, limit: int, secret: bytes, key: str) -> dict:
    """One page of `items` with Palette's `listmeta`."""
    chunk = items[offset : offset + limit]
    next_offset = offset + len(chunk)
    more = next_offset < len(items)
    return {
        "items": chunk,
        "listmeta": {
            "continue": make_token(secret, key, next_offset, len(items)) if more else "",
            "count": len(items),
            "limit": limit,
            "offset": next_offset,
        },
    }
