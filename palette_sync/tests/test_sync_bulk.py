"""bulk.insert stores what bulk_create stores, with bulk_create's three ways of meeting a stored row."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from dashboard.models import Cluster, EdgeHost, PaletteAccount, TimelineEntry
from palette_sync.sync import bulk

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
# What a raw document may hold that a literal must escape: quotes, backslashes, braces, commas, non-ASCII.
ODD = 'a "quoted" \\ back\\slash {brace}, comma; “curly” ünï 😀'


def cluster_values(account: PaletteAccount, uid: str) -> dict:
    return {
        "account_id": account.pk,
        "uid": uid,
        "name": ODD,
        "created_at": NOW - timedelta(days=3),
        "modified_at": None,
        "raw": {"metadata": {"uid": uid, "name": ODD}, "list": [1, 2.5, None, True, {"k": ODD}]},
        "first_seen_at": NOW,
        "last_seen_at": NOW,
        "state": "Running",
        "profiles": [{"uid": "p1", "name": ODD, "version": "1.0"}],
        "node_count": 3,
        "nodes_healthy": None,
        "heartbeat_at": datetime(2026, 3, 1, 14, 30, tzinfo=UTC).astimezone(),  # another offset, same instant
    }


def stored(model: type, **where: object) -> dict:
    row = model_to_dict(model.objects.get(**where))
    del row["id"]
    return row


def test_it_stores_what_bulk_create_stores(account: PaletteAccount) -> None:
    Cluster.objects.bulk_create([Cluster(**cluster_values(account, "by-orm"))])
    assert bulk.insert(Cluster, [cluster_values(account, "by-json")]) in (1, None)

    by_orm, by_json = stored(Cluster, uid="by-orm"), stored(Cluster, uid="by-json")
    assert by_json["raw"]["metadata"]["uid"] == "by-json"
    by_json["uid"], by_json["raw"]["metadata"]["uid"] = "by-orm", "by-orm"
    assert by_json == by_orm


def test_it_fills_the_defaults_of_fields_left_out(account: PaletteAccount) -> None:
    values = {"account_id": account.pk, "uid": "h1", "first_seen_at": NOW, "last_seen_at": NOW}
    EdgeHost.objects.bulk_create([EdgeHost(**{**values, "uid": "h0"})])
    bulk.insert(EdgeHost, [values])

    assert stored(EdgeHost, uid="h1") == {**stored(EdgeHost, uid="h0"), "uid": "h1"}


def test_it_skips_stored_rows_with_ignore_conflicts_and_counts_what_it_inserted(account: PaletteAccount) -> None:
    def entry(source_id: str, message: str) -> dict:
        values = {"account_id": account.pk, "kind": "event", "occurred_at": NOW}
        return {**values, "source_id": source_id, "message": message}

    bulk.insert(TimelineEntry, [entry("e1", "first")], ignore_conflicts=True)
    inserted = bulk.insert(TimelineEntry, [entry("e1", "again"), entry("e2", "new")], ignore_conflicts=True)

    assert inserted == (1 if bulk.counts_rows() else None)
    assert dict(TimelineEntry.objects.values_list("source_id", "message")) == {"e1": "first", "e2": "new"}


def test_it_updates_only_the_named_fields_on_conflict(account: PaletteAccount) -> None:
    bulk.insert(Cluster, [cluster_values(account, "c1")])
    later = {**cluster_values(account, "c1"), "state": "Deleting", "first_seen_at": NOW + timedelta(hours=1)}
    bulk.insert(Cluster, [later], update=["state"], unique=("account", "uid"))

    cluster = Cluster.objects.get(uid="c1")
    assert (cluster.state, cluster.first_seen_at) == ("Deleting", NOW)


def test_it_fails_on_a_stored_row_without_a_conflict_mode(account: PaletteAccount) -> None:
    bulk.insert(Cluster, [cluster_values(account, "c1")])

    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert(Cluster, [cluster_values(account, "c1")])
