"""Session tokens for `POST /v1/auth/authenticate` and `GET /v1/auth/refresh/{token}` (REFERENCE.md 2).

Tokens are JWT-shaped (header.payload.signature, HS256 over a per-process secret) and expire
on the simulator's clock, so a clock jump expires them as it would on a real server.
"""

import base64
import hashlib
import hmac
import json
import secrets
import threading


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, ttl_seconds: float = 900.0) -> None:
        self.ttl = ttl_seconds
        self.secret = secrets.token_bytes(32)
        self.generation = 0  # tokens of older generations are revoked
        self._lock = threading.Lock()

    def issue(self, subject: str, now: float, session: str | None = None, ttl: float | None = None) -> str:
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {
            "sub": subject,
            "sid": session or secrets.token_hex(8),
            "iat": int(now),
            "exp": int(now + (self.ttl if ttl is None else ttl)),
            "gen": self.generation,
            "jti": secrets.token_hex(6),
        }
        payload = b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = b64(hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{sig}"

    def verify(self, token: str, now: float) -> dict | None:
        """The token's claims when it is ours, unexpired and not revoked; else None."""
        try:
            header, payload, sig = token.split(".")
            expected = b64(hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(sig, expected):
                return None
            claims = json.loads(unb64(payload))
        except (ValueError, TypeError):
            return None
        if claims.get("gen") != self.generation or now >= claims.get("exp", 0):
            return None
        return claims

    def revoke_all(self) -> None:
        with self._lock:
            self.generation += 1
