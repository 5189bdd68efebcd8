"""Static vocabulary the generated fleet draws from: clouds, regions, places, packs, people.

Values are invented but shaped like what a real Palette tenant shows (REFERENCE.md 8-10).
"""

# cloud type -> (weight, regions). Edge-native clusters carry their site's location instead of a region.
CLOUDS: dict[str, tuple[float, tuple[str, ...]]] = {
    "edge-native": (0.45, ("",)),
    "aws": (0.12, ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")),
    "eks": (0.10, ("us-east-1", "us-east-2", "eu-west-1", "ap-northeast-1")),
    "azure": (0.07, ("eastus", "westeurope", "northeurope", "southeastasia")),
    "aks": (0.05, ("eastus2", "westeurope", "uksouth")),
    "gcp": (0.04, ("us-central1", "europe-west4", "asia-east1")),
    "gke": (0.03, ("us-central1", "europe-west1")),
    "vsphere": (0.09, ("dc-frankfurt", "dc-dallas", "dc-singapore")),
    "maas": (0.05, ("maas-lab-1", "maas-rack-7")),
}

# (countryCode, countryName, regionCode, regionName, city, latitude, longitude)
PLACES: tuple[tuple[str, str, str, str, str, float, float], ...] = (
    ("DE", "Germany", "BE", "Berlin", "berlin", 52.52, 13.405),
    ("DE", "Germany", "BY", "Bavaria", "munich", 48.137, 11.575),
    ("DE", "Germany", "HH", "Hamburg", "hamburg", 53.551, 9.993),
    ("US", "United States", "CA", "California", "san-jose", 37.338, -121.886),
    ("US", "United States", "TX", "Texas", "austin", 30.267, -97.743),
    ("US", "United States", "NY", "New York", "new-york", 40.713, -74.006),
    ("US", "United States", "IL", "Illinois", "chicago", 41.878, -87.630),
    ("US", "United States", "WA", "Washington", "seattle", 47.606, -122.332),
    ("US", "United States", "GA", "Georgia", "atlanta", 33.749, -84.388),
    ("CA", "Canada", "ON", "Ontario", "toronto", 43.653, -79.383),
    ("MX", "Mexico", "CMX", "Mexico City", "cdmx", 19.433, -99.133),
    ("BR", "Brazil", "SP", "Sao Paulo", "sao-paulo", -23.551, -46.633),
    ("GB", "United Kingdom", "ENG", "England", "london", 51.507, -0.128),
    ("GB", "United Kingdom", "SCT", "Scotland", "glasgow", 55.864, -4.252),
    ("FR", "France", "IDF", "Ile-de-France", "paris", 48.857, 2.352),
    ("FR", "France", "ARA", "Auvergne-Rhone-Alpes", "lyon", 45.764, 4.836),
    ("NL", "Netherlands", "NH", "North Holland", "amsterdam", 52.368, 4.904),
    ("ES", "Spain", "MD", "Madrid", "madrid", 40.417, -3.704),
    ("IT", "Italy", "25", "Lombardy", "milan", 45.464, 9.190),
    ("SE", "Sweden", "AB", "Stockholm", "stockholm", 59.329, 18.069),
    ("PL", "Poland", "14", "Masovia", "warsaw", 52.230, 21.012),
    ("IN", "India", "KA", "Karnataka", "bengaluru", 12.972, 77.595),
    ("IN", "India", "MH", "Maharashtra", "mumbai", 19.076, 72.878),
    ("JP", "Japan", "13", "Tokyo", "tokyo", 35.676, 139.650),
    ("JP", "Japan", "27", "Osaka", "osaka", 34.694, 135.502),
    ("SG", "Singapore", "01", "Central Singapore", "singapore", 1.352, 103.820),
    ("AU", "Australia", "NSW", "New South Wales", "sydney", -33.869, 151.209),
    ("ZA", "South Africa", "GT", "Gauteng", "johannesburg", -26.204, 28.047),
)

PROJECT_WORDS = (
    "retail-edge",
    "factory-floor",
    "payments",
    "platform",
    "data-lake",
    "ml-training",
    "logistics",
    "branch-office",
    "media",
    "telecom-ran",
    "research",
    "security",
    "staging",
    "shared-services",
    "quick-service",
    "pharmacy",
    "warehouse",
    "fuel-stations",
    "hospitality",
    "smart-city",
)
SITE_WORDS = ("store", "plant", "branch", "depot", "cell", "kiosk", "clinic", "hub", "yard", "lab")
CLOUD_CLUSTER_WORDS = ("prod", "dev", "staging", "ops", "analytics", "api", "batch", "ci", "core", "svc")

# The k8s distribution pack per cloud, with the versions profiles move through (oldest first).
K8S_PACKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "edge-native": ("edge-k3s", ("1.28.15", "1.29.10", "1.30.6", "1.31.4", "1.32.1")),
    "aws": ("kubernetes", ("1.28.15", "1.29.12", "1.30.8", "1.31.4", "1.32.1")),
    "eks": ("kubernetes-eks", ("1.28", "1.29", "1.30", "1.31", "1.32")),
    "azure": ("kubernetes", ("1.28.15", "1.29.12", "1.30.8", "1.31.4", "1.32.1")),
    "aks": ("kubernetes-aks", ("1.28", "1.29", "1.30", "1.31", "1.32")),
    "gcp": ("kubernetes", ("1.28.15", "1.29.12", "1.30.8", "1.31.4", "1.32.1")),
    "gke": (
        "kubernetes-gke",
        ("1.28.15-gke.1480000", "1.29.10-gke.1280000", "1.30.6-gke.1125000", "1.31.4-gke.1183000"),
    ),
    "vsphere": ("kubernetes", ("1.28.15", "1.29.12", "1.30.8", "1.31.4", "1.32.1")),
    "maas": ("kubernetes", ("1.28.15", "1.29.12", "1.30.8", "1.31.4", "1.32.1")),
}
# os / cni / csi packs per cloud: (layer, name, display name, versions oldest first)
BASE_PACKS: dict[str, tuple[tuple[str, str, str, tuple[str, ...]], ...]] = {
    "edge-native": (
        ("os", "edge-native-byoi", "BYOS Edge OS", ("1.0.0", "2.0.0", "2.1.0")),
        ("cni", "cni-calico", "Calico", ("3.27.3", "3.28.2", "3.29.1")),
        ("csi", "csi-rancher-local-path", "Rancher Local Path", ("0.0.28", "0.0.30")),
    ),
    "aws": (
        ("os", "ubuntu-aws", "Ubuntu", ("20.04", "22.04")),
        ("cni", "cni-calico", "Calico", ("3.27.3", "3.28.2", "3.29.1")),
        ("csi", "csi-aws-ebs", "Amazon EBS CSI", ("1.30.0", "1.35.0", "1.37.0")),
    ),
    "eks": (
        ("os", "amazon-linux-eks", "Amazon Linux", ("1.0.0",)),
        ("cni", "cni-aws-vpc-eks", "AWS VPC CNI", ("1.0", "1.18.3")),
        ("csi", "csi-aws-ebs", "Amazon EBS CSI", ("1.30.0", "1.35.0", "1.37.0")),
    ),
    "azure": (
        ("os", "ubuntu-azure", "Ubuntu", ("20.04", "22.04")),
        ("cni", "cni-calico-azure", "Calico Azure", ("3.27.3", "3.28.2")),
        ("csi", "csi-azure", "Azure Disk", ("1.29.0", "1.30.3")),
    ),
    "aks": (
        ("os", "ubuntu-aks", "Ubuntu AKS", ("22.04",)),
        ("cni", "cni-kubenet", "Kubenet", ("1.0.0",)),
        ("csi", "csi-azure", "Azure Disk", ("1.29.0", "1.30.3")),
    ),
    "gcp": (
        ("os", "ubuntu-gcp", "Ubuntu", ("20.04", "22.04")),
        ("cni", "cni-calico", "Calico", ("3.27.3", "3.28.2", "3.29.1")),
        ("csi", "csi-gcp-driver", "GCE Persistent Disk", ("1.10.1", "1.13.2")),
    ),
    "gke": (
        ("os", "cos-gke", "Container-Optimized OS", ("1.0.0",)),
        ("cni", "cni-kubenet", "Kubenet", ("1.0.0",)),
        ("csi", "csi-gcp-driver", "GCE Persistent Disk", ("1.10.1", "1.13.2")),
    ),
    "vsphere": (
        ("os", "ubuntu-vsphere", "Ubuntu", ("20.04", "22.04")),
        ("cni", "cni-calico", "Calico", ("3.27.3", "3.28.2", "3.29.1")),
        ("csi", "csi-vsphere-csi", "vSphere CSI", ("3.1.2", "3.3.1")),
    ),
    "maas": (
        ("os", "ubuntu-maas", "Ubuntu", ("20.04", "22.04")),
        ("cni", "cni-calico", "Calico", ("3.27.3", "3.28.2", "3.29.1")),
        ("csi", "csi-rook-ceph", "Rook Ceph", ("1.13.1", "1.14.9")),
    ),
}
# add-on profile flavours: (profile name stem, packs: (name, display name, type, versions oldest first))
ADDONS: tuple[tuple[str, tuple[tuple[str, str, str, tuple[str, ...]], ...]], ...] = (
    ("monitoring", (("prometheus-operator", "Prometheus Operator", "spectro", ("57.0.3", "58.2.1", "65.1.1")),)),
    ("logging", (("fluentbit", "Fluent Bit", "spectro", ("2.2.2", "3.0.4", "3.1.9")),)),
    ("security", (("falco", "Falco", "helm", ("3.8.7", "4.6.0")), ("kyverno", "Kyverno", "helm", ("3.1.4", "3.2.6")))),
    ("ingress", (("nginx", "Ingress NGINX", "spectro", ("1.9.6", "1.10.1", "1.11.3")),)),
    ("pos-apps", (("pos-apps", "Point of Sale", "helm", ("6.2.0", "7.0.0", "7.1.2")),)),
    ("service-mesh", (("istio", "Istio", "spectro", ("1.20.3", "1.22.1")),)),
    ("backup", (("velero", "Velero", "helm", ("6.0.0", "7.2.1")),)),
    ("vision-ai", (("inference-server", "Inference Server", "oci", ("2.3.0", "2.4.1", "3.0.0")),)),
)

AGENT_VERSIONS = ("4.4.18", "4.5.12", "4.6.21", "4.6.24")
OS_IMAGES = (
    ("kairos-core-sles", "v2.4.3", "5.14.21"),
    ("kairos-ubuntu", "v3.1.3", "6.8.0-45-generic"),
    ("kairos-ubuntu", "v3.2.1", "6.8.0-52-generic"),
    ("kairos-opensuse-leap", "v2.4.3", "6.4.0-150600"),
)
DISK_VENDORS = (("SCSI", "VMware"), ("NVMe", "Samsung"), ("NVMe", "Micron"), ("SATA", "Intel"), ("NVMe", "WDC"))
GPUS = (("NVIDIA", "Tesla T4", "16GB"), ("NVIDIA", "L4", "24GB"), ("NVIDIA", "Jetson Orin", "32GB"))
NIC_NAMES = ("ens160", "eno1", "enp1s0", "eth0")

# (first name, last name) of the tenant's people; emails are derived from them.
PEOPLE = (
    ("Dana", "Ops"),
    ("Ravi", "Iyer"),
    ("Mia", "Schneider"),
    ("Tom", "Okafor"),
    ("Lena", "Kowalski"),
    ("Hiro", "Tanaka"),
    ("Sara", "Lindqvist"),
    ("Ana", "Costa"),
)
TEAMS = ("edge-ops", "platform", "sre", "security", "app-dev")

# What audits and events say. The generator, churn and the log shapes all read these.
AUDIT_ACTIONS = ("create", "update", "delete", "publish", "deploy", "activity", "action")
# (reason, severity, component, involved kind); messages are rendered in palette_sim.palette.shapes.logs.
CLUSTER_REASONS = (
    ("NodeNotReady", "Warning", "node-controller", "Machine"),
    ("NodeReady", "Normal", "node-controller", "Machine"),
    ("BackOff", "Warning", "kubelet", "Pod"),
    ("Scheduled", "Normal", "default-scheduler", "Pod"),
    ("PackDeployed", "Normal", "palette-agent", "Pack"),
    ("HeartbeatMissed", "Warning", "palette-agent", "SpectroCluster"),
    ("UpgradeStarted", "Normal", "palette-agent", "SpectroCluster"),
    ("CertificateExpiring", "Warning", "cert-manager", "Certificate"),
)
HOST_REASONS = (
    ("EdgeHostHeartbeatMissed", "Warning", "stylus", "EdgeHost"),
    ("EdgeHostRegistered", "Normal", "stylus", "EdgeHost"),
    ("EdgeHostRebooted", "Normal", "stylus", "EdgeHost"),
    ("DiskPressure", "Warning", "kubelet", "Node"),
)
HOST_REASON_BASE = len(CLUSTER_REASONS)  # event codes of edge hosts start here
