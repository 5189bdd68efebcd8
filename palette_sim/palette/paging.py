"""Opaque `continue` tokens and list pages (REFERENCE.md 4).

A token decodes like Palette's (base64 of {"offset", "count", "token"}); its inner `token` is a
signature over the listing it belongs to (path, scope, query and body), so a malformed or
foreign token is refused with 400, never answered with another listing's rows.
"""

import base64
import binascii
import hashlib
import hmac
import json

MAX_LIMIT = 50


class BadToken(ValueError):
    pass


def listing_key(path: str, scope: str | None, body: bytes, query: str = "") -> str:
    return f"{path}|{scope or ''}|{query}|{hashlib.sha256(body).hexdigest()}"


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


def listmeta(secret: bytes, key: str, next_offset: int, count: int, limit: int) -> dict:
    """`v1ListMetaData`; `continue` is "" on the last page."""
    more = next_offset < count
    return {
        "continue": make_token(secret, key, next_offset, count) if more else "",
        "count": count,
        "limit": limit,
        "offset": next_offset,
    }
