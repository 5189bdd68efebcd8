"""An upgrade from the last release's schema keeps the rows (README "Upgrades").

The last release's schema is `dashboard` at 0003_edge_credentials (the state of 2026-11-27, before
the fleet-scale work), with no app of our own that came later. The test database is migrated back
to it, rows are written through the models as they were then (the migration state's historical
models), and the database is migrated forward to today's leaf, as `manage.py migrate` does on
upgrade: every row is still there, and reads back through today's models.
"""

from datetime import UTC, datetime

import pytest
from django.apps import apps as installed_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from conftest import ROOT

RELEASE = ("dashboard", "0003_edge_credentials")
SEEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def our_apps_with_migrations() -> list[str]:
    return [
        app.label
        for app in installed_apps.get_app_configs()
        if app.path.startswith(str(ROOT)) and (ROOT / app.label / "migrations").is_dir()
    ]


def migrate(targets: list[tuple[str, str | None]]) -> object:
    """Migrate the test database to `targets`; the apps (historical models) of the state reached."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def write_release_rows(old: object) -> dict:
    """An account, a project, a cluster, an edge host and a sync run, as the release wrote them."""
    seen = {"first_seen_at": SEEN, "last_seen_at": SEEN}
    account = old.get_model("dashboard", "PaletteAccount").objects.create(
        name="prod", api_url="https://api.spectrocloud.com", auth_mode="api_key", secret_sealed="gAAAA-sealed"
    )
    project = old.get_model("dashboard", "Project").objects.create(
        account=account,
        uid="p-1",
        name="Retail",
        raw={"metadata": {"uid": "p-1"}},
        **seen,
    )
    cluster = old.get_model("dashboard", "Cluster").objects.create(
        account=account, project=project, uid="c-1", name="store-0042", state="Running", health="UnHealthy", **seen
    )
    old.get_model("dashboard", "SyncRun").objects.create(
        account=account, project=project, resource="clusters", status="ok", finished_at=SEEN, items=1
    )
    host = old.get_model("dashboard", "EdgeHost").objects.create(
        account=account, project=project, uid="e-1", name="edge-1", state="InUse", health="Healthy", **seen
    )
    return {"account": account.pk, "cluster": cluster.pk, "host": host.pk}


@pytest.mark.django_db(transaction=True)
def test_it_upgrades_the_last_releases_schema_and_keeps_its_rows() -> None:
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    later_apps = [(label, None) for label in our_apps_with_migrations() if label != "dashboard"]
    old = migrate([RELEASE, *later_apps])
    assert "dashboard_fleetcount" not in connection.introspection.table_names()  # really the old schema
    made = write_release_rows(old)

    migrate(leaf)  # what `manage.py migrate` does on upgrade

    from dashboard.models import Cluster, EdgeHost, PaletteAccount, Project, SyncRun

    account = PaletteAccount.objects.get(pk=made["account"])
    assert (account.name, account.api_url, account.secret_sealed) == (
        "prod",
        "https://api.spectrocloud.com",
        "gAAAA-sealed",
    )
    cluster = Cluster.objects.select_related("project").get(pk=made["cluster"])
    assert (cluster.uid, cluster.name, cluster.state, cluster.health) == ("c-1", "store-0042", "Running", "UnHealthy")
    assert cluster.project.name == "Retail" and cluster.first_seen_at == SEEN
    assert Project.objects.get(uid="p-1").raw == {"metadata": {"uid": "p-1"}}
    assert SyncRun.objects.get(account=account).status == "ok"
    host = EdgeHost.objects.get(pk=made["host"])
    assert (host.uid, host.state, host.health, host.removed_at) == ("e-1", "InUse", "Healthy", None)
