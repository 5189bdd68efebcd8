"""The filter forms' widgets drawn in Python give the markup Django's widget templates give."""

import re

import pytest
from django.forms.renderers import DjangoTemplates
from django.http import QueryDict
from django.test import RequestFactory

from dashboard import filters, widgets
from dashboard.models import TimelineEntry
from dashboard.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db
HOSTILE = '"><script>alert(1)</script>'


def normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


@pytest.mark.parametrize(
    ("filterset", "query"),
    [
        (filters.ClusterFilter, f"q={HOSTILE}&heartbeat_older=1h&behind=on&kubernetes_version=1.3&state=Running"),
        (filters.EdgeHostFilter, "site=shop-1&no_site=on&unhealthy_for=bogus&edge_api_state=unreachable"),
        (filters.ProfileFilter, "behind=on&scope=project"),
        (
            filters.TimelineFilter,
            f"kind=audit&severity=warning&subject_kind=profile&actor={HOSTILE}&since=2026-11-01T10:00",
        ),
        (filters.ClusterFilter, ""),
    ],
)
def test_every_field_is_drawn_as_django_draws_it(filterset: type, query: str, admin_user) -> None:
    ProjectFactory(name=HOSTILE)
    request = RequestFactory().get("/")
    request.user = admin_user
    rows = (filterset._meta.model or TimelineEntry).objects.all()
    form = filterset(QueryDict(query), queryset=rows, request=request).form
    assert form.renderer is widgets.RENDERER
    drawn = 0
    for field in form:
        ours = field.as_widget()
        form.renderer = DjangoTemplates()
        theirs = field.as_widget()
        form.renderer = widgets.RENDERER
        assert normalized(ours) == normalized(theirs), field.name
        drawn += type(field.field.widget).__module__ == "django.forms.widgets"
    assert drawn >= 1  # some fields use Django's own widgets, drawn by the renderer
    assert "<script>" not in "".join(str(f) for f in form)
