"""Every deployment strategy end to end: the real engine applies one app per strategy
(Recreate with a schema migration, RollingUpdate, Blue/Green, Canary) in two isolated
environments to the local control plane, rolls each to its next version, rolls the
Blue/Green switch back and destroys it all. Every claim is checked on the API server.

The file shares one stack; its phases are module fixtures (deployed -> upgraded ->
rolled_back -> destroyed), each ending with a snapshot of the server's objects, so the
tests compare snapshots and pass or fail the same in any order. Rollout ordering is
read from watches recorded during the `pulumi up` (see recorder.py).

kwok stands in for kubelets: pods turn Running and Ready without images, Job pods
succeed. So these are not covered here: traffic through the HTTPRoute (no gateway
controller runs; the route is checked as an object), NetworkPolicy enforcement (no
network plugin; the policies are checked as objects, while Pod Security and LimitRange
admission, which the API server itself does, are checked for real), LoadBalancer
addresses (none are used)."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from components.config import AppConfig, BlueGreenStrategy, CanaryStrategy, EnvironmentConfig, StackConfig
from components.config.workloads import RollingStrategy, quantity_value
from tests.e2e.controlplane import KubeApiError, LocalControlPlane, _condition_true
from tests.e2e.k8s_stack import (
    BLUE_GREEN,
    CANARY,
    RECREATE,
    ROLLING,
    E2EStack,
    ObjectRef,
    Snapshot,
    StackState,
    app_entry,
    edited,
    image,
    initial_config,
    take_snapshot,
)
from tests.e2e.pulumi_cli import PulumiProject, Run
from tests.e2e.recorder import Recorder, State

PLATFORM = "delivery-platform:platform:Platform"
# One component type for every strategy.
APP_WORKLOAD = "delivery-platform:workloads:AppWorkload"
RECREATE_APP = BLUE_GREEN_APP = CANARY_APP = APP_WORKLOAD
# The label Kubernetes' recommended labels put the app's name in, on every object.
APP_NAME_LABEL = "app.kubernetes.io/name"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # set by Kubernetes on EndpointSlices


# --------------------------------------------------------------------------- phases


@dataclass
class Phase:
    raw: dict[str, Any]  # the stack config as written
    config: StackConfig
    state: StackState
    objects: Snapshot
    preview: Run | None = None
    output: str = ""  # what the phase's `pulumi up` printed
    # What admission made of probe pods in each environment's namespace, by name.
    admission: dict[str, Admission] = field(default_factory=dict)
    # Watches recorded during the phase's `pulumi up`, by what they watched.
    recorded: dict[str, Recorder] = field(default_factory=dict)

    def app(self, name: str) -> AppConfig:
        return next(app for app in self.config.apps if app.name == name)

    def component(self, type_token: str, app: AppConfig) -> dict[str, Any]:
        """The registered outputs of the app's strategy component."""
        (outputs,) = (
            out for urn_name, out in self.state.outputs(type_token).items() if urn_name.endswith(f"-{app.name}")
        )
        return outputs


@dataclass(frozen=True)
class Admission:
    """What the API server's admission makes of two pods created (dry run) in a namespace."""

    privileged: KubeApiError | None  # the error rejecting a privileged pod
    defaulted: dict[str, Any]  # the resources given to a restricted pod that sets none


def admission(control_plane: LocalControlPlane, namespace: str) -> Admission:
    client = control_plane.client
    path = client.path_for("v1", "Pod", namespace=namespace)

    def dry_run(name: str, pod_security: dict[str, Any], container_security: dict[str, Any]) -> Any:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "securityContext": pod_security,
                "containers": [
                    {
                        "name": "probe",
                        "image": "registry.example.com/probe:1.0.0",
                        "securityContext": container_security,
                    }
                ],
            },
        }
        return client.request("POST", path, pod, query={"dryRun": "All"})

    privileged: KubeApiError | None = None
    try:
        dry_run("privileged-probe", {}, {"privileged": True})
    except KubeApiError as error:
        privileged = error
    restricted = dry_run(
        "restricted-probe",
        {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
        {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    )
    return Admission(privileged, restricted["spec"]["containers"][0].get("resources", {}))


@pytest.fixture(scope="module")
def e2e(control_plane: LocalControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    stack = E2EStack(PulumiProject(tmp_path_factory.mktemp("strategies")), control_plane)
    yield stack
    stack.clean_up()
    print("\nstrategies e2e, seconds per command: " + ", ".join(f"{k} {v:.1f}" for k, v in stack.timings.items()))


def finish(e2e: E2EStack, raw: dict[str, Any], config: StackConfig, **extra: Any) -> Phase:
    state = e2e.state()
    objects = take_snapshot(e2e.control_plane, [env.name for env in config.environments])
    return Phase(raw, config, state, objects, **extra)


@pytest.fixture(scope="module")
def deployed(e2e: E2EStack) -> Phase:
    raw = initial_config(e2e.control_plane.kubeconfig)
    config = e2e.up("up", raw)
    phase = finish(e2e, raw, config, preview=e2e.preview_expecting_no_changes("preview"))
    phase.admission = {env.name: admission(e2e.control_plane, env.name) for env in config.environments}
    return phase


def next_version(raw: dict[str, Any]) -> dict[str, Any]:
    """The second `pulumi up`: new tags for the Recreate and rolling apps; Blue/Green
    gives the idle colour the next version and makes it active; the canary takes the
    next step of its plan and gains a second header rule."""
    raw = edited(raw)
    app_entry(raw, RECREATE)["image"] = image(RECREATE, "1.9.0-b420")
    app_entry(raw, ROLLING)["image"] = image(ROLLING, "2.4.0-b80")
    blue_green = app_entry(raw, BLUE_GREEN)["strategy"]
    idle = "green" if blue_green["active"] == "blue" else "blue"
    blue_green[idle]["image"] = image(BLUE_GREEN, "4.1.0-b318")
    blue_green["active"] = idle
    canary = app_entry(raw, CANARY)["strategy"]
    canary["weight"] = canary["steps"][canary["steps"].index(canary["weight"]) + 1]
    canary["match"]["headers"].append({"name": "x-user-group", "value": "beta"})
    return raw


def pods_of(e2e: E2EStack, app: AppConfig) -> Recorder:
    client = e2e.control_plane.client
    return Recorder(client, client.path_for("v1", "Pod", namespace=app.environment), f"{APP_NAME_LABEL}={app.name}")


def endpoints_of(e2e: E2EStack, namespace: str, service: str) -> Recorder:
    client = e2e.control_plane.client
    path = client.path_for("discovery.k8s.io/v1", "EndpointSlice", namespace=namespace)
    return Recorder(client, path, f"{SERVICE_NAME_LABEL}={service}")


def up_recording(e2e: E2EStack, label: str, raw: dict[str, Any], recorders: dict[str, Recorder]) -> Phase:
    with contextlib.ExitStack() as recording:
        for recorder in recorders.values():
            recording.enter_context(recorder)
        config = e2e.up(label, raw)
    return finish(e2e, raw, config, recorded=recorders, output=e2e.outputs[label])


def blue_green_recorders(e2e: E2EStack, phase: Phase) -> dict[str, Recorder]:
    app = phase.app(BLUE_GREEN)
    service = phase.component(BLUE_GREEN_APP, app)["serviceName"]
    return {"blue-green pods": pods_of(e2e, app), "blue-green endpoints": endpoints_of(e2e, app.environment, service)}


@pytest.fixture(scope="module")
def upgraded(e2e: E2EStack, deployed: Phase) -> Phase:
    recorders = {
        "recreate pods": pods_of(e2e, deployed.app(RECREATE)),
        "rolling pods": pods_of(e2e, deployed.app(ROLLING)),
        **blue_green_recorders(e2e, deployed),
    }
    phase = up_recording(e2e, "up next version", next_version(deployed.raw), recorders)
    phase.preview = e2e.preview_expecting_no_changes("preview after update")
    return phase


@pytest.fixture(scope="module")
def rolled_back(e2e: E2EStack, deployed: Phase, upgraded: Phase) -> Phase:
    """The third `pulumi up` takes two changes back: Blue/Green switches back to the
    colour that served before, and the rolling app returns to its previous tag (whose
    ReplicaSet still exists, scaled to 0)."""
    raw = edited(upgraded.raw)
    strategy = app_entry(raw, BLUE_GREEN)["strategy"]
    strategy["active"] = "green" if strategy["active"] == "blue" else "blue"
    app_entry(raw, ROLLING)["image"] = app_entry(deployed.raw, ROLLING)["image"]
    return up_recording(e2e, "up rollback", raw, blue_green_recorders(e2e, upgraded))


@dataclass
class Destroyed:
    owned: list[ObjectRef]  # before the destroy
    state: StackState
    # What the server still had of the owned namespaced objects when `pulumi destroy`
    # returned, before anything waited for the namespaces to finish terminating.
    left_at_once: list[str]
    left: list[str]  # what the server still has once the namespaces are gone


@pytest.fixture(scope="module")
def destroyed(e2e: E2EStack, rolled_back: Phase) -> Destroyed:
    client = e2e.control_plane.client
    owned = e2e.state().kubernetes_objects()
    e2e.destroy()

    def exists(ref: ObjectRef) -> bool:
        return client.get_or_none(client.path_for(ref.api_version, ref.kind, ref.name, ref.namespace)) is not None

    # Read at once: Pulumi deletes every object itself and waits for each deletion,
    # namespaces last. A destroy that only deleted the namespaces would leave the
    # objects in place (still terminating with their namespace) at this moment.
    left_at_once = [f"{ref.kind} {ref.namespace}/{ref.name}" for ref in owned if ref.namespace and exists(ref)]
    namespaces = [env.name for env in rolled_back.config.environments]
    # Namespace deletion finishes in the background once every object in it is gone.
    e2e.control_plane.wait_until(
        "the stack's namespaces to be deleted",
        lambda: all(client.get_or_none(f"/api/v1/namespaces/{name}") is None for name in namespaces),
        timeout=120,
    )
    left = [f"{ref.kind} {ref.namespace}/{ref.name}" for ref in owned if exists(ref)]
    # Whatever controllers made of the stack's objects (pods, ReplicaSets, slices) too.
    snapshot = take_snapshot(e2e.control_plane, namespaces)
    left += [f"{kind} {ns}/{name}" for (kind, ns), objects in snapshot.objects.items() for name in objects]
    left += [f"Namespace {name}" for name in snapshot.namespaces]
    return Destroyed(owned, e2e.state(), left_at_once, left)


# --------------------------------------------------------------------------- reading objects


def container_image(pod_or_template: dict[str, Any]) -> str:
    image_: str = pod_or_template["spec"]["containers"][0]["image"]
    return image_


def rolled_out(deployment: dict[str, Any], replicas: int) -> bool:
    """Available, at the latest generation, every replica updated and Ready."""
    status = deployment.get("status", {})
    return (
        _condition_true(deployment, "Available")
        and deployment["spec"]["replicas"] == replicas
        and status.get("observedGeneration") == deployment["metadata"]["generation"]
        and status.get("replicas") == replicas
        and status.get("updatedReplicas", 0) == replicas
        and status.get("readyReplicas", 0) == replicas
    )


def ready_endpoint_pods(slices: State | dict[str, dict[str, Any]]) -> list[str]:
    """Names of the pods behind the ready endpoints of a Service's EndpointSlices."""
    return [
        endpoint["targetRef"]["name"]
        for endpoint_slice in slices.values()
        for endpoint in endpoint_slice.get("endpoints") or []
        if endpoint.get("conditions", {}).get("ready")
    ]


def service_slices(objects: Snapshot, namespace: str, service: str) -> dict[str, dict[str, Any]]:
    return {
        name: s
        for name, s in objects.of_kind("EndpointSlice", namespace).items()
        if s["metadata"].get("labels", {}).get(SERVICE_NAME_LABEL) == service
    }


def replica_sets_by_image(objects: Snapshot, deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Deployment's ReplicaSets, by the image of their pod template."""
    uid = deployment["metadata"]["uid"]
    return {
        container_image(rs["spec"]["template"]): rs
        for rs in objects.of_kind("ReplicaSet", deployment["metadata"]["namespace"]).values()
        if any(ref["uid"] == uid for ref in rs["metadata"].get("ownerReferences", []))
    }


def owner(pod: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of the controller that made the pod."""
    (reference,) = (ref for ref in pod["metadata"].get("ownerReferences", []) if ref.get("controller"))
    return reference["kind"], reference["name"]


def timestamp(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def expected_track(app: AppConfig, track: str) -> tuple[int, str]:
    """(replicas, image) the config asks for on one track of an app."""
    strategy = app.strategy
    if isinstance(strategy, BlueGreenStrategy):
        colour = strategy.blue if track == "blue" else strategy.green
        idle_replicas = app.replicas if strategy.idle_replicas is None else strategy.idle_replicas
        return (app.replicas if track == strategy.active else idle_replicas), colour.image
    if isinstance(strategy, CanaryStrategy) and track == "canary":
        assert strategy.canary_image is not None
        return strategy.canary_replicas, strategy.canary_image
    assert app.image is not None
    return app.replicas, app.image


# --------------------------------------------------------------------------- tests


def test_up_rolls_out_every_app_and_its_service_serves_the_configured_version(deployed: Phase) -> None:
    apps = deployed.state.one_output(PLATFORM)["apps"]
    assert set(apps) == {f"{app.environment}/{app.name}" for app in deployed.config.apps}
    for app in deployed.config.apps:
        out = apps[f"{app.environment}/{app.name}"]
        assert out["strategy"] == app.strategy.type
        for track, name in out["deployments"].items():
            replicas, wanted = expected_track(app, track)
            deployment = deployed.objects.get("Deployment", app.environment, name)
            assert rolled_out(deployment, replicas), (name, deployment.get("status"))
            assert container_image(deployment["spec"]["template"]) == wanted
        # The stable Service serves the stable track (the active colour for Blue/Green).
        served = app.strategy.active if isinstance(app.strategy, BlueGreenStrategy) else "stable"
        pods = deployed.objects.of_kind("Pod", app.environment)
        endpoints = ready_endpoint_pods(service_slices(deployed.objects, app.environment, out["service"]))
        assert len(endpoints) == app.replicas, (app.name, endpoints)
        assert {container_image(pods[pod]) for pod in endpoints} == {expected_track(app, served)[1]}


def test_first_up_of_the_recreate_app_ran_its_migration_job(deployed: Phase) -> None:
    app = deployed.app(RECREATE)
    deployment = deployed.objects.get("Deployment", app.environment, app.name)
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    job = deployed.objects.get("Job", app.environment, deployed.component(RECREATE_APP, app)["migrationJobName"])
    assert _condition_true(job, "Complete"), job.get("status")
    assert container_image(job["spec"]["template"]) == app.image


def test_a_second_preview_has_no_changes_after_the_first_up_and_after_an_update(
    deployed: Phase, upgraded: Phase
) -> None:
    for phase in (deployed, upgraded):
        assert phase.preview is not None
        assert phase.preview.returncode == 0, phase.preview.output


def test_the_state_holds_the_cluster_credentials_only_encrypted(e2e: E2EStack, deployed: Phase) -> None:
    kubeconfig = e2e.control_plane.kubeconfig.read_text(encoding="utf-8")
    client_key = re.search(r'"client-key-data": "([^"]+)"', kubeconfig)
    assert client_key is not None
    assert client_key.group(1) not in deployed.state.text
    (provider,) = (r for r in deployed.state.resources if r["type"] == "pulumi:providers:kubernetes")
    assert set(provider["inputs"]["kubeconfig"]) >= {"ciphertext"}, "the kubeconfig input is not a secret"


def quantities(values: dict[str, str]) -> dict[str, Decimal]:
    return {key: quantity_value(value) for key, value in values.items()}


def test_each_environment_is_an_isolated_namespace_the_api_server_enforces(deployed: Phase) -> None:
    for env in deployed.config.environments:
        labels = deployed.objects.namespaces[env.name]["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == env.pod_security
        assert labels["pod-security.kubernetes.io/enforce-version"] == env.pod_security_version
        assert labels["pod-security.kubernetes.io/audit"] == labels["pod-security.kubernetes.io/warn"] == "restricted"
        assert_network_policies(env, [p["spec"] for p in deployed.objects.of_kind("NetworkPolicy", env.name).values()])
        assert_quota_and_defaults(env, deployed.objects)

        probe = deployed.admission[env.name]
        assert probe.privileged is not None, f"{env.name} admitted a privileged pod"
        assert probe.privileged.status == 403
        message = json.loads(probe.privileged.body)["message"]
        assert f'violates PodSecurity "{env.pod_security}:{env.pod_security_version}"' in message
        defaults = env.container_defaults
        assert quantities(probe.defaulted["requests"]) == quantities(
            {"cpu": defaults.request_cpu, "memory": defaults.request_memory}
        )
        assert quantities(probe.defaulted["limits"]) == quantities({"memory": defaults.limit_memory})


def assert_network_policies(env: EnvironmentConfig, specs: list[dict[str, Any]]) -> None:
    every_pod: dict[str, Any] = {}

    def selects_all(spec: dict[str, Any]) -> bool:
        return bool(spec["podSelector"] == every_pod)

    # Default deny: every pod, both directions, nothing allowed.
    assert any(
        selects_all(s)
        and set(s["policyTypes"]) == {"Ingress", "Egress"}
        and not s.get("ingress")
        and not s.get("egress")
        for s in specs
    ), specs
    # Pods of the namespace may talk to each other (a bare podSelector means this namespace).
    assert any(
        selects_all(s)
        and {"from": [{"podSelector": every_pod}]} in s.get("ingress", [])
        and {"to": [{"podSelector": every_pod}]} in s.get("egress", [])
        for s in specs
    ), specs
    # DNS to kube-dns in kube-system, over UDP and TCP.
    dns_rules = [rule for s in specs if selects_all(s) for rule in s.get("egress", []) if rule.get("ports")]
    assert any(
        {(p["protocol"], p["port"]) for p in rule["ports"]} == {("UDP", 53), ("TCP", 53)}
        and {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
        in rule["to"]
        for rule in dns_rules
    ), dns_rules
    # Exactly the namespaces the config allows in may call in from outside.
    allowed_in = {
        value
        for s in specs
        for rule in s.get("ingress", [])
        for peer in rule.get("from", [])
        for expression in peer.get("namespaceSelector", {}).get("matchExpressions", [])
        if expression["key"] == "kubernetes.io/metadata.name"
        for value in expression["values"]
    }
    assert allowed_in == set(env.allow_from_namespaces)


def assert_quota_and_defaults(env: EnvironmentConfig, objects: Snapshot) -> None:
    (quota,) = objects.of_kind("ResourceQuota", env.name).values()
    config = env.quota
    wanted = {
        "requests.cpu": config.requests_cpu,
        "requests.memory": config.requests_memory,
        "limits.memory": config.limits_memory,
        "pods": str(config.pods),
    }
    assert {k: v for k, v in quantities(quota["spec"]["hard"]).items() if k in wanted} == quantities(wanted)
    # The quota controller has taken it up: it counts what the namespace uses.
    assert quota.get("status", {}).get("hard") == quota["spec"]["hard"], quota.get("status")
    assert quantity_value(quota["status"]["used"]["pods"]) > 0
    (limit_range,) = objects.of_kind("LimitRange", env.name).values()
    (container,) = (limit for limit in limit_range["spec"]["limits"] if limit["type"] == "Container")
    assert quantities(container["default"])["memory"] == quantity_value(env.container_defaults.limit_memory)


def test_every_deployment_of_two_or_more_pods_has_a_budget_the_disruption_controller_applies(
    deployed: Phase,
) -> None:
    """On the server, not just as objects: the disruption controller counts each
    Deployment's pods under exactly one budget and lets one of them go at a time."""
    checked = 0
    for env in deployed.config.environments:
        budgets = deployed.objects.of_kind("PodDisruptionBudget", env.name).values()
        for deployment in deployed.objects.of_kind("Deployment", env.name).values():
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
            replicas = deployment["spec"]["replicas"]
            if replicas < 2:
                assert covering == [], deployment["metadata"]["name"]
                continue
            (budget,) = covering
            status = budget["status"]
            assert status["observedGeneration"] == budget["metadata"]["generation"]
            assert (status["expectedPods"], status["currentHealthy"]) == (replicas, replicas), status
            assert status["disruptionsAllowed"] == 1, status
            checked += 1
    # Both colours, both canary... every multi-pod Deployment of every strategy.
    assert checked >= 5


def test_rolling_update_rolls_the_same_deployment_to_a_new_replica_set(deployed: Phase, upgraded: Phase) -> None:
    app = upgraded.app(ROLLING)
    assert isinstance(app.strategy, RollingStrategy)
    before = deployed.objects.get("Deployment", app.environment, app.name)
    after = upgraded.objects.get("Deployment", app.environment, app.name)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["spec"]["strategy"]["type"] == "RollingUpdate"
    assert container_image(after["spec"]["template"]) == app.image != container_image(before["spec"]["template"])
    assert rolled_out(after, app.replicas), after.get("status")

    replica_sets = replica_sets_by_image(upgraded.objects, after)
    assert set(replica_sets) == {container_image(before["spec"]["template"]), app.image}
    old, new = replica_sets[container_image(before["spec"]["template"])], replica_sets[app.image]
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    assert (old["spec"]["replicas"], new["status"].get("readyReplicas")) == (0, app.replicas)

    # Old and new pods served side by side, and never fewer than maxUnavailable allows.
    assert isinstance(app.strategy.max_unavailable, int)
    floor = app.replicas - app.strategy.max_unavailable
    versions_serving = []
    for state in upgraded.recorded["rolling pods"].states:
        serving = [
            p for p in state.values() if _condition_true(p, "Ready") and not p["metadata"].get("deletionTimestamp")
        ]
        assert len(serving) >= floor, [p["metadata"]["name"] for p in serving]
        versions_serving.append({container_image(p) for p in serving})
    assert {container_image(before["spec"]["template"]), app.image} in versions_serving


def test_rolling_back_to_the_previous_tag_scales_its_replica_set_back_up(
    deployed: Phase, upgraded: Phase, rolled_back: Phase
) -> None:
    app, rolled_from = rolled_back.app(ROLLING), upgraded.app(ROLLING).image
    assert app.image is not None
    assert rolled_from is not None
    assert app.image == deployed.app(ROLLING).image != rolled_from
    first, rolled, now = (
        phase.objects.get("Deployment", app.environment, app.name) for phase in (deployed, upgraded, rolled_back)
    )
    assert now["metadata"]["uid"] == first["metadata"]["uid"]
    assert container_image(now["spec"]["template"]) == app.image
    assert rolled_out(now, app.replicas), now.get("status")
    revision = "deployment.kubernetes.io/revision"
    assert int(now["metadata"]["annotations"][revision]) > int(rolled["metadata"]["annotations"][revision])
    # The very ReplicaSet of the first rollout serves again; the one rolled back from is at 0.
    replica_sets = replica_sets_by_image(rolled_back.objects, now)
    original = replica_sets_by_image(deployed.objects, first)[app.image]
    assert replica_sets[app.image]["metadata"]["uid"] == original["metadata"]["uid"]
    assert replica_sets[app.image]["status"].get("readyReplicas") == app.replicas
    assert replica_sets[rolled_from]["spec"]["replicas"] == 0


@pytest.mark.parametrize("phase_name", ["deployed", "upgraded", "rolled_back"])
def test_pulumi_up_returns_only_once_every_deployment_has_rolled_out(
    phase_name: str, request: pytest.FixtureRequest
) -> None:
    """The state keeps each Deployment as the provider last saw it before calling it
    done: that must be the change rolled out (a Blue/Green switch, a canary route, a
    migration Job wait on exactly this), not a status left over from before it."""
    phase: Phase = request.getfixturevalue(phase_name)
    deployments = [r["outputs"] for r in phase.state.resources if r["type"] == "kubernetes:apps/v1:Deployment"]
    apps = phase.state.one_output(PLATFORM)["apps"].values()
    assert len(deployments) == sum(len(app["deployments"]) for app in apps)
    for deployment in deployments:
        wanted, status = deployment["spec"]["replicas"], deployment.get("status", {})
        name = deployment["metadata"]["name"]
        assert status.get("observedGeneration") == deployment["metadata"]["generation"], (name, status)
        counts = [status.get(count, 0) for count in ("updatedReplicas", "availableReplicas", "replicas")]
        assert counts == [wanted] * 3, (name, status)
        if wanted == 0:
            # Scaled to 0 (Recreate before its migration): done only once the old pods are gone.
            assert status.get("terminatingReplicas", 0) == 0, (name, status)


def test_recreate_migrates_between_the_last_old_pod_and_the_first_new_one(deployed: Phase, upgraded: Phase) -> None:
    app = upgraded.app(RECREATE)
    old_image = deployed.app(RECREATE).image
    deployment = upgraded.objects.get("Deployment", app.environment, app.name)
    # A new migration replaces the Deployment: the old one is deleted (foreground, so
    # only once every old pod is gone), the new one created at 0, then scaled back.
    assert (
        deployment["metadata"]["uid"]
        != deployed.objects.get("Deployment", app.environment, app.name)["metadata"]["uid"]
    )
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert container_image(deployment["spec"]["template"]) == app.image
    assert rolled_out(deployment, app.replicas), deployment.get("status")

    job_name = upgraded.component(RECREATE_APP, app)["migrationJobName"]
    assert job_name != deployed.component(RECREATE_APP, app)["migrationJobName"]
    job = upgraded.objects.get("Job", app.environment, job_name)
    assert _condition_true(job, "Complete"), job.get("status")
    assert container_image(job["spec"]["template"]) == app.image

    def server_pods(state: State, image_: str | None) -> list[str]:
        return [
            name
            for name, pod in state.items()
            if owner(pod)[0] == "ReplicaSet" and (image_ is None or container_image(pod) == image_)
        ]

    def migration_pods(state: State) -> list[dict[str, Any]]:
        return [p for p in state.values() if owner(p) == ("Job", job_name)]

    states = upgraded.recorded["recreate pods"].states
    assert len(server_pods(states[0], old_image)) == app.replicas
    started = next(i for i, state in enumerate(states) if migration_pods(state))
    assert server_pods(states[started], None) == [], "the migration started while app pods still existed"
    scaled_up = next(i for i, state in enumerate(states) if server_pods(state, app.image))
    assert scaled_up > started
    assert all(p["status"]["phase"] == "Succeeded" for p in migration_pods(states[scaled_up])), (
        "new pods started before the migration succeeded"
    )
    assert len(server_pods(states[-1], app.image)) == app.replicas
    assert server_pods(states[-1], old_image) == []
    # The same order in the server's own timestamps.
    completed = timestamp(job["status"]["completionTime"])
    pods = upgraded.objects.of_kind("Pod", app.environment)
    new_pods = server_pods(pods, app.image)
    assert len(new_pods) == app.replicas
    assert all(timestamp(pods[name]["metadata"]["creationTimestamp"]) >= completed for name in new_pods)


def assert_switch_without_gap(phase: Phase, *, serving_before: str, serving_after: str) -> list[list[str]]:
    """The Blue/Green Service moved from the pods of image `serving_before` to those of
    `serving_after` in one step: no committed state without a ready endpoint, never a
    pod of any other image (such as the new colour's previous version, which it ran
    until its rollout finished) and all the new colour's replicas at once. Returns the
    pods behind the ready endpoints in every recorded state."""
    app = phase.app(BLUE_GREEN)
    pods = phase.recorded["blue-green pods"].seen
    endpoint_states = [ready_endpoint_pods(state) for state in phase.recorded["blue-green endpoints"].states]
    timeline = [sorted(container_image(pods[name]) for name in endpoints) for endpoints in endpoint_states]
    steps = [line for line in phase.output.splitlines() if f"-{app.name}-" in line]
    context = "\n".join(
        ["images behind the Service's ready endpoints, state by state:", *map(str, timeline), "pulumi up:", *steps]
    )
    assert all(timeline), f"the Service had no ready endpoint; {context}"
    assert all(set(images) in ({serving_before}, {serving_after}) for images in timeline), context
    assert (set(timeline[0]), set(timeline[-1])) == ({serving_before}, {serving_after}), context
    first_after = next(images for images in timeline if images[0] == serving_after)
    assert len(first_after) == app.replicas, context
    return endpoint_states


def test_blue_green_switches_to_the_new_colour_only_once_it_is_ready(deployed: Phase, upgraded: Phase) -> None:
    app = upgraded.app(BLUE_GREEN)
    was, now = deployed.app(BLUE_GREEN).strategy, app.strategy
    assert isinstance(was, BlueGreenStrategy)
    assert isinstance(now, BlueGreenStrategy)
    assert now.active != was.active
    old_image, new_image = expected_track(deployed.app(BLUE_GREEN), was.active)[1], expected_track(app, now.active)[1]
    assert new_image != expected_track(deployed.app(BLUE_GREEN), now.active)[1], "the new colour got a new version"
    assert_switch_without_gap(upgraded, serving_before=old_image, serving_after=new_image)

    outputs = upgraded.component(BLUE_GREEN_APP, app)
    assert outputs["activeColour"] == now.active
    deployments = {
        colour: upgraded.objects.get("Deployment", app.environment, name)
        for colour, name in outputs["deploymentNames"].items()
    }
    stable = upgraded.objects.get("Service", app.environment, outputs["serviceName"])
    preview = upgraded.objects.get("Service", app.environment, outputs["previewServiceName"])
    assert stable["spec"]["selector"] == deployments[now.active]["spec"]["selector"]["matchLabels"]
    assert preview["spec"]["selector"] == deployments[was.active]["spec"]["selector"]["matchLabels"]
    # The old colour keeps running untouched, ready for an instant rollback: the same
    # pod template and ReplicaSet (only its traffic annotation changed, which bumps a
    # Deployment's generation but rolls nothing).
    old = deployments[was.active]
    before = deployed.objects.get("Deployment", app.environment, old["metadata"]["name"])
    assert old["spec"]["template"] == before["spec"]["template"]
    (replica_set,) = replica_sets_by_image(upgraded.objects, old).values()
    (replica_set_before,) = replica_sets_by_image(deployed.objects, before).values()
    assert replica_set["metadata"]["uid"] == replica_set_before["metadata"]["uid"]
    assert rolled_out(old, expected_track(app, was.active)[0])


def test_blue_green_rollback_moves_the_service_back_to_the_pods_that_never_stopped(
    deployed: Phase, upgraded: Phase, rolled_back: Phase
) -> None:
    app = rolled_back.app(BLUE_GREEN)
    assert isinstance(app.strategy, BlueGreenStrategy)
    back, left = app.strategy.active, upgraded.component(BLUE_GREEN_APP, app)["activeColour"]
    assert back != left
    endpoint_states = assert_switch_without_gap(
        rolled_back, serving_before=expected_track(app, left)[1], serving_after=expected_track(app, back)[1]
    )
    service = deployed.component(BLUE_GREEN_APP, app)["serviceName"]
    served_first = ready_endpoint_pods(service_slices(deployed.objects, app.environment, service))
    assert sorted(endpoint_states[-1]) == sorted(served_first), "rollback should reach the very pods that served before"

    outputs = rolled_back.component(BLUE_GREEN_APP, app)
    assert outputs["activeColour"] == back
    deployments = {
        colour: rolled_back.objects.get("Deployment", app.environment, name)
        for colour, name in outputs["deploymentNames"].items()
    }
    stable = rolled_back.objects.get("Service", app.environment, outputs["serviceName"])
    assert stable["spec"]["selector"] == deployments[back]["spec"]["selector"]["matchLabels"]
    # The version rolled back from stays up, ready to be promoted again.
    assert rolled_out(deployments[left], expected_track(app, left)[0])
    assert container_image(deployments[left]["spec"]["template"]) == expected_track(app, left)[1]


def route_of(phase: Phase) -> tuple[CanaryStrategy, dict[str, Any], dict[str, Any]]:
    app = phase.app(CANARY)
    assert isinstance(app.strategy, CanaryStrategy)
    outputs = phase.component(CANARY_APP, app)
    return app.strategy, outputs, phase.objects.get("HTTPRoute", app.environment, outputs["routeName"])


def canary_rules(route: dict[str, Any], canary_service: str) -> set[tuple[str, str, str]]:
    """(type, name, value) of every header match that sends requests to the canary alone."""
    return {
        (header.get("type", "Exact"), header["name"], header["value"])
        for rule in route["spec"]["rules"]
        if [ref["name"] for ref in rule["backendRefs"]] == [canary_service]
        for match in rule["matches"]
        for header in match.get("headers", [])
    }


@pytest.mark.parametrize("phase_name", ["deployed", "upgraded"])
def test_canary_weight_and_match_rules_are_on_the_route(phase_name: str, request: pytest.FixtureRequest) -> None:
    phase: Phase = request.getfixturevalue(phase_name)
    strategy, outputs, route = route_of(phase)
    stable, canary = outputs["serviceName"], outputs["canaryServiceName"]
    split = [rule for rule in route["spec"]["rules"] if len(rule["backendRefs"]) == 2]
    assert len(split) == 1
    assert {ref["name"]: ref["weight"] for ref in split[0]["backendRefs"]} == {
        stable: 100 - strategy.weight,
        canary: strategy.weight,
    }
    rules = canary_rules(route, canary)
    cookie_rules = {rule for rule in rules if rule[1] == "Cookie"}
    assert rules - cookie_rules == {(h.type, h.name, h.value) for h in strategy.match.headers}
    ((kind, _, cookie),) = cookie_rules
    assert kind == "RegularExpression"
    assert strategy.match.cookie is not None
    for header, routed in (
        (f"{strategy.match.cookie}=always", True),
        (f"session=1; {strategy.match.cookie}=always", True),
        (f"{strategy.match.cookie}=never", False),
        (f"x{strategy.match.cookie}=always", False),
    ):
        assert bool(re.search(cookie, header)) is routed, header
    assert route["spec"]["hostnames"] == strategy.hostnames
    (parent,) = route["spec"]["parentRefs"]
    assert (parent["kind"], parent["name"], parent["namespace"]) == (
        "Gateway",
        strategy.gateway.name,
        strategy.gateway.namespace,
    )


def test_canary_step_updates_the_route_in_place(deployed: Phase, upgraded: Phase) -> None:
    before, _, route_before = route_of(deployed)
    after, _, route_after = route_of(upgraded)
    assert after.weight > before.weight
    assert route_after["metadata"]["uid"] == route_before["metadata"]["uid"]
    assert route_after["metadata"]["generation"] > route_before["metadata"]["generation"]


def test_destroy_leaves_none_of_the_stacks_objects_behind(destroyed: Destroyed) -> None:
    kinds = {ref.kind for ref in destroyed.owned}
    assert {"Namespace", "Deployment", "Service", "Job", "NetworkPolicy", "HTTPRoute", "PodDisruptionBudget"} <= kinds
    # Pulumi itself deleted every namespaced object before the namespaces went; only
    # then does the check after the namespaces are gone say anything about them.
    assert destroyed.left_at_once == []
    assert len([ref for ref in destroyed.owned if ref.namespace]) > 20
    assert destroyed.left == []
    assert [r["type"] for r in destroyed.state.resources if r["type"] != "pulumi:pulumi:Stack"] == []
