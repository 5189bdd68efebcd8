"""Template helpers of the fleet pages: readable values, state badges, ages."""

import json
from datetime import datetime
from urllib.parse import quote

from django import template
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from dashboard import labels, markup
from dashboard.cells import cell_renderers
from dashboard.links import detail_url, list_url

register = template.Library()


@register.filter
def readable(value: object) -> str:
    return labels.readable(value)


@register.simple_tag
def badge(value: object, label: str = "") -> str:
    """A state badge: colour, icon and text together (colour is never the only signal)."""
    tone = labels.tone(value)  # and its icon: names from labels' own tables, markup as they are
    text = markup.escape(label or labels.readable(value))
    icon = labels.ICONS.get(tone, "·")
    icon_span = f'<span class="icon" aria-hidden="true">{icon}</span>'
    return SafeString(f'<span class="badge tone-{tone}">{icon_span}{text}</span>')


age = register.filter("age", labels.age)


@register.simple_tag
def when(moment: datetime | None, empty: str = "unknown") -> str:
    """A <time> with the exact moment in its title and its age as text."""
    if moment is None:
        return markup.html('<span class="muted">{}</span>', empty)
    # Digits, signs, time zone and unit names: nothing to escape.
    return SafeString(f'<time datetime="{moment.isoformat()}" title="{exact(moment)}">{age(moment)} ago</time>')


def exact(moment: datetime | None) -> str:
    """A moment as a title says it, in the local time zone ("" when unknown)."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else ""


@register.simple_tag
def path(name: str, uid: object = "") -> str:
    """`{% url %}` for the paths a page links to many times: a page's path reversed once, a row's
    page with its uid put in (`dashboard.links`): about 0.1 ms less a link."""
    return detail_url(name, str(uid)) if uid != "" else list_url(name)


@register.filter
def pretty_json(value: object) -> str:
    """JSON indented for reading (escaped by the template like any text)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.simple_tag
def table_rows(table: object) -> str:
    """The `<tr>`s of a table's page, drawn in Python (a template loop per cell costs a 50-row page
    ~10 ms): each cell as django-tables2 renders it (`dashboard.cells`), each column's `td`
    attributes computed once."""
    columns = [(f"<td {column.attrs['td'].as_html()}>", render) for column, render in cell_renderers(table)]
    rows = [
        "<tr>" + "".join(f"{td}{markup.escape(render(row))}</td>" for td, render in columns) + "</tr>"
        for row in table.paginated_rows
    ]
    if not rows:
        return markup.html('<tr><td class="empty" colspan="{}">{}</td></tr>', len(columns), table.empty_text)
    return mark_safe("".join(rows))  # noqa: S308 (every cell escaped, or markup its renderer marked safe)


@register.simple_tag
def filter_fields(form: object, *skip: str, after_error: str = "") -> str:
    """The fields of a list's filter form but `skip`, each with its label and errors (each followed
    by `after_error`), drawn in Python (a template loop over a dozen fields with their conditions
    cost a list page about 4 ms)."""
    fields = (filter_field(field, after_error) for field in form if field.name not in skip)
    return mark_safe("".join(fields))  # noqa: S308 (each field built by markup)


def filter_field(field: object, after_error: str = "") -> str:
    widget = field.field.widget
    checkbox = getattr(widget, "input_type", None) == "checkbox"
    control = markup.escape(field.as_widget())  # the widget's own markup (dashboard.widgets)
    if checkbox and not getattr(widget, "allow_multiple_selected", False):
        labelled = markup.html('<label class="check">{} {}</label>', control, field.label)
    elif checkbox:
        labelled = markup.html("<fieldset><legend>{}</legend>{}</fieldset>", field.label, control)
    else:
        labelled = markup.html('<label for="{}">{}</label>{}', field.id_for_label, field.label, control)
    errors = markup.join("", '<p class="field-error">{}{}</p>', ((error, after_error) for error in field.errors))
    return f'<div class="field{" invalid" if field.errors else ""}">{labelled}{errors}</div>'


# -- The overview's rows and tiles, drawn in Python (its template loops cost the page about 10 ms) --


@register.simple_tag
def unhealthy_cluster_rows(clusters: list) -> str:
    return markup.join(
        "",
        '<tr><td class="name"><a href="{}">{}</a></td><td>{}</td>'
        '<td><span class="bad-text" title="since {}">✕ {}</span></td><td>{}</td></tr>',
        (
            (
                detail_url("dashboard:cluster_detail", c.uid),
                c.name,
                (c.project.name if c.project else "") or "—",
                exact(c.health_since),
                c.health_age() or "unknown",
                when(c.heartbeat_at),
            )
            for c in clusters
        ),
    )


@register.simple_tag
def unhealthy_host_rows(hosts: list) -> str:
    return markup.join(
        "",
        '<tr><td class="name"><a href="{}">{}</a></td><td>{}</td>'
        '<td><span class="bad-text" title="since {}">✕ {}</span></td><td class="message">{}</td></tr>',
        (
            (
                detail_url("dashboard:edgehost_detail", h.uid),
                h.name,
                h.site or "—",
                exact(h.health_since),
                age(h.health_since) or "unknown",
                h.health_message or "—",
            )
            for h in hosts
        ),
    )


@register.simple_tag
def behind_rows(uses: list) -> str:
    cluster_page, profile_page = "dashboard:cluster_detail", "dashboard:profile_detail"
    return markup.join(
        "",
        '<tr><td class="name"><a href="{}">{}</a></td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
        (
            (
                detail_url(cluster_page, u.cluster.uid),
                u.cluster.name,
                detail_url(profile_page, u.profile_uid),
                u.name,
                u.version,
                u.latest_version,
            )
            for u in uses
        ),
    )


@register.simple_tag
def api_problem_rows(hosts: list) -> str:
    return markup.join(
        "",
        '<tr><td class="name"><a href="{}">{}</a></td><td>{} <small class="since">for {}</small></td>'
        '<td class="message">{}</td></tr>',
        (
            (
                detail_url("dashboard:edgehost_detail", h.uid),
                h.name,
                badge(h.edge_api_state),
                age(h.edge_api_since) or "unknown",
                h.edge_api_error or "—",
            )
            for h in hosts
        ),
    )


@register.simple_tag
def tiles(group: list, badged: bool = False) -> str:
    """Count tiles linking to their filtered lists; a value's tile shows its badge."""
    return markup.join(
        "",
        '<a class="tile" href="{}"><span class="n">{}</span><span class="what">{}</span></a>',
        ((t.url, number(t.count), badge(t.value, t.label) if badged else t.label) for t in group),
    )


@register.simple_tag
def lagging_rows(uses: list) -> str:
    """The `<tr>`s of a profile's clusters behind its latest version (up to 100 a page), drawn in Python."""
    return mark_safe("".join(lagging_row(use) for use in uses))  # noqa: S308 (each row built by markup)


def lagging_row(use: object) -> str:
    cluster = use.cluster
    project = cluster.project.name if cluster.project else ""
    return markup.html(
        '<tr><td class="name"><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
        detail_url("dashboard:cluster_detail", cluster.uid),
        cluster.name,
        project or "—",
        use.version or "unknown",
        use.latest_version or "unknown",
        badge(cluster.health),
        when(cluster.heartbeat_at),
    )


@register.simple_tag
def site_table_rows(sites: list) -> str:
    """The `<tr>`s of the site roll-up, drawn in Python (a template row of six counts and a bar cost
    a page of 50 sites about 20 ms)."""
    return mark_safe("".join(site_row(site) for site in sites))  # noqa: S308 (each row built by markup)


def site_row(site: object) -> str:
    if site.site:
        label = markup.html("<bdi>{}</bdi>", site.site)
    else:
        label = markup.html('<span class="muted">{}</span>', site.name)
    name = markup.html('<td class="name"><a href="{}" title="{}">{}</a></td>', site.url, site.name, label)
    counts = (
        "".join(f'<td class="num">{number(n)}</td>' for n in (site.total, site.healthy))
        + worrying(site.unhealthy)
        + f'<td class="num">{number(site.unknown)}</td>'
        + worrying(site.unreachable)
    )
    said = (
        f"{site.healthy} healthy, {site.unhealthy} unhealthy, {site.unknown} health unknown; "
        f"{site.unreachable} of {site.total} edge API unreachable"
    )
    segments = "".join(
        f'<rect class="seg-{tone}" x="{x}" y="0" width="{width}" height="9"></rect>' for tone, x, width in site.bar
    )
    unreachable = (
        f'<rect class="seg-bad" x="0" y="11" width="{site.unreachable_width}" height="3"></rect>'
        if site.unreachable
        else ""
    )
    bar = (
        f'<svg class="sitebar" viewBox="0 0 100 14" preserveAspectRatio="none" role="img" aria-label="{said}">'
        f'{segments}<rect class="seg-track" x="0" y="11" width="100" height="3"></rect>{unreachable}</svg>'
    )
    return f"<tr>{name}{counts}<td>{bar}</td></tr>"


def worrying(n: int) -> str:
    """A count cell marked bad, with a cross beside the colour, when it is not 0."""
    if not n:
        return f'<td class="num">{number(n)}</td>'
    return f'<td class="num bad"><span aria-hidden="true">✕ </span>{number(n)}</td>'


# A timeline entry's subject: the page its kind (lower case) has, and how the kind reads.
SUBJECT_PAGES = {
    "cluster": "dashboard:cluster_detail",
    "spectrocluster": "dashboard:cluster_detail",
    "edgehost": "dashboard:edgehost_detail",
    "clusterprofile": "dashboard:profile_detail",
}
SUBJECT_WORDS = {
    "cluster": "cluster",
    "spectrocluster": "cluster",
    "edgehost": "edge host",
    "clusterprofile": "cluster profile",
}
MUTED_DASH = '<span class="muted">—</span>'


@register.simple_tag
def timeline_rows(entries: list) -> str:
    """The `<tr>`s of timeline entries, drawn in Python (a template loop of seven cells with their
    conditions cost a 50-entry page about 18 ms): the timeline page and the detail pages."""
    return mark_safe("".join(timeline_row(entry) for entry in entries))  # noqa: S308 (each row built by markup)


def timeline_row(entry: object) -> str:
    severity = badge(entry.severity) if entry.severity else MUTED_DASH
    cells = (
        markup.html('<tr class="kind-{}">', entry.kind),
        f'<td class="nowrap">{when(entry.occurred_at)}</td>',
        f"<td>{badge(entry.kind, capfirst(entry.get_kind_display()))}</td>",
        f"<td>{severity}</td>",
        f'<td class="subject">{subject_cell(entry)}</td>',
        markup.html('<td class="actor">{}</td>', entry.actor or "—"),
        markup.html('<td class="action">{}</td>', labels.readable(entry.action)),
        markup.html('<td class="message">{}</td></tr>', entry.message),
    )
    return "".join(cells)


def subject_cell(entry: object) -> str:
    """The subject linked to its page, or to its timeline when it has no page here; then its kind."""
    kind = entry.subject_kind.lower()
    if not entry.subject_uid:
        subject = markup.escape(entry.subject_name or "—")
    else:
        text = entry.subject_name or entry.subject_uid
        try:
            href = detail_url(SUBJECT_PAGES[kind], entry.subject_uid) if kind in SUBJECT_PAGES else ""
        except NoReverseMatch:  # a uid no URL can hold (a "/" in it)
            href = ""
        if href:
            subject = markup.html('<a href="{}">{}</a>', href, text)
        else:
            about = list_url("dashboard:timeline") + "?subject=" + quote(entry.subject_uid, safe="/")
            subject = markup.html('<a href="{}" title="Everything on the timeline about it">{}</a>', about, text)
    if not entry.subject_kind:
        return subject
    word = SUBJECT_WORDS.get(kind) or labels.readable(entry.subject_kind).lower()
    return subject + markup.html(' <small class="muted">{}</small>', word)


def number(n: object) -> str:
    """An integer with thousands separators (humanize's intcomma in English), anything else as it is."""
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)


@register.simple_tag
def sync_rows(rows: list) -> str:
    """The `<tr>`s of the sync page's scopes (dashboard/views/sync.py Row), drawn in Python: the
    template's ten cells with their conditions cost a 50-scope page more than all its queries."""
    return mark_safe("".join(sync_row(row) for row in rows))  # noqa: S308 (each row built by markup)


def sync_row(row: object) -> str:
    scope, run = row.scope, row.scope.last_run
    project = markup.escape(scope.project.name) if scope.project else '<span class="muted">tenant</span>'
    status = badge(scope.last_status) if scope.last_status else badge("", "not finished yet")
    took = f" · took {markup.escape(row.duration)}" if row.duration else ""
    families = (
        '<ul class="families">'
        + "".join(f"<li><code>{markup.escape(f)}</code> {markup.escape(number(n))}</li>" for f, n in row.families)
        + "</ul>"
        if row.families
        else "—"
    )
    stale = " " + badge("warning", "stale") if row.health == "stale" else ""
    fresh = when(scope.ok_started_at, "never complete") + stale
    if scope.running_since:
        if scope.progress_total:
            progress = markup.html(
                '<span>{} of {}</span><progress value="{}" max="{}">{} of {}</progress>',
                number(scope.progress_items),
                number(scope.progress_total),
                scope.progress_items,
                scope.progress_total,
                scope.progress_items,
                scope.progress_total,
            )
        else:
            unknown_total = '<span>{} so far</span><progress aria-label="total not known yet"></progress>'
            progress = markup.html(unknown_total, number(scope.progress_items))
        running = (
            f'<div class="sync-progress">{progress}'
            f'<small class="muted">started {when(scope.running_since)}</small></div>'
        )
    else:
        running = MUTED_DASH
    if row.errors:
        errors = "<ul>" + "".join(f"<li>{markup.escape(e)}</li>" for e in row.errors) + "</ul>"
        if row.more_errors:
            more = "".join(f"<li>{markup.escape(e)}</li>" for e in row.more_errors)
            errors += f"<details><summary>{len(row.more_errors)} more</summary><ul>{more}</ul></details>"
    elif row.health in ("failed", "partial"):
        errors = markup.escape(row.why)
    else:
        errors = MUTED_DASH
    return (
        f'<tr class="health-{markup.escape(row.health)}{" is-running" if scope.running_since else ""}">'
        f"<td>{markup.escape(row.source)}</td><td>{project}</td>"
        f'<td class="nowrap">{status} <span class="sync-when">{when(scope.last_finished_at, "never")}{took}</span></td>'
        f'<td class="num">{markup.escape(number(run.items)) if run else "—"}</td>'
        f"<td>{families}</td>"
        f'<td class="num">{markup.escape(number(run.throttled)) if run else "—"}</td>'
        f'<td class="nowrap">{fresh}</td>'
        f"<td>{running}</td>"
        f'<td class="errors">{errors}</td></tr>'
    )
