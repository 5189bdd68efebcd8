"""What the dashboard keeps of a host's answers."""


def summary(facts: dict) -> dict:
    """What the dashboard keeps of a host's answers (Edge spec `v1EdgeHostInfo`, `v1Cluster`, ...)."""
    host = facts.get("host") or {}
    spec, status = dig(host, "spec"), dig(host, "status")
    hardware = dig(spec, "hardwareSpec")
    cluster = facts.get("cluster") or {}
    registry = facts.get("registry") or {}
    certificates = facts.get("certificates") or {}
    expiries = [c.get("expirationDate") for c in certificates.get("certificates") or [] if isinstance(c, dict)]
    return {
        "agentVersion": status.get("agentVersion", ""),
        "hostName": status.get("hostName", ""),
        "configurationStatus": status.get("configurationStatus", ""),
        "connectionMode": spec.get("connectionMode", ""),
        "managementMode": spec.get("managementMode", ""),
        "nodeRole": spec.get("nodeRole", ""),
        "arch": hardware.get("archType", ""),
        "cpuCores": dig(hardware, "cpu").get("cores"),
        "memoryMB": dig(hardware, "memory").get("sizeInMB"),
        "os": " ".join(filter(None, [dig(hardware, "os").get("family"), dig(hardware, "os").get("version")])),
        "nics": [
            {k: n.get(k) for k in ("nicName", "ip", "macAddr", "isDefault")}
            for n in spec.get("networkInfo") or []
            if isinstance(n, dict)
        ],
        "clusterState": dig(cluster, "status").get("clusterState", ""),
        "clusterHealth": dig(dig(cluster, "status"), "health").get("status", ""),
        "kubernetesVersion": dig(cluster, "status").get("k8sVersion", ""),
        "registryState": registry.get("State", ""),
        "registryUsagePercent": registry.get("UsagePercentage"),
        "certificatesNeedRenewal": certificates.get("needsRenewal"),
        "certificatesEarliestExpiry": min((e for e in expiries if isinstance(e, str)), default=""),
    }


def dig(value: object, key: str) -> dict:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}
