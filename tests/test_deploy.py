"""deploy/ runs the project's real commands with its real settings.

No container engine here: the Containerfile, compose.yaml and the systemd units are parsed, and
every command they run is checked against the program that would run it — celery's own command
line parser with our app, Django's management commands and their parsers, gunicorn's
--check-config with our config file — and every environment variable they set is one the
project reads.
"""

import os
import re
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path

import click
import pytest
import yaml
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.core.management import get_commands, load_command_class
from django.urls import resolve

from config.celery import app as celery_app
from conftest import ROOT, free_port, stop, wait_for_port

DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
# Read by something other than our settings: the interpreter, pip, glibc, gunicorn.conf.py.
READ_ELSEWHERE = {
    "PYTHONDONTWRITEBYTECODE": "python",
    "PYTHONUNBUFFERED": "python",
    "PIP_NO_CACHE_DIR": "pip",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip",
    "MALLOC_ARENA_MAX": "glibc (README: threaded workers)",
}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def app_services() -> dict[str, dict]:
    """The services that run our image (not PostgreSQL or Redis)."""
    return {name: s for name, s in compose()["services"].items() if s.get("image") == "palette-fleet:latest"}


def units() -> dict[str, dict[str, list[str]]]:
    """Each systemd unit as {"Section.Key": [values]} (a key may repeat, as Environment= does)."""
    parsed = {}
    for path in sorted(UNITS.glob("*.service")):
        section, keys = "", {}
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            keys.setdefault(f"{section}.{key}", []).append(value)
        parsed[path.name] = keys
    return parsed


def unit_command(unit: dict[str, list[str]]) -> list[str]:
    """ExecStart as the program sees it: systemd's %i is an instance name, %% a literal %."""
    words = shlex.split(unit["Service.ExecStart"][0].replace("%i", "1").replace("%%", "%"))
    return [Path(words[0]).name, *words[1:]]


def unit_environment(unit: dict[str, list[str]]) -> dict[str, str]:
    pairs = [word.split("=", 1) for value in unit.get("Service.Environment", []) for word in shlex.split(value)]
    return dict(pairs)


def containerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) per instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Containerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            out.append((instruction.upper(), rest.strip()))
    return out


# --- what the commands are, checked by the programs that run them ---------------------------------------


def celery_command(args: list[str]) -> tuple[str, dict]:
    """(subcommand, its parsed options) as `celery` parses `args`; unknown options raise UsageError."""
    context = celery_cli.make_context("celery", list(args))
    assert context.params["app"] == "config"  # -A config: the project's Celery app
    context.obj = CLIContext(app=celery_app, no_color=True, workdir=None, quiet=True)
    with warnings.catch_warnings():  # click 8.2 moves the subcommand's words from protected_args to args
        warnings.simplefilter("ignore", DeprecationWarning)
        words = [*context.protected_args, *context.args]
    name, command, rest = celery_cli.resolve_command(context, words)
    return name, command.make_context(name, rest, parent=context).params


def check_manage_py(args: list[str]) -> str:
    """A manage.py command that exists here, with options its parser accepts."""
    assert args[:2] == ["python", "manage.py"], args
    name, rest = args[2], args[3:]
    assert name in get_commands(), f"no manage.py command {name!r}"
    load_command_class(get_commands()[name], name).create_parser("manage.py", name).parse_args(rest)
    return name


def check_gunicorn(args: list[str]) -> None:
    """gunicorn itself loads the config file and our WSGI app (--check-config) and says it is fine."""
    assert args[0] == "gunicorn" and "config.wsgi" in args
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", *args[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def check_command(args: list[str]) -> str:
    """What kind of process `args` starts: web, worker, beat or manage.py <command>."""
    if args[0] == "gunicorn":
        check_gunicorn(args)
        return "web"
    if args[0] == "celery":
        name, params = celery_command(args[1:])
        assert name in ("worker", "beat"), name
        if name == "worker":
            assert not params["beat"], "a worker with an embedded beat (-B) would be a second beat"
        return name
    return f"manage.py {check_manage_py(args)}"


def test_it_runs_the_real_commands_in_compose() -> None:
    kinds = {name: check_command(service["command"]) for name, service in app_services().items()}

    assert kinds == {"migrate": "manage.py migrate", "web": "web", "worker": "worker", "beat": "beat"}


def test_it_runs_the_real_commands_in_the_systemd_units() -> None:
    kinds = {name: check_command(unit_command(unit)) for name, unit in units().items()}

    assert kinds == {
        "palette-fleet-beat.service": "beat",
        "palette-fleet-web.service": "web",
        "palette-fleet-worker@.service": "worker",
    }


def test_it_runs_exactly_one_beat() -> None:
    celery = [s for s in app_services().values() if s["command"][0] == "celery"]
    beats = [s for s in celery if celery_command(s["command"][1:])[0] == "beat"]
    assert len(beats) == 1 and beats[0]["deploy"]["replicas"] == 1
    assert not any("-B" in s["command"] or "--beat" in s["command"] for s in app_services().values())
    beat_units = [name for name, unit in units().items() if unit_command(unit)[1:4] == ["-A", "config", "beat"]]
    assert beat_units == ["palette-fleet-beat.service"]  # not a template: one instance only


def test_its_workers_have_node_names_of_their_own() -> None:
    worker = units()["palette-fleet-worker@.service"]["Service.ExecStart"][0]
    assert "--hostname worker%i@%%h" in worker  # one node per instance and host
    _, params = celery_command(app_services()["worker"]["command"][1:])
    assert params["hostname"].startswith("worker@")  # compose: the container's host name


def test_its_healthchecks_ask_the_projects_health_endpoints() -> None:
    services = compose()["services"]
    paths = {}
    for name in ("web", "beat"):
        probe = " ".join(services[name]["healthcheck"]["test"])
        paths[name] = re.search(r"http://[\w.]+:8000(/\w+)", probe).group(1)

    assert paths == {"web": "/healthz", "beat": "/readyz"}
    for path in paths.values():
        assert resolve(path).url_name == path.strip("/")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    ping = shlex.split(services["worker"]["healthcheck"]["test"][1].replace("$$HOSTNAME", "host").split(">")[0])
    assert celery_command(ping[1:])[0] == "inspect"


def test_it_starts_web_workers_and_beat_after_the_migrations() -> None:
    services = compose()["services"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def settings_source() -> str:
    return (ROOT / "config" / "settings.py").read_text() + (DEPLOY / "gunicorn.conf.py").read_text()


def env_file_names() -> set[str]:
    lines = (DEPLOY / "palette-fleet.env.example").read_text().splitlines()
    return {line.lstrip("# ").split("=", 1)[0] for line in lines if re.match(r"#? ?[A-Z_]+=", line)}


def test_every_variable_it_sets_is_one_the_project_reads() -> None:
    names = env_file_names()
    for service in app_services().values():
        names |= set(service["environment"])
    for unit in units().values():
        names |= set(unit_environment(unit))
    names |= {re.split(r"[= ]", pair)[0] for kind, args in containerfile() if kind == "ENV" for pair in args.split()}

    source = settings_source()
    unread = sorted(n for n in names if f'"{n}"' not in source and n not in READ_ELSEWHERE)
    assert not unread, f"set in deploy/ but read by nothing: {unread}"
    assert {"SECRET_KEY", "PALETTE_SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= names


def test_secrets_come_from_the_environment_not_the_files() -> None:
    text = "\n".join(p.read_text() for p in DEPLOY.rglob("*") if p.is_file())
    assert re.search(r"^SECRET_KEY=$", (DEPLOY / "palette-fleet.env.example").read_text(), re.M)
    assert "${POSTGRES_PASSWORD:?" in text  # compose refuses to start without it
    for service in app_services().values():
        assert service["env_file"] == ["palette-fleet.env"]
        assert "SECRET_KEY" not in service["environment"]
    for unit in units().values():
        assert unit["Service.EnvironmentFile"] == ["/etc/palette-fleet/palette-fleet.env"]


def test_the_image_is_slim_unprivileged_and_starts_the_web_server() -> None:
    steps = containerfile()
    kinds = [kind for kind, _ in steps]
    assert steps[0] == ("FROM", "python:3.12-slim")
    user = [args for kind, args in steps if kind == "USER"]
    assert user and user[-1] not in ("root", "0")
    runs = " ".join(args for kind, args in steps if kind == "RUN")
    assert "pip install --no-compile -r requirements.txt" in runs
    assert "manage.py collectstatic --noinput" in runs
    assert kinds.index("USER") > max(i for i, kind in enumerate(kinds) if kind == "RUN")
    cmd = yaml.safe_load(dict(steps)["CMD"])  # exec form is a JSON (so YAML) list
    assert cmd == compose()["services"]["web"]["command"]
    check_command(cmd)


def test_collectstatic_as_the_image_runs_it_collects_the_pages_assets(tmp_path: Path) -> None:
    run = next(args for kind, args in containerfile() if kind == "RUN" and "collectstatic" in args)
    command = shlex.split(run.split("&&")[0])
    env_assignments = dict(word.split("=", 1) for word in command if re.match(r"^[A-Z_]+=", word))
    args = [word for word in command if not re.match(r"^[A-Z_]+=", word)]
    assert args[:2] == ["python", "manage.py"]
    done = subprocess.run(
        [sys.executable, *args[1:]],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env_assignments, "VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "staticfiles" / "css" / "app.css").exists()
    assert not (tmp_path / "secret_key").exists()  # the image carries no key of its own


@pytest.mark.parametrize("path", ["Containerfile", "compose.yaml", "gunicorn.conf.py"])
def test_it_names_no_machine_of_ours(path: str) -> None:
    assert "/work/" not in (DEPLOY / path).read_text()


def test_celery_refuses_an_option_it_does_not_know() -> None:
    """The check above would catch a typo in a unit or in compose.yaml."""
    with pytest.raises(click.UsageError):
        celery_command(["-A", "config", "worker", "--concurency", "16"])


def test_its_healthchecks_pass_the_production_settings(tmp_path: Path) -> None:
    """compose's health probes, run against gunicorn with the HTTPS production settings: /healthz
    passes (not refused for its Host, not redirected to HTTPS); /readyz fails while no worker runs."""
    port = free_port()
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECRET_KEY": "deploy-test-" + "k" * 50,
        "ALLOWED_HOSTS": "fleet.example.com",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    web = subprocess.Popen(
        [sys.executable, "-m", *compose()["services"]["web"]["command"]],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, web, timeout=60)
        outcomes = {}
        for name in ("web", "beat"):
            probe = compose()["services"][name]["healthcheck"]["test"][1:]
            probe = [re.sub(r"http://[\w.]+:8000", f"http://127.0.0.1:{port}", word) for word in probe]
            assert probe[:2] == ["python", "deploy/healthcheck.py"]
            deadline = time.monotonic() + 60  # as compose retries while a worker boots
            while True:
                done = subprocess.run([sys.executable, *probe[1:]], env=env, cwd=ROOT, capture_output=True, text=True)
                if "timed out" not in done.stderr or time.monotonic() > deadline:
                    break
            outcomes[name] = (done.returncode, done.stderr.strip())
    finally:
        stop(web)

    assert outcomes["web"] == (0, "")
    assert outcomes["beat"][0] == 1 and "HTTP 503" in outcomes["beat"][1]  # not ready: no worker, no sync
