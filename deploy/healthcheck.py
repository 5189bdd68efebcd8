"""A container health check: `python deploy/healthcheck.py URL` exits 0 when URL answers 200.

It asks the way the TLS proxy in front does, so the production settings let it through: the
site's host name (the first of ALLOWED_HOSTS) and `X-Forwarded-Proto: https` (with
SECURE_PROXY_SSL_HEADER set, no redirect to HTTPS). Redirects are not followed.
"""

import os
import sys
import urllib.error
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def site_host() -> str:
    host = os.getenv("ALLOWED_HOSTS", "localhost").split(",")[0].strip()
    return "localhost" if host in ("", "*") else host.lstrip(".")


def main(url: str) -> int:
    if not url.startswith("http://"):
        print(f"{url}: only plain http:// inside the deployment", file=sys.stderr)
        return 2
    request = urllib.request.Request(url, headers={"Host": site_host(), "X-Forwarded-Proto": "https"})  # noqa: S310
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=5) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"{url}: HTTP {status}", file=sys.stderr)
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
