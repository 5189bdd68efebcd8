"""`manage.py sync_palette --once` end to end: the command, the simulator over a socket, the database
(PostgreSQL in CI). What each source copies is specified in palette_sync/tests/test_sync_*.py."""

import pytest
from django.core.management import call_command

from dashboard.models import Cluster, SyncRun

pytestmark = pytest.mark.django_db


def test_it_runs_once_from_the_command_line(sim_server, settings, capsys) -> None:
    settings.PALETTE_API_URL = sim_server.url
    settings.PALETTE_API_KEY = sim_server.api_key
    call_command("sync_palette", "--once")

    assert Cluster.objects.count() == Cluster.objects.filter(removed_at__isnull=True).count() > 100
    assert SyncRun.objects.filter(resource="clusters", status="ok").count() == 3  # the simulator's 3 projects
    assert "clusters" in capsys.readouterr().out
