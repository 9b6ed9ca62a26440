"""GKE hardening on `gcp:container/cluster:Cluster` and `gcp:container/nodePool:NodePool`,
and the project's Binary Authorization policy (`gcp:binaryauthorization/policy:Policy`).

Node settings are checked wherever a node configuration appears: the cluster's
default pool (`nodeConfig`), inline `nodePools[].nodeConfig`, separate NodePool
resources, and Autopilot / auto-provisioning defaults. Props use the engine's
camelCase names of pulumi-gcp's inputs. Autopilot manages nodes, Workload Identity,
shielded nodes and Dataplane V2 itself, so node-level rules skip it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from .framework import Config, NotApplicable, Resource, Rule, Setting, resource_policy
from .props import UNKNOWN, Unknown, flag, get, items, known_dicts, obj, text

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy"
HARDENING_URL = "https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster"
RELEASE_CHANNELS = frozenset({"RAPID", "REGULAR", "STABLE", "EXTENDED"})
ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
# GKE's zonal SLA (99.5%) needs this many nodes; regional clusters get 99.95%.
ZONAL_SLA_MIN_NODES = 3
# Never routed on the internet (RFC 1918, RFC 6598): clients there reach Google only
# through a VPC, VPN or Interconnect, so never through a public endpoint.
NON_INTERNET_RANGES = tuple(
    ipaddress.IPv4Network(cidr) for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)
RBAC_SECURITY_GROUP = re.compile(r"^gke-security-groups@[^@\s]+$")
REMOVED_VULNERABILITY_MODES = frozenset({"VULNERABILITY_BASIC", "VULNERABILITY_ENTERPRISE"})


@dataclass(frozen=True)
class Gke:
    resource: Resource

    @property
    def props(self) -> dict[str, Any]:
        return self.resource.props

    @property
    def is_cluster(self) -> bool:
        return self.resource.type == CLUSTER

    @property
    def autopilot(self) -> bool | Unknown:
        if not self.is_cluster:
            return False
        enabled = flag(self.props, "enableAutopilot")
        return UNKNOWN if enabled is UNKNOWN else enabled is True

    def describe(self) -> str:
        name = text(self.props, "name")
        label = name if isinstance(name, str) else f"({self.resource.name})"
        return f"GKE cluster {label}" if self.is_cluster else f"GKE node pool {label}"


def is_zone(location: object) -> bool:
    return isinstance(location, str) and bool(ZONE.fullmatch(location))


def node_configs(gke: Gke) -> Iterator[tuple[str, dict[str, Any] | Unknown]]:
    """(where, nodeConfig) for every node configuration the resource declares."""
    if not gke.is_cluster:
        yield gke.describe(), obj(gke.props, "nodeConfig")
        return
    if get(gke.props, "nodeConfig") is not None:
        yield f"{gke.describe()} default node pool", obj(gke.props, "nodeConfig")
    for index, pool in enumerate(known_dicts(gke.props, "nodePools")):
        name = text(pool, "name")
        yield f"{gke.describe()} node pool {name if isinstance(name, str) else index}", obj(pool, "nodeConfig")


def attached_pools(resources: Sequence[Resource], cluster: Gke) -> list[dict[str, Any]] | Unknown:
    """The cluster's inline pools and the NodePool resources attached to it (by
    dependency, or by name); UNKNOWN when a pool's cluster is not known yet."""
    name = text(cluster.props, "name")
    pools = list(known_dicts(cluster.props, "nodePools"))
    for resource in resources:
        if resource.type != NODE_POOL:
            continue
        linked = cluster.resource.urn in (*resource.property_dependencies.get("cluster", ()), *resource.dependencies)
        reference = text(resource.props, "cluster")
        if not linked and UNKNOWN in (reference, name):
            return UNKNOWN
        if linked or (isinstance(reference, str) and reference.rsplit("/", 1)[-1] == name):
            pools.append(resource.props)
    return pools


def _pools(gke: Gke) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pool) for a NodePool resource or each inline pool of a cluster."""
    if not gke.is_cluster:
        yield gke.describe(), gke.props
        return
    for index, pool in enumerate(known_dicts(gke.props, "nodePools")):
        name = text(pool, "name")
        yield f"{gke.describe()} node pool {name if isinstance(name, str) else index}", pool


def _auto_provisioning(gke: Gke) -> dict[str, Any] | Unknown | None:
    """Node defaults for Autopilot and node auto-provisioning, if the cluster uses them."""
    if not gke.is_cluster:
        return None
    uses_defaults = gke.autopilot is True or flag(gke.props, "clusterAutoscaling", "enabled") is True
    return obj(gke.props, "clusterAutoscaling", "autoProvisioningDefaults") if uses_defaults else None


GkeCheck = Callable[[Gke, Config], Iterable[str]]


def gke_rule(types: Iterable[str], check: GkeCheck) -> Callable[[Resource, Config], Iterator[str]]:
    governed = frozenset(types)

    def run(resource: Resource, config: Config) -> Iterator[str]:
        if resource.type not in governed:
            raise NotApplicable("not a GKE resource this policy governs")
        gke = Gke(resource)
        if gke.autopilot is UNKNOWN:
            return
        yield from check(gke, config)

    return run


def _standard_only(gke: Gke) -> bool:
    return gke.autopilot is False


def _node_settings(gke: Gke, *, on_autopilot: bool = False) -> list[tuple[str, dict[str, Any] | Unknown]]:
    """(where, nodeConfig) of every node configuration a check reads: the declared ones
    (on Autopilot only with `on_autopilot`: GKE sets most of its nodes' settings) and the
    defaults auto-provisioned nodes get."""
    places = list(node_configs(gke)) if on_autopilot or _standard_only(gke) else []
    defaults = _auto_provisioning(gke)
    if defaults is not None:
        places.append((f"{gke.describe()} auto-provisioned nodes", defaults))
    return places


def _check_autopilot_regional(gke: Gke, config: Config) -> Iterator[str]:
    location = text(gke.props, "location")
    if gke.autopilot is True and is_zone(location):
        yield f"{gke.describe()} is Autopilot in the zone {location}; Autopilot clusters are regional (use a region)"


def _check_private_nodes(gke: Gke, config: Config) -> Iterator[str]:
    if gke.is_cluster:
        private = flag(gke.props, "privateClusterConfig", "enablePrivateNodes")
        if private is not UNKNOWN and private is not True:
            yield (
                f"{gke.describe()} gives nodes public IPs; set privateClusterConfig.enablePrivateNodes "
                "(egress through Cloud NAT)"
            )
    for where, pool in _pools(gke):
        if flag(pool, "networkConfig", "enablePrivateNodes") is False:
            yield f"{where} overrides private nodes with networkConfig.enablePrivateNodes=false"


def ip_endpoints_enabled(gke: Gke) -> bool | Unknown:
    """Whether the cluster has IP-based control-plane endpoints (on unless turned off)."""
    enabled = flag(gke.props, "controlPlaneEndpointsConfig", "ipEndpointsConfig", "enabled")
    return UNKNOWN if enabled is UNKNOWN else enabled is not False


def is_non_internet_range(cidr: str) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return isinstance(network, ipaddress.IPv4Network) and any(
        network.subnet_of(private) for private in NON_INTERNET_RANGES
    )


def _check_authorized_networks(gke: Gke, config: Config) -> Iterator[str]:
    ip_endpoints = ip_endpoints_enabled(gke)
    networks = get(gke.props, "masterAuthorizedNetworksConfig")
    if ip_endpoints is not True or networks is UNKNOWN:
        return  # only the DNS endpoint (IAM decides), or can't tell
    if networks is None:
        yield (
            f"{gke.describe()} accepts control-plane connections from any IP; set masterAuthorizedNetworksConfig "
            "with the CIDRs of CI and operators"
        )
        return
    private_endpoint = flag(gke.props, "privateClusterConfig", "enablePrivateEndpoint")
    public_endpoint = private_endpoint is not UNKNOWN and private_endpoint is not True
    for block in known_dicts(networks, "cidrBlocks"):
        cidr = text(block, "cidrBlock")
        if cidr in ("0.0.0.0/0", "::/0"):
            yield f"{gke.describe()} authorizes {cidr} to reach the control plane"
        elif public_endpoint and isinstance(cidr, str) and is_non_internet_range(cidr):
            yield (
                f"{gke.describe()} authorizes the private range {cidr} on its public endpoint, which clients in "
                "that range never reach; enable privateClusterConfig.enablePrivateEndpoint (they then use the "
                "private address through the VPC) or use the DNS endpoint"
            )
    if flag(networks, "gcpPublicCidrsAccessEnabled") is True:
        yield (
            f"{gke.describe()} lets every Google Cloud public IP reach the control plane "
            "(masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled)"
        )


def _check_workload_identity(gke: Gke, config: Config) -> Iterator[str]:
    if not _standard_only(gke):
        return
    if gke.is_cluster:
        pool = text(gke.props, "workloadIdentityConfig", "workloadPool")
        if pool is not UNKNOWN and not pool:
            yield (
                f"{gke.describe()} has no Workload Identity pool: pods would use the node's service account; "
                "set workloadIdentityConfig.workloadPool to <project>.svc.id.goog"
            )
    for where, node_config in node_configs(gke):
        mode = text(node_config, "workloadMetadataConfig", "mode")
        if mode is not UNKNOWN and mode != "GKE_METADATA":
            yield f"{where} does not set workloadMetadataConfig.mode GKE_METADATA, so pods can read node credentials"


def _check_shielded_nodes(gke: Gke, config: Config) -> Iterator[str]:
    if gke.is_cluster and flag(gke.props, "enableShieldedNodes") is False:
        yield f"{gke.describe()} disables shielded nodes"
    for where, node_config in _node_settings(gke):
        shielded = obj(node_config, "shieldedInstanceConfig")
        if shielded is UNKNOWN:
            continue
        secure_boot = flag(shielded, "enableSecureBoot")
        # Autopilot shields its nodes itself; only an explicit opt-out there is wrong.
        missing_is_off = gke.autopilot is False
        if secure_boot is False or (missing_is_off and secure_boot is None):
            yield f"{where} does not enable secure boot (shieldedInstanceConfig.enableSecureBoot)"
        if flag(shielded, "enableIntegrityMonitoring") is False:
            yield f"{where} disables integrity monitoring"


def _check_release_channel(gke: Gke, config: Config) -> Iterator[str]:
    channel = text(gke.props, "releaseChannel", "channel")
    if channel is not UNKNOWN and channel not in RELEASE_CHANNELS:
        yield (
            f"{gke.describe()} is not enrolled in a release channel ({channel or 'unset'}); choose REGULAR, STABLE, "
            "RAPID or EXTENDED so GKE patches the control plane and nodes"
        )


def _check_auto_repair_upgrade(gke: Gke, config: Config) -> Iterator[str]:
    places = [(where, obj(pool, "management")) for where, pool in _pools(gke)]
    defaults = _auto_provisioning(gke)
    if defaults is not None:
        places.append((f"{gke.describe()} auto-provisioned nodes", obj(defaults, "management")))
    for where, management in places:
        for key in ("autoRepair", "autoUpgrade"):
            if flag(management, key) is False:
                yield f"{where} disables management.{key}"


def _check_node_image(gke: Gke, config: Config) -> Iterator[str]:
    allowed = {image.upper() for image in config.get("allowedImageTypes", ())}
    for where, node_config in _node_settings(gke, on_autopilot=True):
        image = text(node_config, "imageType")
        if isinstance(image, str) and image.upper() not in allowed:
            yield f"{where} runs image type {image}; use one of {sorted(allowed)} (Container-Optimized OS)"


def _check_network_policy(gke: Gke, config: Config) -> Iterator[str]:
    if not _standard_only(gke):
        return
    if enforces_network_policy(gke) is False:
        yield (
            f"{gke.describe()} does not enforce NetworkPolicies; set datapathProvider ADVANCED_DATAPATH "
            "(Dataplane V2) or enable networkPolicy"
        )


def enforces_network_policy(gke: Gke) -> bool | Unknown:
    if gke.autopilot is not False:
        return gke.autopilot  # Autopilot always runs Dataplane V2
    datapath = text(gke.props, "datapathProvider")
    enabled = flag(gke.props, "networkPolicy", "enabled")
    addon_disabled = flag(gke.props, "addonsConfig", "networkPolicyConfig", "disabled")
    if datapath == "ADVANCED_DATAPATH" or (enabled is True and addon_disabled is not True):
        return True
    if UNKNOWN in (datapath, enabled, addon_disabled):
        return UNKNOWN
    return False


def has_workload_identity(gke: Gke) -> bool | Unknown:
    if gke.autopilot is not False:
        return gke.autopilot  # always on in Autopilot
    pool = text(gke.props, "workloadIdentityConfig", "workloadPool")
    return UNKNOWN if pool is UNKNOWN else bool(pool)


def _check_legacy_abac(gke: Gke, config: Config) -> Iterator[str]:
    if flag(gke.props, "enableLegacyAbac") is True:
        yield f"{gke.describe()} enables legacy ABAC, which grants broad static permissions beside RBAC"


def _check_client_certificate(gke: Gke, config: Config) -> Iterator[str]:
    if flag(gke.props, "masterAuth", "clientCertificateConfig", "issueClientCertificate") is True:
        yield f"{gke.describe()} issues a client certificate: a non-revocable cluster-admin credential in state"


def _check_binary_authorization(gke: Gke, config: Config) -> Iterator[str]:
    mode = text(gke.props, "binaryAuthorization", "evaluationMode")
    enabled = flag(gke.props, "binaryAuthorization", "enabled")
    if mode is UNKNOWN or (mode is None and enabled is UNKNOWN):
        return
    if mode != "PROJECT_SINGLETON_POLICY_ENFORCE" and not (mode is None and enabled is True):
        yield (
            f"{gke.describe()} does not enforce Binary Authorization; set binaryAuthorization.evaluationMode "
            "PROJECT_SINGLETON_POLICY_ENFORCE so only attested images run"
        )


def _check_secrets_encryption(gke: Gke, config: Config) -> Iterator[str]:
    state = text(gke.props, "databaseEncryption", "state")
    key = text(gke.props, "databaseEncryption", "keyName")
    if UNKNOWN in (state, key):
        return
    if state != "ENCRYPTED" or not key:
        yield (
            f"{gke.describe()} does not encrypt Secrets with a Cloud KMS key; set databaseEncryption "
            "{state: ENCRYPTED, keyName: <KMS key>}"
        )


def _check_default_node_pool(gke: Gke, config: Config) -> Iterator[str]:
    if not _standard_only(gke):
        return
    remove = flag(gke.props, "removeDefaultNodePool")
    if remove is not UNKNOWN and remove is not True:
        yield (
            f"{gke.describe()} keeps the default node pool; set removeDefaultNodePool and manage pools as "
            "NodePool resources (their changes then never touch the cluster)"
        )
    pools = items(gke.props, "nodePools")
    if pools is not UNKNOWN and pools:
        yield f"{gke.describe()} declares node pools inline; declare them as separate NodePool resources"


def is_default_service_account(account: str) -> bool:
    return account == "default" or account.endswith("-compute@developer.gserviceaccount.com")


def _check_node_service_account(gke: Gke, config: Config) -> Iterator[str]:
    for where, node_config in _node_settings(gke):
        account = text(node_config, "serviceAccount")
        if account is UNKNOWN:
            continue
        if not account or is_default_service_account(account):
            yield (
                f"{where} runs as the Compute Engine default service account (project Editor); give nodes a "
                "dedicated service account with only the logging, monitoring and registry-read roles"
            )


def _check_security_posture(gke: Gke, config: Config) -> Iterator[str]:
    mode = text(gke.props, "securityPostureConfig", "mode")
    if mode == "DISABLED":
        yield (
            f"{gke.describe()} turns off security posture (workload configuration auditing); leave "
            "securityPostureConfig.mode unset or BASIC"
        )
    vulnerability = text(gke.props, "securityPostureConfig", "vulnerabilityMode")
    if isinstance(vulnerability, str) and vulnerability in REMOVED_VULNERABILITY_MODES:
        yield (
            f"{gke.describe()} asks for {vulnerability}, GKE's workload vulnerability scanning, which Google removed "
            "(standard tier July 2025, advanced June 2026); scan images in Artifact Registry instead"
        )


def _check_intranode_visibility(gke: Gke, config: Config) -> Iterator[str]:
    if not _standard_only(gke):
        return  # Autopilot decides itself
    enabled = flag(gke.props, "enableIntranodeVisibility")
    if enabled is not UNKNOWN and enabled is not True:
        yield (
            f"{gke.describe()} does not route pod-to-pod traffic on a node through the VPC "
            "(enableIntranodeVisibility), so flow logs and firewall rules miss it"
        )


def _check_vpc_native(gke: Gke, config: Config) -> Iterator[str]:
    mode = text(gke.props, "networkingMode")
    ranges = get(gke.props, "clusterIpv4Cidr")
    if mode is UNKNOWN or ranges is UNKNOWN:
        return
    # The provider creates VPC-native clusters unless told ROUTES or given a routes-based pod range.
    routes = mode == "ROUTES" or (mode is None and isinstance(ranges, str) and ranges != "")
    if routes and gke.autopilot is False:
        yield (
            f"{gke.describe()} is routes-based; use networkingMode VPC_NATIVE with ipAllocationPolicy (alias IPs: "
            "needed for private clusters, NEGs, Dataplane V2 and Network Policy at scale)"
        )


def _check_boot_disk_cmek(gke: Gke, config: Config) -> Iterator[str]:
    for where, node_config in _node_settings(gke):
        key = text(node_config, "bootDiskKmsKey")
        if key is not UNKNOWN and not key:
            yield f"{where} encrypts its boot disks with a Google-managed key; set bootDiskKmsKey to a Cloud KMS key"


def _check_google_groups_rbac(gke: Gke, config: Config) -> Iterator[str]:
    group = text(gke.props, "authenticatorGroupsConfig", "securityGroup")
    if group is UNKNOWN:
        return
    if not group:
        yield (
            f"{gke.describe()} cannot bind RBAC roles to Google Groups; set authenticatorGroupsConfig.securityGroup "
            "(gke-security-groups@<your domain>)"
        )
    elif not RBAC_SECURITY_GROUP.fullmatch(group):
        yield (
            f"{gke.describe()} names {group} as its RBAC security group; GKE only accepts gke-security-groups@<domain>"
        )


def binary_authorization_policy_problems(props: dict[str, Any]) -> Iterator[str]:
    """What makes a project's Binary Authorization policy admit images it should not."""
    rules: list[tuple[str, dict[str, Any] | Unknown]] = [
        ("the default admission rule", obj(props, "defaultAdmissionRule"))
    ]
    for index, cluster_rule in enumerate(known_dicts(props, "clusterAdmissionRules")):
        cluster = text(cluster_rule, "cluster")
        rules.append((f"the admission rule of cluster {cluster if isinstance(cluster, str) else index}", cluster_rule))
    for where, rule in rules:
        if text(rule, "evaluationMode") == "ALWAYS_ALLOW":
            yield f"{where} admits every image (ALWAYS_ALLOW); use ALWAYS_DENY or REQUIRE_ATTESTATION"
    for entry in known_dicts(props, "admissionWhitelistPatterns"):
        pattern = text(entry, "namePattern")
        if isinstance(pattern, str) and "/" not in pattern.rstrip("*").rstrip("/"):
            yield (
                f"the allow-list pattern {pattern} admits every image of a whole registry; name the repository "
                "paths (registry/project/repository/**)"
            )


def _check_binary_authorization_policy(resource: Resource, config: Config) -> Iterator[str]:
    if resource.type != BINAUTHZ_POLICY:
        raise NotApplicable("not a Binary Authorization policy")
    for problem in binary_authorization_policy_problems(resource.props):
        yield f"Binary Authorization policy ({resource.name}): {problem}"


def _rule(
    name: str,
    description: str,
    steps: str,
    *,
    severity: Severity = Severity.HIGH,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    settings: tuple[Setting, ...] = (),
) -> Rule:
    return Rule(
        name=name,
        description=description,
        enforcement=enforcement,
        severity=severity,
        remediation_steps=steps,
        settings=settings,
        url=HARDENING_URL,
        tags=("gke",),
    )


BOTH = (CLUSTER, NODE_POOL)
RULES: list[tuple[Rule, tuple[str, ...], GkeCheck]] = [
    (
        _rule("gke-autopilot-regional", "Autopilot clusters are regional.", "Use a region as location."),
        (CLUSTER,),
        _check_autopilot_regional,
    ),
    (
        _rule(
            "gke-private-nodes",
            "Nodes have internal IP addresses only.",
            "Set privateClusterConfig.enablePrivateNodes and route egress through Cloud NAT.",
        ),
        BOTH,
        _check_private_nodes,
    ),
    (
        _rule(
            "gke-master-authorized-networks",
            (
                "The IP-based control-plane endpoints accept connections only from authorized networks, never "
                "0.0.0.0/0, and a public endpoint never lists private ranges (their clients cannot reach it)."
            ),
            "Set masterAuthorizedNetworksConfig.cidrBlocks to the CI and operator networks, or use the DNS endpoint.",
        ),
        (CLUSTER,),
        _check_authorized_networks,
    ),
    (
        _rule(
            "gke-workload-identity",
            "Workload Identity is enabled and node pools hide node credentials (GKE_METADATA).",
            "Set workloadIdentityConfig.workloadPool and nodeConfig.workloadMetadataConfig.mode GKE_METADATA.",
        ),
        BOTH,
        _check_workload_identity,
    ),
    (
        _rule(
            "gke-shielded-nodes",
            "Nodes, auto-provisioned ones included, are shielded VMs with secure boot and integrity monitoring.",
            "Set shieldedInstanceConfig {enableSecureBoot: true, enableIntegrityMonitoring: true} on node configs and "
            "clusterAutoscaling.autoProvisioningDefaults.",
        ),
        BOTH,
        _check_shielded_nodes,
    ),
    (
        _rule(
            "gke-release-channel",
            "The cluster is enrolled in a release channel.",
            "Set releaseChannel.channel (REGULAR by default).",
            severity=Severity.MEDIUM,
        ),
        (CLUSTER,),
        _check_release_channel,
    ),
    (
        _rule(
            "gke-node-auto-repair-upgrade",
            "Node pools keep auto-repair and auto-upgrade on.",
            "Remove management.autoRepair/autoUpgrade=false.",
            severity=Severity.MEDIUM,
        ),
        BOTH,
        _check_auto_repair_upgrade,
    ),
    (
        _rule(
            "gke-node-image",
            "Nodes run Container-Optimized OS with containerd.",
            "Set nodeConfig.imageType COS_CONTAINERD (or leave it unset).",
            severity=Severity.MEDIUM,
            settings=(Setting("allowedImageTypes", "Node image types allowed.", ["COS_CONTAINERD"]),),
        ),
        BOTH,
        _check_node_image,
    ),
    (
        _rule(
            "gke-network-policy-enforcement",
            "The cluster enforces NetworkPolicies (Dataplane V2 or the network policy addon).",
            "Set datapathProvider ADVANCED_DATAPATH.",
        ),
        (CLUSTER,),
        _check_network_policy,
    ),
    (
        _rule("gke-legacy-abac-disabled", "Legacy ABAC is off.", "Remove enableLegacyAbac."),
        (CLUSTER,),
        _check_legacy_abac,
    ),
    (
        _rule(
            "gke-client-certificate-disabled",
            "The cluster issues no client certificate.",
            "Set masterAuth.clientCertificateConfig.issueClientCertificate false.",
        ),
        (CLUSTER,),
        _check_client_certificate,
    ),
    (
        _rule(
            "gke-binary-authorization",
            "Binary Authorization is enforced.",
            "Set binaryAuthorization.evaluationMode PROJECT_SINGLETON_POLICY_ENFORCE.",
            severity=Severity.MEDIUM,
        ),
        (CLUSTER,),
        _check_binary_authorization,
    ),
    (
        _rule(
            "gke-secrets-encryption",
            "Kubernetes Secrets are encrypted at the application layer with a Cloud KMS key.",
            "Set databaseEncryption {state: ENCRYPTED, keyName: projects/.../cryptoKeys/...}.",
            severity=Severity.MEDIUM,
            enforcement=EnforcementLevel.ADVISORY,
        ),
        (CLUSTER,),
        _check_secrets_encryption,
    ),
    (
        _rule(
            "gke-no-default-node-pool",
            "Standard clusters remove the default node pool and manage node pools as separate resources.",
            "Set removeDefaultNodePool: true and initialNodeCount: 1; add NodePool resources.",
            severity=Severity.MEDIUM,
        ),
        (CLUSTER,),
        _check_default_node_pool,
    ),
    (
        _rule(
            "gke-node-service-account",
            "Nodes run as a dedicated least-privilege service account, not the Compute Engine default.",
            "Set nodeConfig.serviceAccount (Autopilot: clusterAutoscaling.autoProvisioningDefaults.serviceAccount).",
        ),
        BOTH,
        _check_node_service_account,
    ),
    (
        _rule(
            "gke-security-posture",
            "Security posture (workload configuration auditing) stays on; no removed vulnerability-scanning mode.",
            "Leave securityPostureConfig.mode unset or BASIC; set vulnerabilityMode VULNERABILITY_DISABLED or unset.",
            severity=Severity.MEDIUM,
            enforcement=EnforcementLevel.ADVISORY,
        ),
        (CLUSTER,),
        _check_security_posture,
    ),
    (
        _rule(
            "gke-intranode-visibility",
            "Standard clusters send pod-to-pod traffic within a node through the VPC (flow logs, firewall rules).",
            "Set enableIntranodeVisibility: true.",
            severity=Severity.LOW,
            enforcement=EnforcementLevel.ADVISORY,
        ),
        (CLUSTER,),
        _check_intranode_visibility,
    ),
    (
        _rule(
            "gke-vpc-native",
            "Standard clusters are VPC-native (alias IPs), not routes-based.",
            "Set networkingMode VPC_NATIVE and ipAllocationPolicy; drop clusterIpv4Cidr.",
        ),
        (CLUSTER,),
        _check_vpc_native,
    ),
    (
        _rule(
            "gke-boot-disk-cmek",
            "Node boot disks are encrypted with a customer-managed Cloud KMS key.",
            "Set nodeConfig.bootDiskKmsKey (Autopilot: clusterAutoscaling.autoProvisioningDefaults.bootDiskKmsKey).",
            severity=Severity.LOW,
            enforcement=EnforcementLevel.ADVISORY,
        ),
        BOTH,
        _check_boot_disk_cmek,
    ),
    (
        _rule(
            "gke-google-groups-rbac",
            "RBAC can name Google Groups: the cluster sets a gke-security-groups@<domain> security group.",
            "Set authenticatorGroupsConfig.securityGroup to gke-security-groups@<your domain>.",
            severity=Severity.LOW,
            enforcement=EnforcementLevel.ADVISORY,
        ),
        (CLUSTER,),
        _check_google_groups_rbac,
    ),
]


def policies() -> list[ResourceValidationPolicy]:
    return [
        *(
            resource_policy(rule, gke_rule(types, check), resource_types=frozenset(types))
            for rule, types, check in RULES
        ),
        resource_policy(
            _rule(
                "gke-binary-authorization-policy",
                (
                    "The project's Binary Authorization policy denies by default (or requires attestations) and "
                    "allow-lists repository paths, not whole registries."
                ),
                "Set defaultAdmissionRule.evaluationMode ALWAYS_DENY or REQUIRE_ATTESTATION; narrow the patterns.",
            ),
            _check_binary_authorization_policy,
            resource_types=frozenset({BINAUTHZ_POLICY}),
        ),
    ]
