"""The dev stack's Jenkins and Argo CD, all but their charts, applied by the real engine
to the local control plane with Argo CD's CRDs (from the Argo CD Go module): the API
server accepts the namespaces and their Pod Security levels, RBAC, Secrets, the build
PodTemplate, NetworkPolicies, AppProjects and Applications; a second preview shows no
change (the passwords and the bcrypt hash are stable); destroy removes them.

The charts' source is a path that does not exist with `whenUnreachable: skip`, so the
run takes the path a machine without chart sources takes (dev.sh offline, CI) whether
or not this one could reach the upstream repositories. kwok runs no controller of Argo
CD's: Applications are checked as accepted objects, not as synced."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.config import PROJECT, StackConfig, validate_stack_config
from components.release.stackfile import platform_settings
from tests.conftest import repo_stack_file
from tests.e2e.argocd import ArgoCDBinaries
from tests.e2e.controlplane import LocalControlPlane
from tests.e2e.pulumi_cli import PulumiProject

STACK = "delivery-e2e"
MISSING_CHARTS = "/nonexistent/delivery-platform-charts"
# Namespaces of their own, so the shared cluster's other tests (a real Argo CD in
# `argocd`, the strategies' environments) never meet these objects or their deletion.
NAMESPACES = {
    "jenkins": {"namespace": "ci-e2e", "agentNamespace": "ci-agents-e2e"},
    "argocd": {"namespace": "cd-e2e"},
}
ARGO = "argoproj.io/v1alpha1"
TIMEOUT = 600.0


def stack_document(kubeconfig: Path) -> dict[str, Any]:
    """The dev stack file (its encrypted passwords included) on the local cluster, with
    chart sources that cannot be found."""
    document = copy.deepcopy(repo_stack_file("dev"))
    config: dict[str, Any] = document["config"]
    config[f"{PROJECT}:cluster"] = {"kind": "kubeconfig", "path": str(kubeconfig)}
    for component, chart in (("jenkins", "jenkins"), ("argocd", "argo-cd")):
        section = config[f"{PROJECT}:{component}"]
        section["chart"] = {"path": f"{MISSING_CHARTS}/{chart}", "whenUnreachable": "skip"}
        section.update(NAMESPACES[component])
    # No Argo CD controller runs here to remove the resources finalizer a cascading
    # Application carries, so its deletion (and the destroy) would wait forever.
    config[f"{PROJECT}:argocd"]["cascadeDelete"] = False
    # One app delivered through Git, so Argo CD gets an Application (the others stay Pulumi's).
    config[f"{PROJECT}:apps"][1]["delivery"] = "gitops"
    return document


def expected_config() -> StackConfig:
    return validate_stack_config(platform_settings(stack_document(Path("kubeconfig"))))


@pytest.fixture(scope="module")
def deployed(control_plane: LocalControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulumiProject]:
    control_plane.install_crds(ArgoCDBinaries.locate().crds)
    workdir = tmp_path_factory.mktemp("delivery")
    project = PulumiProject(workdir, {STACK: stack_document(control_plane.kubeconfig)})
    project.init_stack(STACK)
    try:
        project.run("up", "--stack", STACK, "--yes", "--skip-preview", timeout=TIMEOUT)
        yield project
    finally:
        project.run("destroy", "--stack", STACK, "--yes", "--skip-preview", check=False, timeout=TIMEOUT)


def _get(control_plane: LocalControlPlane, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
    client = control_plane.client
    found = client.get_or_none(client.path_for(api_version, kind, name, namespace))
    assert found is not None, f"no {kind} {namespace}/{name} on the server"
    return found


def test_namespaces_carry_the_pod_security_level_each_system_passes(
    deployed: PulumiProject, control_plane: LocalControlPlane
) -> None:
    config = expected_config()
    levels = {
        config.jenkins.namespace: "restricted",
        config.jenkins.agent_namespace: "privileged",  # the dev builder is rootless BuildKit
        config.argocd.namespace: "restricted",
    }
    for namespace, level in levels.items():
        labels = _get(control_plane, "v1", "Namespace", namespace)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == level
        assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_secrets_hold_the_keys_the_charts_read(deployed: PulumiProject, control_plane: LocalControlPlane) -> None:
    config = expected_config()
    admin = _get(control_plane, "v1", "Secret", "jenkins-admin", config.jenkins.namespace)
    assert set(admin["data"]) == {"jenkins-admin-user", "jenkins-admin-password"}
    redis = _get(control_plane, "v1", "Secret", "argocd-redis", config.argocd.namespace)
    assert set(redis["data"]) == {"auth"}


def test_agents_rbac_and_the_build_pod_are_accepted(deployed: PulumiProject, control_plane: LocalControlPlane) -> None:
    agents = expected_config().jenkins.agent_namespace
    binding = _get(control_plane, "rbac.authorization.k8s.io/v1", "RoleBinding", "jenkins-agent", agents)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "jenkins-agent", "namespace": agents}]
    template = _get(control_plane, "v1", "PodTemplate", "image-builder", agents)
    containers = {container["name"] for container in template["template"]["spec"]["containers"]}
    assert containers == {"jnlp", "builder", "pulumi"}
    seed_jobs = _get(control_plane, "v1", "ConfigMap", "jenkins-seed-jobs", expected_config().jenkins.namespace)
    assert seed_jobs["metadata"]["labels"] == {"jenkins-jenkins-config": "true"}


def test_every_system_namespace_denies_by_default(deployed: PulumiProject, control_plane: LocalControlPlane) -> None:
    client, config = control_plane.client, expected_config()
    for namespace in (config.jenkins.namespace, config.jenkins.agent_namespace, config.argocd.namespace):
        listed = client.list_objects(client.path_for("networking.k8s.io/v1", "NetworkPolicy", namespace=namespace))
        policies = {item["metadata"]["name"]: item["spec"] for item in listed["items"]}
        assert policies["default-deny"]["podSelector"] == {}
        assert sorted(policies["default-deny"]["policyTypes"]) == ["Egress", "Ingress"]
        assert "allow-dns" in policies


def test_app_projects_and_applications_are_accepted(deployed: PulumiProject, control_plane: LocalControlPlane) -> None:
    config = expected_config()
    for environment in config.environments:
        project = _get(control_plane, ARGO, "AppProject", environment.name, config.argocd.namespace)
        assert project["spec"]["destinations"] == [
            {"server": "https://kubernetes.default.svc", "namespace": environment.name}
        ]
    gitops = [app for app in config.apps if app.delivery == "gitops"]
    assert gitops
    for app in gitops:
        application = _get(control_plane, ARGO, "Application", f"{app.environment}-{app.name}", config.argocd.namespace)
        assert application["spec"]["project"] == app.environment
        assert application["spec"]["destination"]["namespace"] == app.environment


def test_the_outputs_say_the_charts_were_skipped_for_want_of_a_source(deployed: PulumiProject) -> None:
    outputs = json.loads(deployed.run("stack", "output", "--stack", STACK, "--json").stdout)
    for component in ("jenkins", "argocd"):
        chart = outputs[component]["chart"]
        assert chart["deployed"] is False
        assert "no chart source is reachable" in chart["skippedBecause"]
        assert MISSING_CHARTS in chart["skippedBecause"]


def test_a_second_preview_changes_nothing(deployed: PulumiProject) -> None:
    preview = deployed.run("preview", "--stack", STACK, "--expect-no-changes", "--diff", check=False, timeout=TIMEOUT)
    assert preview.returncode == 0, preview.output
