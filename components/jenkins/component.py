"""The Jenkins component: namespaces, the admin Secret, agent identity and RBAC, the
build pod, the seed jobs, NetworkPolicies, and the chart configured with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import system_network as net
from ..charts import JENKINS_CHART, ChartRelease, deploy_chart, system_namespace_labels
from ..config import AppConfig, JenkinsConfig, RegistryConfig
from ..config.delivery import ReleaseRepo
from ..environment import dockerconfigjson
from .builders import BUILDERS
from .groovy import jcasc_literal, to_yaml
from .pipelines import BUILD_POD_LABEL, job_dsl, seed_jobs
from .pod_templates import build_pod, jcasc_pod_template
from .values import (
    ADMIN_PASSWORD_KEY,
    ADMIN_SECRET,
    ADMIN_USER_KEY,
    AGENT_LISTENER_PORT,
    AGENT_SERVICE_ACCOUNT,
    CONTROLLER_POD_LABELS,
    HTTP_PORT,
    JCASC_LABEL,
    RELEASE_NAME,
    chart_values,
)

ADMIN_USER = "admin"
PUSH_SECRET = "registry-push"
READ_ONLY = ["get", "list", "watch"]
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
NETWORK_POLICY_LABELS = {"app.kubernetes.io/part-of": "delivery-platform", "app.kubernetes.io/component": "ci"}


def controller_network_policies(config: JenkinsConfig) -> dict[str, dict[str, Any]]:
    """The controller's namespace: agents connect in (HTTP and the agent listener), the
    gateway too when Jenkins is exposed; out: DNS, and HTTPS/SSH to the API server, Git
    and the plugin source. The config-reload sidecar talks to Jenkins inside the pod."""
    controller = net.pods(CONTROLLER_POD_LABELS)
    policies = {
        "default-deny": net.default_deny(),
        "allow-dns": net.dns(),
        "allow-from-agents": net.ingress_from(
            controller, [net.in_namespace(config.agent_namespace)], [HTTP_PORT, AGENT_LISTENER_PORT]
        ),
        "allow-egress-https-ssh": net.egress_to_cidrs(
            net.EVERY_POD, config.egress_cidrs, [net.HTTPS_PORT, net.API_SERVER_PORT, net.SSH_PORT]
        ),
    }
    if config.expose_via_gateway:
        policies["allow-from-gateway"] = net.ingress_from(
            controller, [net.in_namespace(config.gateway.namespace)], [HTTP_PORT]
        )
    return policies


def agent_network_policies(config: JenkinsConfig) -> dict[str, dict[str, Any]]:
    """The build pods' namespace: nothing comes in; out: the controller, DNS, HTTPS/SSH
    (sources, registries, the release repo) and, with Workload Identity, the GKE
    metadata server."""
    policies = {
        "default-deny": net.default_deny(),
        "allow-dns": net.dns(),
        "allow-to-controller": net.egress_to(
            net.EVERY_POD,
            [net.in_namespace(config.namespace, net.pods(CONTROLLER_POD_LABELS))],
            [HTTP_PORT, AGENT_LISTENER_PORT],
        ),
        "allow-egress-https-ssh": net.egress_to_cidrs(
            net.EVERY_POD, config.egress_cidrs, [net.HTTPS_PORT, net.SSH_PORT]
        ),
    }
    if config.agent_gcp_service_account:
        policies["allow-gke-metadata"] = net.gke_metadata(net.EVERY_POD)
    return policies


class Jenkins(pulumi.ComponentResource):
    """Jenkins in its own namespace with build agents in another, configured as code.

    The admin password comes from the stack's secrets and lives only in a Secret the
    chart reads through controller.admin.existingSecret. Plugins are pinned. Seed jobs
    are a JCasC file in a ConfigMap that the chart's config-reload sidecar loads, and
    the build pod is declared as a PodTemplate too, so both exist (and render, and are
    checked by the policy pack) even when the chart itself is skipped."""

    namespace: pulumi.Output[str]
    agent_namespace: pulumi.Output[str]
    url: str
    admin_password: pulumi.Output[str]
    seed_jobs: list[str]
    chart: ChartRelease

    def __init__(
        self,
        name: str,
        config: JenkinsConfig,
        *,
        apps: Sequence[AppConfig],
        release_repo: ReleaseRepo,
        stack: str,
        admin_password: pulumi.Input[str],
        registry: RegistryConfig | None = None,
        registry_password: pulumi.Input[str] | None = None,
        autopilot: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("delivery-platform:jenkins:Jenkins", name, None, opts)
        builder = BUILDERS[config.builder]
        builder_image = config.builder_image or builder.image
        if builder.deprecation:
            pulumi.log.warn(builder.deprecation, resource=self)
        if autopilot and builder.pod_security == "privileged":
            pulumi.log.warn(
                f"jenkins.builder {config.builder} needs seccomp and AppArmor Unconfined, which GKE Autopilot does "
                "not provide: builds will not start there; use kaniko on Autopilot or build on a Standard cluster",
                resource=self,
            )
        child = pulumi.ResourceOptions(parent=self)

        controller_ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": config.namespace, "labels": system_namespace_labels("ci", enforce="restricted")},
            opts=child,
        )
        agents_ns = k8s.core.v1.Namespace(
            f"{name}-agents-namespace",
            metadata={
                "name": config.agent_namespace,
                "labels": system_namespace_labels("ci", enforce=builder.pod_security),
            },
            opts=child,
        )
        self.namespace = controller_ns.metadata.name
        self.agent_namespace = agents_ns.metadata.name
        policies = net.network_policies(
            f"{name}-netpol", self.namespace, controller_network_policies(config), NETWORK_POLICY_LABELS, child
        )
        policies += net.network_policies(
            f"{name}-agents-netpol", self.agent_namespace, agent_network_policies(config), NETWORK_POLICY_LABELS, child
        )

        self.admin_password = pulumi.Output.secret(admin_password)
        admin_secret = k8s.core.v1.Secret(
            f"{name}-admin",
            metadata={"name": ADMIN_SECRET, "namespace": self.namespace},
            string_data={ADMIN_USER_KEY: ADMIN_USER, ADMIN_PASSWORD_KEY: self.admin_password},
            opts=child,
        )

        agent_meta: dict[str, Any] = {"name": AGENT_SERVICE_ACCOUNT, "namespace": self.agent_namespace}
        if config.agent_gcp_service_account:
            agent_meta["annotations"] = {WORKLOAD_IDENTITY_ANNOTATION: config.agent_gcp_service_account}
        agent_sa = k8s.core.v1.ServiceAccount(f"{name}-agent", metadata=agent_meta, opts=child)
        # Build pods may look at their own namespace (pods, logs, events) and nothing
        # else: no Secrets, no writes, no other namespace.
        agent_role = k8s.rbac.v1.Role(
            f"{name}-agent",
            metadata={"name": AGENT_SERVICE_ACCOUNT, "namespace": self.agent_namespace},
            rules=[{"api_groups": [""], "resources": ["pods", "pods/log", "events"], "verbs": READ_ONLY}],
            opts=child,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-agent",
            metadata={"name": AGENT_SERVICE_ACCOUNT, "namespace": self.agent_namespace},
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": agent_role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": agent_sa.metadata.name, "namespace": self.agent_namespace}],
            opts=child,
        )

        push_secret = self._push_secret(name, registry, registry_password, child)
        push_secret_name = PUSH_SECRET if push_secret else None
        pod = build_pod(config, builder, builder_image, push_secret_name)
        # Jenkins never reads this object: it declares the build pod in the cluster, where
        # the policy pack (and `kubectl get podtemplates`) can see what builds run as.
        k8s.core.v1.PodTemplate(
            f"{name}-build-pod",
            metadata={"name": BUILD_POD_LABEL, "namespace": self.agent_namespace, "labels": pod["metadata"]["labels"]},
            template={**pod, "spec": {**pod["spec"], "serviceAccountName": AGENT_SERVICE_ACCOUNT}},
            opts=child,
        )

        jobs = seed_jobs(config, builder, release_repo, apps, stack)
        self.seed_jobs = [job.full_name for job in jobs]
        seed_jobs_casc = to_yaml({"jobs": [{"script": job_dsl(jobs, config.poll_schedule)}]})
        seed_config = k8s.core.v1.ConfigMap(
            f"{name}-seed-jobs",
            metadata={
                "name": f"{RELEASE_NAME}-seed-jobs",
                "namespace": self.namespace,
                "labels": {JCASC_LABEL: "true"},
            },
            data={"seed-jobs.yaml": jcasc_literal(seed_jobs_casc)},
            opts=child,
        )

        self.url = (
            f"https://{config.hostname}"
            if config.expose_via_gateway
            else f"http://{RELEASE_NAME}.{config.namespace}.svc.cluster.local:{HTTP_PORT}"
        )
        template = jcasc_pod_template(config, builder, builder_image, AGENT_SERVICE_ACCOUNT, push_secret_name)
        _, self.chart = deploy_chart(
            f"{name}-chart",
            JENKINS_CHART,
            config.chart,
            config_key="jenkins.chart",
            release_name=RELEASE_NAME,
            # The name from config, not the Namespace's output: known in every preview.
            namespace=config.namespace,
            values=chart_values(config, self.url, template),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[controller_ns, agents_ns, admin_secret, agent_sa, seed_config, *policies]
                + ([push_secret] if push_secret else []),
            ),
            still_created=(
                "its namespaces, NetworkPolicies, admin Secret, agent RBAC, build PodTemplate and the seed-jobs "
                "JCasC ConfigMap"
            ),
        )

        self.register_outputs(
            {
                "namespace": self.namespace,
                "agentNamespace": self.agent_namespace,
                "url": self.url,
                "adminPassword": self.admin_password,
                "builder": {"name": config.builder, "image": builder_image},
                "seedJobs": self.seed_jobs,
                "chart": self.chart.output(),
            }
        )

    def _push_secret(
        self,
        name: str,
        registry: RegistryConfig | None,
        registry_password: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions,
    ) -> k8s.core.v1.Secret | None:
        """The docker config the builder pushes with, when the stack has a registry password."""
        if registry is None or registry_password is None:
            pulumi.log.info(
                "no registry password in the stack: builds push with the agent's Workload Identity "
                "(jenkins.agentGcpServiceAccount) or not at all",
                resource=self,
            )
            return None
        config_json = pulumi.Output.secret(registry_password).apply(
            lambda password: dockerconfigjson(registry.server, registry.username, password)
        )
        return k8s.core.v1.Secret(
            f"{name}-registry-push",
            metadata={"name": PUSH_SECRET, "namespace": self.agent_namespace},
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": config_json},
            opts=opts,
        )
