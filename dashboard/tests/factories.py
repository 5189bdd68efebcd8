"""Rows as the sync would write them, for tests that start from a database rather than a sync.

`ClusterFactory(project=p, health=Cluster.UNHEALTHY)` gives a live, just-seen cluster of p's account;
override what the test is about and let the rest be ordinary. Build many at once with
`ClusterFactory.build_batch(n, ...)` and `Cluster.objects.bulk_create`, as the sync does.
"""

import factory
from django.utils import timezone

from dashboard.models import Cluster, EdgeHost, PaletteAccount, Project


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaletteAccount
        django_get_or_create = ("name",)

    name = "acme"
    api_url = "https://palette.example"


class SyncedFactory(factory.django.DjangoModelFactory):
    """What every synced row has: an account, a uid, a name, and when the sync saw it."""

    account = factory.SubFactory(AccountFactory)
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)


class ProjectFactory(SyncedFactory):
    class Meta:
        model = Project

    uid = factory.Sequence(lambda n: f"p{n}")
    name = factory.Sequence(lambda n: f"project-{n}")


class ClusterFactory(SyncedFactory):
    class Meta:
        model = Cluster

    project = factory.SubFactory(ProjectFactory)
    account = factory.SelfAttribute("project.account")
    uid = factory.Sequence(lambda n: f"c{n}")
    name = factory.Sequence(lambda n: f"cluster-{n:04d}")
    cloud_type = "edge-native"
    state = "Running"
    health = "Healthy"
    kubernetes_version = "1.31.2"


class EdgeHostFactory(SyncedFactory):
    class Meta:
        model = EdgeHost

    project = factory.SubFactory(ProjectFactory)
    account = factory.SelfAttribute("project.account")
    uid = factory.Sequence(lambda n: f"h{n}")
    name = factory.Sequence(lambda n: f"edge-{n:04d}")
    state = "in-use"
    health = "healthy"
