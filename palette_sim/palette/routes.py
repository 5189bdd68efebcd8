"""The Palette routes the simulator serves, and which of them need no credentials."""

from werkzeug.routing import Map, Rule

from palette_sim.palette.handlers import clusters as hc
from palette_sim.palette.handlers import edgehosts as he
from palette_sim.palette.handlers import events as hv
from palette_sim.palette.handlers import tenant as ht

# (path, methods, handler). Werkzeug prefers static rules over converter rules for the same path.
ROUTES = (
    ("/v1/auth/authenticate", ("POST",), ht.authenticate),
    ("/v1/auth/refresh/<token>", ("GET",), ht.refresh),
    ("/v1/users/info", ("GET",), ht.users_info),
    ("/v1/users", ("GET",), ht.users_list),
    ("/v1/dashboard/projects", ("POST",), ht.projects_search),
    ("/v1/dashboard/projects/metadata", ("GET",), ht.projects_metadata),
    ("/v1/projects", ("GET",), ht.projects_list),
    ("/v1/projects/<uid>", ("GET",), ht.project_get),
    ("/v1/dashboard/spectroclusters/search", ("POST",), hc.clusters_search),
    ("/v1/dashboard/spectroclusters/metadata/search", ("POST",), hc.clusters_metadata_search),
    ("/v1/dashboard/spectroclusters/search/schema", ("GET",), hc.search_schema),
    ("/v1/dashboard/spectroclusters/search/input", ("GET",), hc.search_input),
    ("/v1/dashboard/spectroclusters/meta", ("GET",), hc.clusters_meta),
    ("/v1/dashboard/spectroclusters/metadata", ("GET", "POST"), hc.clusters_metadata),
    ("/v1/dashboard/spectroclusters/<uid>", ("GET",), hc.cluster_summary),
    ("/v1/dashboard/spectroclusters/<uid>/overview", ("GET",), hc.cluster_summary),
    ("/v1/spectroclusters/<uid>", ("GET",), hc.cluster_get),
    ("/v1/spectroclusters/<uid>/status", ("GET",), hc.cluster_status),
    ("/v1/spectroclusters/<uid>/profiles", ("GET",), hc.cluster_profiles),
    ("/v1/spectroclusters/<uid>/edge-native/edgeHosts", ("GET",), hc.cluster_edge_hosts),
    ("/v1/dashboard/clusterprofiles", ("POST",), hc.profiles_search),
    ("/v1/dashboard/clusterprofiles/metadata", ("GET",), hc.profiles_metadata),
    ("/v1/dashboard/clusterprofiles/<uid>", ("GET",), hc.profile_summary),
    ("/v1/clusterprofiles/<uid>", ("GET",), hc.profile_get),
    ("/v1/clusterprofiles/<uid>/packs", ("GET",), hc.profile_packs),
    ("/v1/dashboard/edgehosts/search", ("POST",), he.hosts_search),
    ("/v1/dashboard/edgehosts/search/schema", ("GET",), he.hosts_search_schema),
    ("/v1/edgehosts/metadata", ("GET",), he.hosts_metadata),
    ("/v1/dashboard/appliances/metadata", ("POST",), he.appliances_metadata),
    ("/v1/edgehosts", ("GET",), he.hosts_list),
    ("/v1/edgehosts/<uid>", ("GET",), he.host_get),
    ("/v1/edgehosts/<uid>/profiles", ("GET",), he.host_profiles),
    ("/v1/audits", ("GET",), ht.audits_list),
    ("/v1/audits/<uid>", ("GET",), ht.audit_get),
    ("/v1/audits/<uid>/sysMsg", ("GET",), ht.audit_sysmsg),
    ("/v1/events/components", ("GET",), hv.events_list),
    ("/v1/events/components/<kind>/<uid>", ("GET",), hv.events_of_object),
)
HANDLERS = {f"{path} {'+'.join(methods)}": handler for path, methods, handler in ROUTES}
PUBLIC = {"/v1/auth/authenticate POST", "/v1/auth/refresh/<token> GET"}


def url_map() -> Map:
    return Map(
        [Rule(path, methods=list(methods), endpoint=f"{path} {'+'.join(methods)}") for path, methods, _h in ROUTES],
        strict_slashes=False,
        merge_slashes=False,
    )
