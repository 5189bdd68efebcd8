"""Which build of the product is serving: a wall display reloads itself when this changes (a deploy)."""

import functools
import hashlib
import os

from django.conf import settings

SOURCES = ("wall", "dashboard", "templates", "static", "config")
SUFFIXES = (".py", ".html", ".js", ".css")


@functools.cache
def build_id() -> str:
    """BUILD_ID from the environment (a release tag, a commit), else a digest of the code and templates."""
    explicit = os.getenv("BUILD_ID", "").strip()
    if explicit:
        return explicit[:64]
    digest = hashlib.sha256()
    for top in SOURCES:
        for folder, _dirs, files in sorted(os.walk(settings.BASE_DIR / top)):
            for name in sorted(files):
                if name.endswith(SUFFIXES):
                    path = os.path.join(folder, name)
                    digest.update(os.path.relpath(path, settings.BASE_DIR).encode())
                    with open(path, "rb") as f:
                        digest.update(f.read())
    return digest.hexdigest()[:16]
