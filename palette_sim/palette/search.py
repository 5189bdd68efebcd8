"""The search-filter bodies of the dashboard listings, evaluated over records (REFERENCE.md 6, 7, 9).

The property names are the ones official clients use; anything else is refused with 400 rather
than silently ignored, so a client that filters on a property Palette may not know finds out.
"""

from collections.abc import Callable

from palette_sim.fleet.fleet import parse_time
from palette_sim.fleet.records import Cluster, EdgeHost, ProfileVersion, Project
from palette_sim.palette.errors import BadRequest


def cluster_tags(c: Cluster) -> list[str]:
    return [f"{k}:{v}" for k, v in c.labels.items()]


def host_tags(h: EdgeHost) -> list[str]:
    return [f"site:{h.site}"]


CLUSTER_PROPERTIES: dict[str, Callable[[Cluster], object]] = {
    "clusterName": lambda c: c.name,
    "clusterState": lambda c: c.state,
    "environment": lambda c: c.cloud,
    "cloudType": lambda c: c.cloud,
    "healthState": lambda c: c.health,
    "isDeleted": lambda c: c.state == "Deleted",
    "tags": cluster_tags,
    "tag": cluster_tags,
    "architecture": lambda c: c.arch,
    "creationTimestamp": lambda c: c.created,
    "lastModifiedTimestamp": lambda c: c.modified,
    "clusterProfile": lambda c: [c.infra.family.name] + [a.family.name for a in c.addons],
    "region": lambda c: c.region,
}
HOST_PROPERTIES: dict[str, Callable[[EdgeHost], object]] = {
    "name": lambda h: h.host_id,
    "state": lambda h: h.state,
    "healthState": lambda h: h.health,
    "architecture": lambda h: h.arch,
    "tags": host_tags,
    "creationTimestamp": lambda h: h.created,
    "lastModifiedTimestamp": lambda h: h.modified,
}
CLUSTER_SORT: dict[str, Callable[[Cluster], object]] = {
    "environment": lambda c: c.cloud,
    "clusterName": lambda c: c.name,
    "clusterState": lambda c: c.state,
    "healthState": lambda c: c.health,
    "creationTimestamp": lambda c: c.created,
    "lastModifiedTimestamp": lambda c: c.modified,
}
HOST_SORT: dict[str, Callable[[EdgeHost], object]] = {
    "environment": lambda h: "edge-native",
    "clusterName": lambda h: h.host_id,
    "clusterState": lambda h: h.state,
    "healthState": lambda h: h.health,
    "creationTimestamp": lambda h: h.created,
    "lastModifiedTimestamp": lambda h: h.modified,
}


def as_dict(value: object, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be an object")
    return value


def as_list(value: object, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{what} must be an array")
    return value


def string_test(operator: str, wanted: str, actual: str, ignore_case: bool) -> bool:
    if ignore_case:
        wanted, actual = wanted.lower(), actual.lower()
    if operator == "eq":
        return actual == wanted
    if operator == "contains":
        return wanted in actual
    if operator == "beginsWith":
        return actual.startswith(wanted)
    raise BadRequest(f"unknown string operator {operator!r}")


def number_test(operator: str, wanted: float, actual: float) -> bool:
    tests = {
        "eq": actual == wanted,
        "gt": actual > wanted,
        "gte": actual >= wanted,
        "lt": actual < wanted,
        "lte": actual <= wanted,
    }
    if operator not in tests:
        raise BadRequest(f"unknown numeric operator {operator!r}")
    return tests[operator]


def match_values(cond: dict, test: Callable[[object], bool]) -> bool:
    match = as_dict(cond.get("match"), "condition.match")
    values = as_list(match.get("values"), "match.values")
    if not values:
        return True
    results = [test(v) for v in values]
    hit = all(results) if match.get("conjunction") == "and" else any(results)
    return hit != bool(cond.get("negation"))


def condition_test(item_type: str, condition: dict, getter: Callable) -> Callable[[object], bool]:
    """A predicate over one record for one `v1SearchFilterItem`."""
    if item_type == "bool":
        cond = as_dict(condition.get("bool"), "condition.bool")
        wanted = bool(cond.get("value"))
        return lambda rec: bool(getter(rec)) == wanted
    if item_type in ("string", "keyValue"):
        cond = as_dict(condition.get(item_type), f"condition.{item_type}")
        op, ic, key = cond.get("operator", "eq"), bool(cond.get("ignoreCase")), cond.get("key")

        def string_pred(rec: object) -> bool:
            actual = getter(rec)
            values = actual if isinstance(actual, list) else [actual]
            if item_type == "keyValue":
                values = [v.split(":", 1)[1] for v in values if isinstance(v, str) and v.split(":", 1)[0] == key]
            return match_values(
                cond, lambda w: isinstance(w, str) and any(string_test(op, w, str(v), ic) for v in values)
            )

        return string_pred
    if item_type in ("int", "float"):
        cond = as_dict(condition.get(item_type), f"condition.{item_type}")
        op = cond.get("operator", "eq")
        return lambda rec: match_values(cond, lambda w: number_test(op, float(w), float(getter(rec))))
    if item_type == "date":
        cond = as_dict(condition.get("date"), "condition.date")
        op = cond.get("operator", "eq")
        values = as_list(as_dict(cond.get("match"), "condition.match").get("values"), "match.values")
        try:
            times = [parse_time(v) for v in values]
        except (ValueError, AttributeError, TypeError):
            raise BadRequest("date values must be RFC 3339 date-times") from None
        if op == "range":
            if len(times) != 2:
                raise BadRequest("a date range needs two values")
            return lambda rec: (times[0] <= getter(rec) <= times[1]) != bool(cond.get("negation"))
        return lambda rec: any(number_test(op, t, getter(rec)) for t in times) != bool(cond.get("negation"))
    raise BadRequest(f"unknown filter type {item_type!r}")


def search_predicate(body: dict, properties: dict[str, Callable]) -> Callable[[object], bool] | None:
    """The predicate of a `v1SearchFilterSummarySpec` body, or None when it filters nothing."""
    spec = as_dict(body.get("filter"), "filter")
    groups = []
    for group in as_list(spec.get("filterGroups"), "filter.filterGroups"):
        group = as_dict(group, "filterGroup")
        tests = []
        for item in as_list(group.get("filters"), "filterGroup.filters"):
            item = as_dict(item, "filter item")
            prop = item.get("property")
            if prop not in properties:
                raise BadRequest(f"unsupported search filter property {prop!r}")
            tests.append(
                condition_test(
                    item.get("type", "string"), as_dict(item.get("condition"), "condition"), properties[prop]
                )
            )
        if tests:
            groups.append((group.get("conjunction", "and"), tests))
    if not groups:
        return None
    outer = spec.get("conjunction", "and")

    def predicate(rec: object) -> bool:
        results = (all(t(rec) for t in tests) if conj != "or" else any(t(rec) for t in tests) for conj, tests in groups)
        return any(results) if outer == "or" else all(results)

    return predicate


def sort_records(records: list, sort: object, fields: dict[str, Callable]) -> list:
    """Apply `sort[] {field, order}`; the uid breaks ties so paging is stable."""
    specs = as_list(sort, "sort")
    if not specs:
        return records
    out = sorted(records, key=lambda r: r.uid)
    for spec in reversed(specs):
        spec = as_dict(spec, "sort item")
        field = spec.get("field")
        if field not in fields:
            raise BadRequest(f"unsupported sort field {field!r}")
        out.sort(key=fields[field], reverse=spec.get("order") == "desc")
    return out


def filter_string(spec: object, actual: str, what: str) -> bool:
    """`v1FilterString` {eq, ne, contains, beginsWith, ignoreCase (default true)}."""
    spec = as_dict(spec, what)
    ic = spec.get("ignoreCase", True)
    a = actual.lower() if ic else actual
    for op in ("eq", "ne", "contains", "beginsWith"):
        wanted = spec.get(op)
        if wanted is None:
            continue
        w = str(wanted).lower() if ic else str(wanted)
        ok = {"eq": a == w, "ne": a != w, "contains": w in a, "beginsWith": a.startswith(w)}[op]
        if not ok:
            return False
    return True


def version_key(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in text.split("."))


def profile_predicate(body: dict) -> Callable[[ProfileVersion], bool]:
    """`v1ClusterProfileFilterSpec`."""
    f = as_dict(body.get("filter"), "filter")
    types = as_list(f.get("profileType"), "filter.profileType")
    envs = as_list(f.get("environment"), "filter.environment")
    scope = f.get("scope")
    if scope not in (None, "", "system", "tenant", "project"):
        raise BadRequest(f"unknown scope {scope!r}")
    version = as_dict(f.get("version"), "filter.version")

    def predicate(v: ProfileVersion) -> bool:
        family = v.family
        if "profileName" in f and not filter_string(f["profileName"], family.name, "filter.profileName"):
            return False
        if types and family.type not in types:
            return False
        if envs and family.cloud not in envs:
            return False
        if scope and ("tenant" if family.project is None else "project") != scope:
            return False
        for op, wanted in version.items():
            if wanted is None:
                continue
            mine, other = version_key(v.version), version_key(str(wanted))
            tests = {"eq": mine == other, "ne": mine != other, "gt": mine > other, "lt": mine < other}
            ok = tests.get(op, v.version.startswith(str(wanted)) if op == "beginsWith" else True)
            if not ok:
                return False
        return True

    return predicate


PROFILE_SORT: dict[str, Callable[[ProfileVersion], object]] = {
    "profileName": lambda v: v.family.name,
    "environment": lambda v: v.family.cloud,
    "profileType": lambda v: v.family.type,
    "creationTimestamp": lambda v: v.created,
    "lastModifiedTimestamp": lambda v: v.modified,
}
PROJECT_SORT: dict[str, Callable[[Project], object]] = {
    "name": lambda p: p.name,
    "creationTimestamp": lambda p: p.created,
    "lastModifiedTimestamp": lambda p: p.modified,
}
