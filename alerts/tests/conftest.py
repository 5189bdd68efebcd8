"""A real HTTP receiver on loopback that records what it is sent, and fleet rows to alert on."""

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from conftest import free_port
from dashboard.models import Cluster, PaletteAccount, Project


class Receiver:
    """An http.server thread on 127.0.0.1 that records every POST (path and JSON body).

    `stop()` closes the port (a receiver that is down: connections are refused); `start()` opens
    it again on the same port.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.posts: list[dict] = []
        self.arrived = threading.Condition()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/secret-token-123"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.arrived:
                    receiver.posts.append({"path": self.path, "json": json.loads(body or b"null")})
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        """Wait until `count` POSTs have arrived (a condition, not a sleep)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.posts) >= count, timeout=timeout):
                raise TimeoutError(f"{len(self.posts)} POSTs arrived, waited for {count}")
        return self.posts

    def events(self) -> list[tuple[str, str]]:
        """(event, subject) of every plain webhook POST received."""
        return [(p["json"]["event"], p["json"]["subject"]) for p in self.posts if "event" in (p["json"] or {})]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def webhook(settings: object, receiver: Receiver) -> Receiver:
    """Alerts go to the receiver as plain JSON POSTs, at any hour, for every project."""
    settings.ALERT_WEBHOOK_URLS = receiver.url
    settings.ALERT_URLS = ""
    settings.ALERT_QUIET_HOURS = ""
    settings.ALERT_PROJECTS = set()
    settings.ALERT_GRACE = 600
    return receiver


@pytest.fixture
def account(db: None) -> PaletteAccount:
    return PaletteAccount.objects.create(name="acme", api_url="https://palette.example.com")


def project(account: PaletteAccount, name: str) -> Project:
    now = timezone.now()
    return Project.objects.create(account=account, uid=f"uid-{name}", name=name, first_seen_at=now, last_seen_at=now)


def cluster(
    account: PaletteAccount, name: str, *, health: str, since: datetime, proj: Project | None = None
) -> Cluster:
    now = timezone.now()
    return Cluster.objects.create(
        account=account,
        uid=f"uid-{name}",
        name=name,
        project=proj,
        health=health,
        health_since=since,
        first_seen_at=now - timedelta(days=1),
        last_seen_at=now,
    )
