"""An environment (test, uat, prod, ...) as an isolated namespace.

The cluster network is flat - any pod can reach any Service in any namespace - so a
namespace isolates nothing until told to. An Environment is a Namespace plus:

- Pod Security Standards labels: `enforce` at the configured level (restricted by
  default), `audit` and `warn` always at restricted, each with the configured version;
- NetworkPolicies: deny all ingress and egress, then allow traffic within the
  namespace, DNS (kube-dns pods and the GKE node-local resolvers), the GKE metadata
  server's ports that Workload Identity needs (where enabled), and the namespaces and
  address ranges the config lists;
- a ResourceQuota and a LimitRange (defaults for containers that set no resources);
- the registry pull Secret (kubernetes.io/dockerconfigjson) built from the registry
  config and the password from a Pulumi config secret, never a plain value;
- the namespace's `default` ServiceAccount patched to mount no API token and to pull
  with that Secret (apps get their own ServiceAccount, see workloads)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from .config import EnvironmentConfig, RegistryConfig
from .config.workloads import GKE_METADATA_SERVER
from .workloads.pod import name_of

PSS_LABEL = "pod-security.kubernetes.io"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by Kubernetes on every namespace
ENVIRONMENT_LABEL = "delivery-platform/environment"
DNS_PORT = 53


def dockerconfigjson(server: str, username: str, password: str) -> str:
    """The `.dockerconfigjson` document kubelet reads for registry credentials."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {server: {"username": username, "password": password, "auth": auth}}})


def _peer_namespaces(names: Sequence[str]) -> k8s.networking.v1.NetworkPolicyPeerArgsDict:
    return {
        "namespace_selector": {
            "match_expressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": list(names)}]
        }
    }


class Environment(pulumi.ComponentResource):
    """One isolated namespace; see the module docstring for what it holds."""

    namespace: pulumi.Output[str]
    # The pull Secret's name, once it exists; None without a registry pull secret.
    pull_secret_name: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        config: EnvironmentConfig,
        registry: RegistryConfig | None = None,
        registry_password: pulumi.Input[str] | None = None,
        *,
        allow_metadata_server: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`allow_metadata_server`: what `config.allowMetadataServer` leaves to the
        caller (null), i.e. whether the cluster is a GKE one; the config wins if set."""
        super().__init__("delivery-platform:environment:Environment", name, None, opts)
        self._name = name
        self._config = config
        self._metadata_server = (
            allow_metadata_server if config.allow_metadata_server is None else config.allow_metadata_server
        )
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": config.name, "labels": self._namespace_labels()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Taken from the Namespace's outputs, so every object below waits for it.
        self.namespace = name_of(namespace)

        self._network_policies()
        self._quota_and_limits()
        self.pull_secret_name = self._pull_secret(registry, registry_password)
        self._default_service_account()
        self.register_outputs({"namespace": self.namespace, "pullSecretName": self.pull_secret_name})

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _meta(self, object_name: str) -> k8s.meta.v1.ObjectMetaArgsDict:
        return {
            "name": object_name,
            "namespace": self.namespace,
            "labels": {ENVIRONMENT_LABEL: self._config.name, "app.kubernetes.io/managed-by": "pulumi"},
        }

    def _namespace_labels(self) -> dict[str, str]:
        config = self._config
        labels = {ENVIRONMENT_LABEL: config.name, "app.kubernetes.io/managed-by": "pulumi"}
        levels = {"enforce": config.pod_security, "audit": "restricted", "warn": "restricted"}
        for mode, level in levels.items():
            labels[f"{PSS_LABEL}/{mode}"] = level
            labels[f"{PSS_LABEL}/{mode}-version"] = config.pod_security_version
        return labels

    def _policy(self, suffix: str, spec: k8s.networking.v1.NetworkPolicySpecArgsDict) -> None:
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-{suffix}", metadata=self._meta(suffix), spec=spec, opts=self._child()
        )

    def _network_policies(self) -> None:
        config = self._config
        every_pod: k8s.meta.v1.LabelSelectorArgsDict = {}
        self._policy("default-deny", {"pod_selector": every_pod, "policy_types": ["Ingress", "Egress"]})
        self._policy(
            "allow-same-namespace",
            {
                "pod_selector": every_pod,
                "policy_types": ["Ingress", "Egress"],
                "ingress": [{"from_": [{"pod_selector": every_pod}]}],
                "egress": [{"to": [{"pod_selector": every_pod}]}],
            },
        )
        dns_peers: list[k8s.networking.v1.NetworkPolicyPeerArgsDict] = [
            {
                "namespace_selector": {"match_labels": {NAMESPACE_NAME_LABEL: "kube-system"}},
                "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
            }
        ]
        dns_peers += [{"ip_block": {"cidr": cidr}} for cidr in config.dns_resolver_cidrs]
        self._policy(
            "allow-dns",
            {
                "pod_selector": every_pod,
                "policy_types": ["Egress"],
                "egress": [
                    {
                        "to": dns_peers,
                        "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
                    }
                ],
            },
        )
        if self._metadata_server:
            self._policy(
                "allow-metadata-server",
                {
                    "pod_selector": every_pod,
                    "policy_types": ["Egress"],
                    "egress": [
                        {"to": [{"ip_block": {"cidr": cidr}}], "ports": [{"protocol": "TCP", "port": port}]}
                        for cidr, port in GKE_METADATA_SERVER
                    ],
                },
            )
        ingress_peers: list[k8s.networking.v1.NetworkPolicyPeerArgsDict] = []
        if config.allow_from_namespaces:
            ingress_peers.append(_peer_namespaces(config.allow_from_namespaces))
        ingress_peers += [{"ip_block": {"cidr": cidr}} for cidr in config.allow_from_cidrs]
        if ingress_peers:
            self._policy(
                "allow-ingress-from",
                {"pod_selector": every_pod, "policy_types": ["Ingress"], "ingress": [{"from_": ingress_peers}]},
            )
        egress_peers: list[k8s.networking.v1.NetworkPolicyPeerArgsDict] = []
        if config.allow_to_namespaces:
            egress_peers.append(_peer_namespaces(config.allow_to_namespaces))
        egress_peers += [{"ip_block": {"cidr": cidr}} for cidr in config.allow_to_cidrs]
        if egress_peers:
            self._policy(
                "allow-egress-to",
                {"pod_selector": every_pod, "policy_types": ["Egress"], "egress": [{"to": egress_peers}]},
            )

    def _quota_and_limits(self) -> None:
        quota = self._config.quota
        hard = {
            "requests.cpu": quota.requests_cpu,
            "requests.memory": quota.requests_memory,
            "limits.memory": quota.limits_memory,
            "pods": str(quota.pods),
            "services.loadbalancers": str(quota.services_load_balancers),
            "services.nodeports": str(quota.services_node_ports),
        }
        if quota.limits_cpu is not None:
            hard["limits.cpu"] = quota.limits_cpu
        k8s.core.v1.ResourceQuota(
            f"{self._name}-quota", metadata=self._meta("quota"), spec={"hard": hard}, opts=self._child()
        )

        defaults = self._config.container_defaults
        default_limits = {"memory": defaults.limit_memory}
        if defaults.limit_cpu is not None:
            default_limits["cpu"] = defaults.limit_cpu
        k8s.core.v1.LimitRange(
            f"{self._name}-limits",
            metadata=self._meta("container-defaults"),
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "default": default_limits,
                        "default_request": {"cpu": defaults.request_cpu, "memory": defaults.request_memory},
                    }
                ]
            },
            opts=self._child(),
        )

    def _pull_secret(
        self, registry: RegistryConfig | None, password: pulumi.Input[str] | None
    ) -> pulumi.Output[str] | None:
        if registry is None or not registry.create_pull_secret:
            return None
        if password is None:
            raise ValueError(
                f"environment {self._config.name!r}: the registry pull secret needs the Pulumi config secret "
                f"{registry.password_key!r} (pulumi config set --secret {registry.password_key} ...)"
            )
        document = pulumi.Output.secret(password).apply(
            lambda value: dockerconfigjson(registry.server, registry.username, value)
        )
        secret = k8s.core.v1.Secret(
            f"{self._name}-registry",
            metadata=self._meta(registry.pull_secret_name),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": document},
            opts=self._child(),
        )
        return name_of(secret)

    def _default_service_account(self) -> None:
        """Server-side apply patch: the `default` account is Kubernetes', not ours."""
        k8s.core.v1.ServiceAccountPatch(
            f"{self._name}-default-sa",
            metadata={"name": "default", "namespace": self.namespace},
            automount_service_account_token=False,
            image_pull_secrets=[{"name": self.pull_secret_name}] if self.pull_secret_name is not None else None,
            opts=self._child(),
        )
