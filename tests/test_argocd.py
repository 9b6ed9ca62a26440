"""Argo CD: the chart's values (bcrypt admin password, HA), AppProjects that fence each
environment, Applications per app, and the 1:1 and 1:N topologies."""

from __future__ import annotations

import json
import logging
from typing import Any

import bcrypt
import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi.runtime.rpc import is_rpc_secret

from components.argocd import ArgoCD
from components.charts import ARGOCD_CHART
from components.config import AppConfig, ArgoCDConfig, ConfigError, EnvironmentConfig, validate_stack_config
from components.program import main
from tests.conftest import ProgramRunner, stack_file_config
from tests.graph import Graph, Registered
from tests.test_jenkins import leaks, secret_paths

CHART = "kubernetes:helm.sh/v4:Chart"
SECRET = "kubernetes:core/v1:Secret"
APP_PROJECT = "kubernetes:argoproj.io/v1alpha1:AppProject"
APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ADMIN_PASSWORD = "argocd-admin-Pq83nRt6Vb21"
REDIS_PASSWORD = "argocd-redis-Zm47cWs9Kd50"
IN_CLUSTER = "https://kubernetes.default.svc"  # Argo CD's name for the cluster it runs in
CLUSTER_LABEL = "argocd.argoproj.io/secret-type"
GSA = "argocd-hub@acme-prod.iam.gserviceaccount.com"

ENVIRONMENTS = [EnvironmentConfig(name="test"), EnvironmentConfig(name="prod")]
APPS = [
    AppConfig.model_validate(
        {
            "name": "catalog",
            "environment": "test",
            "image": "registry.example.com/shop/catalog:2.3.1-b77",
            "strategy": {"type": "rolling"},
        }
    ),
    AppConfig.model_validate(
        {
            "name": "storefront",
            "environment": "prod",
            "image": "registry.example.com/shop/storefront:7.2.0-b903",
            "strategy": {"type": "canary"},
        }
    ),
]
SPOKES: list[dict[str, Any]] = [
    {"name": "prod-eu", "server": "https://203.0.113.20", "caData": "RVUtQ0E=", "environments": ["prod"]},
    {"name": "prod-us", "server": "https://203.0.113.30", "caData": "VVMtQ0E=", "environments": ["prod"]},
]
HUB = {"topology": "1:N", "managedClusters": SPOKES, "workloadIdentityServiceAccount": GSA}


def run_argocd(run_program: ProgramRunner, config: dict[str, Any] | None = None) -> Graph:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        ArgoCD(
            "cd",
            ArgoCDConfig.model_validate(config or {}),
            environments=ENVIRONMENTS,
            apps=APPS,
            admin_password=ADMIN_PASSWORD,
            redis_password=REDIS_PASSWORD,
            opts=pulumi.ResourceOptions(provider=provider),
        )

    return run_program(program)


def unwrap(value: Any) -> Any:
    return value["value"] if is_rpc_secret(value) else value


def values(graph: Graph) -> dict[str, Any]:
    """The chart's values. They hold a secret, and the runtime marks the secret (or, under
    the mocks, which send no output values, the whole values input) secret."""
    found: dict[str, Any] = unwrap(graph.one(CHART).inputs["values"])
    return found


def admin_hash(graph: Graph) -> str:
    hashed: str = unwrap(values(graph)["configs"]["secret"]["argocdServerAdminPassword"])
    return hashed


def projects(graph: Graph) -> dict[str, Registered]:
    return {r.input("metadata.name"): r for r in graph.of_type(APP_PROJECT)}


def applications(graph: Graph) -> dict[str, Registered]:
    return {r.input("metadata.name"): r for r in graph.of_type(APPLICATION)}


def cluster_secrets(graph: Graph) -> list[Registered]:
    return [s for s in graph.of_type(SECRET) if s.input("metadata.labels").get(CLUSTER_LABEL) == "cluster"]


def test_chart_is_the_pinned_upstream_argo_cd_chart_in_its_own_namespace(run_program: ProgramRunner) -> None:
    chart = run_argocd(run_program).one(CHART)
    assert (chart.inputs["chart"], chart.inputs["version"]) == (ARGOCD_CHART.name, ARGOCD_CHART.version)
    assert chart.inputs["repositoryOpts"] == {"repo": "https://argoproj.github.io/argo-helm"}
    assert chart.inputs["namespace"] == ArgoCDConfig().namespace


def test_chart_source_override_reaches_the_chart(run_program: ProgramRunner) -> None:
    chart = run_argocd(run_program, {"chart": {"path": "vendor/argo-cd-10.1.1.tgz"}}).one(CHART)
    assert chart.inputs["chart"] == "vendor/argo-cd-10.1.1.tgz"
    assert "version" not in chart.inputs


def test_admin_password_is_a_secret_bcrypt_hash_of_the_given_password(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program)
    hashed = admin_hash(graph)
    assert bcrypt.checkpw(ADMIN_PASSWORD.encode(), hashed.encode())
    for sensitive in (ADMIN_PASSWORD, hashed):
        assert leaks(graph, sensitive) == []
    # Only the hash leaves the component, and only in the chart's values.
    assert [r.type for r in graph if any(secret_paths(r.inputs, ADMIN_PASSWORD))] == []
    assert [r.type for r in graph if any(secret_paths(r.inputs, hashed))] == [CHART]


def test_the_hash_is_stable_so_up_never_changes_it_for_the_same_password(run_program: ProgramRunner) -> None:
    assert admin_hash(run_argocd(run_program)) == admin_hash(run_argocd(run_program))


def test_password_time_is_fixed_and_rotation_gives_a_new_hash(run_program: ProgramRunner) -> None:
    rotated = "2026-09-01T08:00:00Z"
    graph = run_argocd(run_program, {"adminPasswordRotatedAt": rotated})
    # Without a fixed mtime the chart stamps the render time: a new Secret on every up.
    assert values(graph)["configs"]["secret"]["argocdServerAdminPasswordMtime"] == rotated
    assert admin_hash(graph) != admin_hash(run_argocd(run_program))
    assert bcrypt.checkpw(ADMIN_PASSWORD.encode(), admin_hash(graph).encode())


def _protects_and_leaves_one_evictable(budget: dict[str, Any], replicas: int) -> bool:
    """A budget the disruption controller enforces: at least one pod kept, one evictable.
    (`enabled` alone renders minAvailable 0 in argo-cd 10.1.1: it protects nothing.)"""
    if "maxUnavailable" in budget:
        return budget["enabled"] is True and 1 <= budget["maxUnavailable"] < replicas
    return budget["enabled"] is True and 1 <= budget.get("minAvailable", 0) < replicas


def test_single_instance_by_default(run_program: ProgramRunner) -> None:
    found = values(run_argocd(run_program))
    assert found["redis-ha"] == {"enabled": False}
    for component in ("controller", "server", "repoServer", "applicationSet"):
        assert found[component]["replicas"] == 1
        assert found[component]["pdb"] == {"enabled": False}


def test_ha_runs_redis_ha_and_two_of_each_stateless_component(run_program: ProgramRunner) -> None:
    found = values(run_argocd(run_program, {"ha": True}))
    assert found["redis-ha"]["enabled"] is True
    for component in ("server", "repoServer", "applicationSet"):
        assert found[component]["replicas"] >= 2
        assert _protects_and_leaves_one_evictable(found[component]["pdb"], found[component]["replicas"])
    # More controller replicas shard clusters; they do not fail over (chart HA docs):
    # a budget over its one pod could only block drains or protect nothing.
    assert found["controller"]["replicas"] == 1
    assert found["controller"]["pdb"] == {"enabled": False}
    # redis-ha (3 replicas by default) and its haproxy keep a quorum through drains.
    for budget in (found["redis-ha"]["podDisruptionBudget"], found["redis-ha"]["haproxy"]["podDisruptionBudget"]):
        assert budget == {"maxUnavailable": 1}


def test_one_app_project_per_environment_fenced_to_its_namespace(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program)
    config = ArgoCDConfig()
    found = projects(graph)
    assert sorted(found) == sorted(env.name for env in ENVIRONMENTS)
    for env, project in found.items():
        spec = project.inputs["spec"]
        assert project.input("metadata.namespace") == graph.one(CHART).inputs["namespace"]
        assert spec["sourceRepos"] == [config.release_repo.url]
        assert spec["destinations"] == [{"server": IN_CLUSTER, "namespace": env}]
        assert spec["clusterResourceBlacklist"] == [{"group": "*", "kind": "*"}]
        allowed = {(kind["group"], kind["kind"]) for kind in spec["namespaceResourceWhitelist"]}
        assert {("apps", "Deployment"), ("", "Service")} <= allowed
        # The objects that isolate a namespace stay the platform's.
        for kind in ("NetworkPolicy", "ResourceQuota", "LimitRange", "Role", "RoleBinding", "Namespace"):
            assert kind not in {k for _, k in allowed}, kind


def test_one_application_per_app_into_its_environment(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program)
    config = ArgoCDConfig()
    found = applications(graph)
    assert sorted(found) == sorted(f"{app.environment}-{app.name}" for app in APPS)
    for app in APPS:
        application = found[f"{app.environment}-{app.name}"]
        spec = application.inputs["spec"]
        assert spec["project"] == app.environment
        assert spec["destination"] == {"server": IN_CLUSTER, "namespace": app.environment}
        assert spec["source"]["repoURL"] == config.release_repo.url
        assert spec["source"]["targetRevision"] == config.release_repo.revision
        assert spec["source"]["path"] == f"{app.environment}/{app.name}"
        # Rendered manifests: a plain directory, nothing for Argo CD to template.
        assert spec["source"]["directory"] == {"recurse": False}
        assert "helm" not in spec["source"]
        assert "kustomize" not in spec["source"]
        project = projects(graph)[app.environment]
        assert project.urn in application.depends_on
        assert graph.one(CHART).urn in application.depends_on


def test_default_sync_is_automated_with_prune_self_heal_and_retry(run_program: ProgramRunner) -> None:
    policy = next(iter(applications(run_argocd(run_program)).values())).inputs["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True, "allowEmpty": False}
    assert "CreateNamespace=false" in policy["syncOptions"]
    assert "PruneLast=true" in policy["syncOptions"]
    assert "ServerSideApply=true" in policy["syncOptions"]
    retry = policy["retry"]
    assert retry["limit"] > 0
    assert retry["backoff"]["factor"] > 1
    assert {"duration", "maxDuration"} <= set(retry["backoff"])


def test_sync_settings_come_from_config(run_program: ProgramRunner) -> None:
    sync = {
        "prune": False,
        "selfHeal": False,
        "options": ["CreateNamespace=false", "Validate=true"],
        "retry": {"limit": 2, "backoff": {"duration": "10s", "factor": 3, "maxDuration": "10m"}},
    }
    policy = next(iter(applications(run_argocd(run_program, {"sync": sync})).values())).inputs["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": False, "selfHeal": False, "allowEmpty": False}
    assert policy["syncOptions"] == sync["options"]
    assert policy["retry"] == sync["retry"]


def test_manual_sync_has_no_automated_policy(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program, {"sync": {"automated": False}})
    for application in applications(graph).values():
        assert "automated" not in application.inputs["spec"]["syncPolicy"]


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("ssh://git@git.example.com/platform/releases.git", True),
        ("http://127.0.0.1:8080/releases.git", True),
        ("http://localhost/releases.git", True),
        ("http://git.example.com/releases.git", False),
        ("http://127.0.0.1.example.com/releases.git", False),
    ],
)
def test_plain_http_release_repos_only_on_loopback(url: str, accepted: bool) -> None:
    config = {"argocd": {"releaseRepo": {"url": url}}, "environments": [{"name": "test"}]}
    if accepted:
        assert validate_stack_config(config).argocd.release_repo.url == url
    else:
        with pytest.raises(ConfigError, match=r"argocd\.releaseRepo\.url"):
            validate_stack_config(config)


def test_applications_cascade_delete_unless_turned_off(run_program: ProgramRunner) -> None:
    # By default an app taken out of the config is pruned with its Application.
    with_finalizer = applications(run_argocd(run_program))
    without = applications(run_argocd(run_program, {"cascadeDelete": False}))
    assert all("finalizers" not in a.inputs["metadata"] for a in without.values())
    for application in with_finalizer.values():
        assert application.input("metadata.finalizers") == ["resources-finalizer.argocd.argoproj.io"]


def test_one_to_one_manages_only_its_own_cluster(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program, {"topology": "1:1"})
    assert cluster_secrets(graph) == []
    for application in applications(graph).values():
        assert application.input("spec.destination.server") == IN_CLUSTER
    for component in ("controller", "server"):
        assert "serviceAccount" not in values(graph)[component]


def test_hub_registers_each_spoke_as_a_cluster_secret_with_gke_exec_auth(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program, HUB)
    secrets = cluster_secrets(graph)
    assert len(secrets) == len(SPOKES)
    namespace = graph.one(CHART).inputs["namespace"]
    for spoke, secret in zip(SPOKES, sorted(secrets, key=lambda s: s.input("metadata.name")), strict=True):
        assert secret.input("metadata.namespace") == namespace
        data = secret.inputs["stringData"]["value"]
        assert data["name"] == spoke["name"]
        assert data["server"] == spoke["server"]
        config = json.loads(data["config"])
        assert config["execProviderConfig"]["command"] == "argocd-k8s-auth"
        assert config["execProviderConfig"]["args"] == ["gcp"]
        assert config["execProviderConfig"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
        assert config["tlsClientConfig"] == {"insecure": False, "caData": spoke["caData"]}
        # Workload Identity: no token, password or key is stored.
        assert not {"bearerToken", "password", "keyData"} & set(config)


def test_hub_uses_workload_identity_for_its_controller_and_server(run_program: ProgramRunner) -> None:
    found = values(run_argocd(run_program, HUB))
    for component in ("controller", "server"):
        assert found[component]["serviceAccount"]["annotations"] == {"iam.gke.io/gcp-service-account": GSA}


def test_hub_deploys_an_environment_to_every_spoke_hosting_it(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program, HUB)
    found = applications(graph)
    spoke_servers = sorted(str(spoke["server"]) for spoke in SPOKES)
    storefront = [a for a in found.values() if a.input("metadata.labels")["app.kubernetes.io/name"] == "storefront"]
    assert sorted(a.input("spec.destination.server") for a in storefront) == spoke_servers
    registrations = {s.inputs["stringData"]["value"]["server"]: s for s in cluster_secrets(graph)}
    for application in storefront:
        assert application.input("spec.destination.namespace") == "prod"
        # The spoke it targets is registered first.
        assert registrations[application.input("spec.destination.server")].urn in application.depends_on
    # No spoke hosts test: it stays in the hub's own cluster.
    (catalog,) = (a for a in found.values() if a.input("metadata.labels")["app.kubernetes.io/name"] == "catalog")
    assert catalog.input("spec.destination.server") == IN_CLUSTER
    prod = projects(graph)["prod"].inputs["spec"]["destinations"]
    assert sorted(d["server"] for d in prod) == spoke_servers
    assert {d["namespace"] for d in prod} == {"prod"}


def test_hub_spoke_environments_must_exist(run_program: ProgramRunner) -> None:
    hub = {**HUB, "managedClusters": [{**SPOKES[0], "environments": ["prod", "qa"]}]}
    with pytest.raises(ValueError, match=r"argocd\.managedClusters\[0\]\.environments\[1\]: 'qa'"):
        run_argocd(run_program, hub)


def test_every_object_is_namespaced_explicitly_and_uses_the_given_provider(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program, HUB)
    provider = graph.one("pulumi:providers:kubernetes", "cluster")
    component = graph.one("delivery-platform:argocd:ArgoCD", "cd")
    for resource in graph.descendants(component):
        if resource.type.startswith("kubernetes:"):
            assert resource.provider_urn == provider.urn, resource.name
        if (
            resource.custom
            and resource.type.startswith("kubernetes:")
            and resource.type != "kubernetes:core/v1:Namespace"
        ):
            assert resource.input("metadata.namespace") == graph.one(CHART).inputs["namespace"], resource.name


def test_skipped_chart_keeps_projects_and_applications(
    run_program: ProgramRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        # The dev stack's apps drive it, delivered through Git.
        dev = stack_file_config("dev")
        gitops_apps = [{**app, "delivery": "gitops"} for app in dev["apps"]]
        config = dev | {"argocd": {"chart": {"skip": True}}, "apps": gitops_apps}
        graph = run_program(main, config=config, stack="dev")
    component = graph.one("delivery-platform:argocd:ArgoCD")
    children = graph.children(component)
    assert CHART not in {r.type for r in children}
    assert sorted(projects(graph)) == sorted(env["name"] for env in dev["environments"])
    assert sorted(applications(graph)) == sorted(f"{app['environment']}-{app['name']}" for app in dev["apps"])
    assert any("argocd.chart.skip is true" in record.getMessage() for record in caplog.records)
    # Applications sync into the environments' namespaces, so those come first.
    namespaces = {r.input("metadata.name"): r for r in graph.of_type("kubernetes:core/v1:Namespace")}
    for env in dev["environments"]:
        assert namespaces[env["name"]].urn in component.depends_on


@pytest.mark.parametrize(
    ("argocd", "problem"),
    [
        (
            {"managedClusters": SPOKES[:1]},
            "delivery-platform:argocd.managedClusters: only a 1:N (hub) Argo CD manages other clusters",
        ),
        ({"topology": "1:N", "workloadIdentityServiceAccount": GSA}, "delivery-platform:argocd.managedClusters:"),
        ({"topology": "1:N", "managedClusters": SPOKES}, "delivery-platform:argocd.workloadIdentityServiceAccount:"),
        ({**HUB, "managedClusters": [SPOKES[0], SPOKES[0]]}, "delivery-platform:argocd.managedClusters[1].name:"),
        (
            {**HUB, "managedClusters": [SPOKES[0], {**SPOKES[1], "server": SPOKES[0]["server"]}]},
            "delivery-platform:argocd.managedClusters[1].server: https://203.0.113.20 is already registered",
        ),
        ({"sync": {"options": ["CreateNamespace=true"]}}, "delivery-platform:argocd.sync.options:"),
        (
            {"sync": {"retry": {"backoff": {"duration": "soon"}}}},
            "delivery-platform:argocd.sync.retry.backoff.duration:",
        ),
        ({"releaseRepo": {"path": "apps/{app}"}}, "delivery-platform:argocd.releaseRepo.path:"),
        ({"adminPasswordRotatedAt": "yesterday"}, "delivery-platform:argocd.adminPasswordRotatedAt:"),
    ],
)
def test_argocd_config_errors_name_the_key(argocd: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_stack_config({"argocd": argocd})
    assert any(message.startswith(problem) for message in raised.value.problems), raised.value.problems


# --- network policies ---


def argocd_policies(graph: Graph) -> dict[str, dict[str, Any]]:
    return {r.input("metadata.name"): r.inputs["spec"] for r in graph.of_type(NETWORK_POLICY)}


def _selected_names(spec: dict[str, Any]) -> set[str]:
    selector = spec["podSelector"]
    if not selector:
        return {"*"}
    (expression,) = selector.get("matchExpressions") or [
        {"values": list(selector["matchLabels"].values()), "key": next(iter(selector["matchLabels"]))}
    ]
    return set(expression["values"])


def test_the_namespace_denies_everything_but_its_own_traffic_and_dns(run_program: ProgramRunner) -> None:
    policies = argocd_policies(run_argocd(run_program))
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    same = policies["allow-same-namespace"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert same["egress"] == [{"to": [{"podSelector": {}}]}]
    assert {port["port"] for rule in policies["allow-dns"]["egress"] for port in rule["ports"]} == {53}
    # The 1:1 default lets nobody outside the namespace in, and no pod reach GKE's metadata.
    assert not {"allow-server-from", "allow-gke-metadata"} & set(policies)


def test_only_the_components_that_talk_to_api_servers_and_git_leave_the_cluster(run_program: ProgramRunner) -> None:
    egress = argocd_policies(run_argocd(run_program))["allow-egress-https-ssh"]
    assert _selected_names(egress) == {
        "argocd-server",
        "argocd-repo-server",
        "argocd-application-controller",
        "argocd-applicationset-controller",
    }
    (rule,) = egress["egress"]
    assert {port["port"] for port in rule["ports"]} == {443, 6443, 22}
    assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == ArgoCDConfig().egress_cidrs


def test_listed_namespaces_reach_only_the_server(run_program: ProgramRunner) -> None:
    spec = argocd_policies(run_argocd(run_program, {"allowFromNamespaces": ["gateway"]}))["allow-server-from"]
    assert _selected_names(spec) == {"argocd-server"}
    (rule,) = spec["ingress"]
    assert [peer["namespaceSelector"]["matchLabels"] for peer in rule["from"]] == [
        {"kubernetes.io/metadata.name": "gateway"}
    ]
    assert [port["port"] for port in rule["ports"]] == [8080]


def test_a_hub_reaches_the_gke_metadata_server_from_its_workload_identity_pods(run_program: ProgramRunner) -> None:
    spec = argocd_policies(run_argocd(run_program, HUB))["allow-gke-metadata"]
    assert _selected_names(spec) == {"argocd-server", "argocd-application-controller"}


# --- hooks, first preview ---


def test_no_hook_is_needed_and_the_redis_password_is_the_stacks(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program)
    found = values(graph)
    assert found["redisSecretInit"] == {"enabled": False}
    (redis,) = (s for s in graph.of_type(SECRET) if s.input("metadata.name") == "argocd-redis")
    assert leaks(graph, REDIS_PASSWORD) == []
    assert [r.type for r in graph if any(secret_paths(r.inputs, REDIS_PASSWORD))] == [SECRET]
    assert redis.input("metadata.namespace") == graph.one(CHART).inputs["namespace"]


def test_the_charts_inputs_depend_on_no_resource_so_a_first_preview_shows_its_objects(
    run_program: ProgramRunner,
) -> None:
    """During a stack's first preview only resource outputs are unknown; a chart whose
    values hold one registers no children (helm.v4.Chart). The passwords come from the
    stack's secrets and the namespace from config, so nothing the chart gets waits."""
    graph = run_program(
        main, config=stack_file_config("prod"), secrets={"registryPassword": "r" * 20}, stack="prod", preview=True
    )
    charts = graph.of_type(CHART)
    assert len(charts) == 2
    for chart in charts:
        assert all(urns == [] for urns in chart.property_dependencies.values()), chart.property_dependencies


def test_no_password_is_registered_in_plain_text_or_generated(run_program: ProgramRunner) -> None:
    graph = run_argocd(run_program, {"ha": True})
    for password in (ADMIN_PASSWORD, REDIS_PASSWORD):
        assert leaks(graph, password) == []
    assert not [r for r in graph if r.type.startswith("random:")]
