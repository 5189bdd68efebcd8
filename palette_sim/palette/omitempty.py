"""Go's `omitempty`, as Palette's servers apply it to every response.

Palette and the edge hosts are Go services with go-swagger models: a property is serialised with
`omitempty` unless the spec marks it `x-omitempty: false`. So empty strings, zeros, false, empty
lists and maps and absent objects are left out of real answers, and a client must not expect
`labels: {}` or `secureBoot: false` to be there. The simulator prunes the same way (and, being
strict, also drops objects left empty by pruning).

The names below are every property marked `x-omitempty: false`, plus every required property, in
the definitions reachable from the responses the simulator serves (computed from the SDK and
Docs specs, and the Edge spec). They are kept by name wherever they appear, a slight
over-approximation when a name is plain `omitempty` in another definition.
"""

PALETTE_KEEP = frozenset(
    {
        "activationLink", "add", "alertAllUsers", "alloyCpuCores", "canBeApplied", "compute", "continue", "count",
        "cpuCores", "deleted", "deprecated", "disableAutoRegister", "disabled", "displayName", "errored", "format",
        "group", "hasKubeConfig", "hasKubeConfigClient", "hasManifest", "hasUserMacros", "healthy", "hints",
        "hostAuthToken", "hostChecksum", "hostPairingKey", "isActive", "isAlloy", "isAvailable", "isBrownfield",
        "isControlPlane", "isDeprecated", "isHeartBeatFailed", "isHostCluster", "isMfa", "isPasswordResetting",
        "isPublished", "isSucceeded", "isTemplateVariableResolutionPending", "isUpdatesPending", "latitude", "limit",
        "listOptions", "longitude", "macAddress", "maintenanceMode", "name", "offset", "patchOnBoot", "pause",
        "project", "pureCpuCores", "readonly", "rebootIfRequired", "regex", "remoteSsh", "remoteSshTempUser",
        "remove", "request", "required", "running", "size", "storage", "total", "type", "unhealthy", "usage",
        # required somewhere
        "host", "hostAddress", "hostUid", "items", "layer", "networkName", "networkType", "port", "profiles",
        "state", "status", "uid",
    }
)  # fmt: skip
EDGE_KEEP = frozenset(
    {
        "IsCandidateCaption", "archType", "continue", "enable", "limit", "offset",
        # required somewhere
        "clusterConfig", "hosts", "items", "machinePoolConfig", "status", "type",
    }
)  # fmt: skip


class Pruned(dict):
    """A dict already pruned and never mutated (shared renderings): `prune` passes it through as is."""


def prune(value: object, keep: frozenset[str]) -> object:
    """A copy of `value` without the properties Go's omitempty would leave out.

    Falsy means empty here: "", 0, 0.0, False, None, [] and {}. Hot path: one call per page.
    """
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            kind = type(item)
            if kind is dict or kind is list:
                item = prune(item, keep)
            if item or key in keep:
                out[key] = item
        return out
    if kind is list:
        return [prune(item, keep) if type(item) in (dict, list) else item for item in value]
    return value
