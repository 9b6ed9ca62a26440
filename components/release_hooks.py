"""What a GitOps app's Argo CD sync hooks may do in its namespace, owned by the platform.

A Recreate app with a migration, delivered by Argo CD, stops itself with a sync hook
that deletes its Deployment (components/workloads/recreate.py). The hook needs an
identity allowed to do exactly that and a way through the namespace's default-deny
egress to the Kubernetes API. Those are RBAC and NetworkPolicy objects, which the
environments' AppProjects never let Git sync (an app must not widen its own access),
so this stack creates them:

- a ServiceAccount `{app}-release-hooks`;
- a Role allowing get, list, watch and delete on the app's own Deployment only (list
  and watch with resourceNames work for the field-selected watch kubectl waits with);
- a RoleBinding;
- a NetworkPolicy letting only the hook pods reach the API server's addresses on 443
  and 6443 (the Service `kubernetes` forwards to either, by distribution)."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from .config import AppConfig
from .workloads import release_hook_account
from .workloads.pod import app_labels
from .workloads.recreate import HOOK_COMPONENT, HOOK_LABEL

API_SERVER_PORTS = (443, 6443)


class ReleaseHookAccess(pulumi.ComponentResource):
    """The identity and network access of one GitOps app's release hooks."""

    service_account_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        app: AppConfig,
        *,
        namespace: pulumi.Input[str],
        api_server_cidrs: pulumi.Input[Sequence[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("delivery-platform:release_hooks:ReleaseHookAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account_name = release_hook_account(app)
        labels = app_labels(app, HOOK_COMPONENT) | {"app.kubernetes.io/managed-by": "pulumi"}

        def meta() -> k8s.meta.v1.ObjectMetaArgsDict:
            return {"name": account_name, "namespace": namespace, "labels": labels}

        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=meta(), automount_service_account_token=False, opts=child
        )
        role = k8s.rbac.v1.Role(
            f"{name}-role",
            metadata=meta(),
            rules=[
                {
                    "api_groups": ["apps"],
                    "resources": ["deployments"],
                    "resource_names": [app.name],
                    "verbs": ["get", "list", "watch", "delete"],
                }
            ],
            opts=child,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-binding",
            metadata=meta(),
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": account.metadata.name, "namespace": namespace}],
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-api-egress",
            metadata={**meta(), "name": f"{account_name}-api"},
            spec={
                "pod_selector": {"match_labels": {"app.kubernetes.io/name": app.name, HOOK_LABEL: "stop"}},
                "policy_types": ["Egress"],
                "egress": pulumi.Output.from_input(api_server_cidrs).apply(_api_server_egress),
            },
            opts=child,
        )
        self.service_account_name = account.metadata.name
        self.register_outputs({"serviceAccountName": self.service_account_name})


def _api_server_egress(cidrs: Sequence[str]) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgsDict]:
    # A rule with no `to` would allow every destination: no address, no rule.
    if not cidrs:
        return []
    return [
        {
            "to": [{"ip_block": {"cidr": cidr}} for cidr in cidrs],
            "ports": [{"protocol": "TCP", "port": port} for port in API_SERVER_PORTS],
        }
    ]
