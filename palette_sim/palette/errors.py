"""Errors the handlers raise and the JSON responses that carry them (REFERENCE.md 5)."""

import json
import secrets

from werkzeug.wrappers import Response


class BadRequest(ValueError):
    """A request Palette would refuse with 400."""


class ResourceNotFound(LookupError):
    """404 with code ResourceNotFound, as palette-sdk-go's IsNotFound expects."""


class Unauthorized(PermissionError):
    """401: missing, invalid, expired or revoked credentials."""


def not_found(what: str, uid: str) -> ResourceNotFound:
    return ResourceNotFound(f"{what} '{uid}' not found")


def error(status: int, code: str, message: str, details: dict | None = None) -> Response:
    """A `v1Error` body."""
    body = {"code": code, "message": message, "details": details or {}, "ref": secrets.token_hex(12)}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def ok(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json")
