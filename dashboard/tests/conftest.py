"""Fixtures for the page tests: a signed-in user, and a fleet synced into the database by the real
sync from the simulator (in-process), so pages are tested on what the sync really writes."""

import time

import httpx
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from conftest import SIM_KEY
from dashboard.models import PaletteAccount
from palette_sim import Fleet, SimApp, generate_fleet
from palette_sync import sync
from palette_sync.client import PaletteClient


@pytest.fixture
def member(client: Client, db: None) -> Client:
    """A client signed in as an ordinary user."""
    client.force_login(User.objects.create_user("alice", password="pw-for-tests-only"))
    return client


@pytest.fixture
def operator(client: Client, db: None) -> Client:
    """A client signed in as a user with the operator role (saved views, wall screens)."""
    user = User.objects.create_user("olivia", password="pw-for-tests-only")
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    client.force_login(user)
    return client


@pytest.fixture
def synced_fleet(db: None) -> Fleet:
    """A small simulated fleet (clusters, profiles, edge hosts, audits, events), synced twice with churn
    between the syncs, so there are transitions as well as rows."""
    fleet = generate_fleet(seed=11, projects=2, clusters=40, profiles=8, edge_hosts=30, audits=600, anchor=time.time())
    account = PaletteAccount.objects.create(name="sim", api_url="http://sim")
    app = SimApp(fleet, SIM_KEY, churn=5.0, control_key="ck")
    control = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://sim")
    with PaletteClient("http://sim", SIM_KEY, transport=httpx.WSGITransport(app=app)) as client:
        sync.sync_account(account, client)
        control.post("/__sim/clock", json={"advance": 120}, headers={"X-Sim-Control-Key": "ck"}).raise_for_status()
        sync.sync_account(account, client)
    return fleet


def forget_all_but_the_banner() -> None:
    """Drop what `freshness.kept` holds but the banners: the next request reads the rest afresh, so a
    test can count their queries apart from the banner's."""
    from dashboard import freshness

    for key in [k for k in freshness._kept if k[0] != "banner"]:
        del freshness._kept[key]
