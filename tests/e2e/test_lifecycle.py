"""Lifecycle operations end to end, each on its own stack and namespace against the local
control plane: an app taken through every strategy, autoscaling switched on and off, a
failing migration retried, a canary promoted to the end, a Blue/Green rollback to a
colour that is not healthy yet, and a stack deployed with the former per-strategy
components taken over by the current one. Every claim is read from the API server:
objects and their UIDs, field managers, and watches recorded while `pulumi up` ran
(recorder.py). Slow readiness, honoured grace periods and failing migrations come from
the stages in kwok-stages.yaml, selected by the E2E_* environment variables the apps set.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.controlplane import LocalControlPlane, _condition_true
from tests.e2e.k8s_stack import E2EStack, take_snapshot
from tests.e2e.pulumi_cli import REPO, PulumiProject
from tests.e2e.recorder import (
    APP_NAME_LABEL,
    Recorder,
    State,
    assert_always_served,
    endpoints_recorder,
    pods_recorder,
    ready,
    ready_endpoints,
    recording,
)

REGISTRY = "registry.example.com/shop"
GATEWAY_NAMESPACE = "gateway"
TRACK_LABEL = "delivery-platform/track"
APP_WORKLOAD = "delivery-platform:workloads:AppWorkload"


def image(app: str, version: str) -> str:
    return f"{REGISTRY}/{app}:{version}"


def stack_config(kubeconfig: Path, namespace: str, *apps: dict[str, Any]) -> dict[str, Any]:
    return {
        "cluster": {"kind": "kubeconfig", "path": str(kubeconfig)},
        "environments": [{"name": namespace, "allowFromNamespaces": [GATEWAY_NAMESPACE]}],
        "jenkins": {"enabled": False},
        "argocd": {"enabled": False},
        "apps": [{"environment": namespace, **app} for app in apps],
    }


def with_app(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The config with its one app changed; None removes a key."""
    config = copy.deepcopy(config)
    (app,) = config["apps"]
    for key, value in changes.items():
        if value is None:
            app.pop(key, None)
        else:
            app[key] = value
    return config


@pytest.fixture
def new_stack(control_plane: LocalControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Makes stacks (destroyed at the end of the test, whatever happened)."""
    made: list[E2EStack] = []

    def make(name: str, config: dict[str, Any], source: Path = REPO) -> E2EStack:
        stack = E2EStack(PulumiProject(tmp_path_factory.mktemp(name), source=source), control_plane, config)
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.clean_up()


# --------------------------------------------------------------------------- reading the server


def get(control_plane: LocalControlPlane, api_version: str, kind: str, namespace: str, name: str) -> Any:
    client = control_plane.client
    return client.get_or_none(client.path_for(api_version, kind, name, namespace))


def names(control_plane: LocalControlPlane, api_version: str, kind: str, namespace: str, app: str) -> set[str]:
    client = control_plane.client
    items = client.list_objects(client.path_for(api_version, kind, namespace=namespace), f"{APP_NAME_LABEL}={app}")
    return {item["metadata"]["name"] for item in items["items"]}


def uid(obj: dict[str, Any] | None) -> str:
    assert obj is not None
    value: str = obj["metadata"]["uid"]
    return value


def replicas_managers(deployment: dict[str, Any]) -> set[str]:
    """The field managers that own the Deployment's spec.replicas."""
    return {
        entry["manager"]
        for entry in deployment["metadata"].get("managedFields", [])
        if "f:replicas" in entry.get("fieldsV1", {}).get("f:spec", {})
    }


def pulumi_manager(stack: E2EStack, logical_suffix: str) -> str:
    """The server-side apply field manager pulumi-kubernetes uses for one resource."""
    (resource,) = (r for r in stack.state().resources if r["urn"].endswith(logical_suffix))
    manager: str = resource["outputs"]["__fieldManager"]
    return manager


# --------------------------------------------------------------------------- strategy changes


def test_an_app_goes_through_every_strategy_without_losing_an_object_or_its_traffic(
    control_plane: LocalControlPlane, new_stack: Callable[..., E2EStack]
) -> None:
    """rolling -> canary -> blue-green -> recreate (with a migration) -> rolling. The
    ServiceAccount and the Service keep their UIDs throughout, the stable Deployment
    wherever it exists on both sides, and the Service always has a ready endpoint:
    each strategy's new Deployments are up before the Service moves to them, and the
    old ones are deleted only after it has left them."""
    namespace, app = "lifecycle-chain", "shop"
    v1, v2 = image(app, "1.0.0-b1"), image(app, "1.1.0-b2")
    base = stack_config(control_plane.kubeconfig, namespace, {"name": app, "image": v1, "replicas": 2})
    steps: list[tuple[str, dict[str, Any]]] = [
        ("rolling", with_app(base, strategy={"type": "rolling", "maxSurge": 1, "maxUnavailable": 0})),
        (
            "canary",
            with_app(
                base,
                strategy={
                    "type": "canary",
                    "canaryImage": v2,
                    "weight": 25,
                    "steps": [25, 50, 100],
                    "hostnames": ["shop.e2e.example.com"],
                },
            ),
        ),
        (
            "blue-green",
            with_app(
                base,
                image=None,
                strategy={"type": "blue-green", "active": "green", "blue": {"image": v1}, "green": {"image": v2}},
            ),
        ),
        ("recreate", with_app(base, image=v2, strategy={"type": "recreate", "migration": {"command": ["/migrate"]}})),
        ("rolling again", with_app(base, image=v2, strategy={"type": "rolling"})),
    ]
    expected_deployments = {
        "rolling": {app},
        "canary": {app, f"{app}-canary"},
        "blue-green": {f"{app}-blue", f"{app}-green"},
        "recreate": {app},
        "rolling again": {app},
    }
    expected_services = {
        "rolling": {app},
        "canary": {app, f"{app}-canary"},
        "blue-green": {app, f"{app}-preview"},
        "recreate": {app},
        "rolling again": {app},
    }
    stack = new_stack("chain", steps[0][1])
    stack.up("up rolling", steps[0][1])
    account = uid(get(control_plane, "v1", "ServiceAccount", namespace, app))
    service = uid(get(control_plane, "v1", "Service", namespace, app))
    deployments: dict[str, str] = {}
    for label, config in steps:
        recorder = endpoints_recorder(control_plane, namespace, app)
        with recording(recorder):
            stack.up(f"up {label}", config)
        assert_always_served(recorder, f"{label}: Service {app}")
        assert names(control_plane, "apps/v1", "Deployment", namespace, app) == expected_deployments[label], label
        assert names(control_plane, "v1", "Service", namespace, app) == expected_services[label], label
        routes = names(control_plane, "gateway.networking.k8s.io/v1", "HTTPRoute", namespace, app)
        assert routes == ({app} if label == "canary" else set()), label
        assert uid(get(control_plane, "v1", "ServiceAccount", namespace, app)) == account, label
        assert uid(get(control_plane, "v1", "Service", namespace, app)) == service, label
        now = {
            name: uid(get(control_plane, "apps/v1", "Deployment", namespace, name))
            for name in expected_deployments[label]
        }
        for name in now.keys() & deployments.keys():
            assert now[name] == deployments[name], f"{label}: Deployment {name} was replaced"
        deployments = now
        # Every Deployment of the strategy has rolled out and the Service serves the stable track.
        for name in now:
            deployment = get(control_plane, "apps/v1", "Deployment", namespace, name)
            status = deployment.get("status", {})
            assert status.get("availableReplicas", 0) == deployment["spec"]["replicas"] > 0, (label, name, status)
        selector = get(control_plane, "v1", "Service", namespace, app)["spec"]["selector"]
        assert selector[TRACK_LABEL] == ("green" if label == "blue-green" else "stable"), label
        no_changes = stack.preview_expecting_no_changes(f"preview after {label}")
        assert no_changes.returncode == 0, no_changes.output
    assert workload_types(stack) == {APP_WORKLOAD}


def workload_types(stack: E2EStack) -> set[str]:
    return {r["type"] for r in stack.state().resources if r["type"].startswith("delivery-platform:workloads:")}


FORMER_TYPES = {"catalog": "RollingApp", "storefront": "CanaryApp", "checkout": "BlueGreenApp"}


def test_a_stack_of_the_former_per_strategy_components_is_taken_over_in_place(
    control_plane: LocalControlPlane, new_stack: Callable[..., E2EStack]
) -> None:
    """A stack whose state names the per-strategy component types of the previous
    release (RollingApp, CanaryApp, BlueGreenApp; their children's URNs under them):
    the aliases carry every object over to AppWorkload - nothing deleted, replaced or
    created again, every UID kept."""
    namespace = "lifecycle-upgrade"
    config = stack_config(
        control_plane.kubeconfig,
        namespace,
        {"name": "catalog", "image": image("catalog", "2.3.1-b77"), "replicas": 2, "strategy": {"type": "rolling"}},
        {
            "name": "storefront",
            "image": image("storefront", "7.2.0-b903"),
            "replicas": 2,
            "strategy": {
                "type": "canary",
                "canaryImage": image("storefront", "7.3.0-b921"),
                "weight": 10,
                "hostnames": ["storefront.e2e.example.com"],
            },
        },
        {
            "name": "checkout",
            "replicas": 2,
            "strategy": {
                "type": "blue-green",
                "active": "blue",
                "blue": {"image": image("checkout", "4.0.2-b301")},
                "green": {"image": image("checkout", "4.1.0-b318")},
            },
        },
    )
    stack = new_stack("upgrade", config)
    stack.up("up", config)
    before = take_snapshot(control_plane, [namespace])

    # Rewrite the state as the previous release left it: each app's component (and so
    # every child URN, which embeds its parent's type) under its former type token.
    exported = json.loads(stack.state().text)
    renamed = {}
    for resource in exported["deployment"]["resources"]:
        urn = resource["urn"]
        prefix, _, name = urn.rpartition("::")
        app = next(
            (a for a in FORMER_TYPES if name == f"e2e-{namespace}-{a}" or name.startswith(f"e2e-{namespace}-{a}-")),
            None,
        )
        if app is not None and APP_WORKLOAD in prefix:
            former = f"delivery-platform:workloads:{FORMER_TYPES[app]}"
            renamed[urn] = f"{prefix.replace(APP_WORKLOAD, former)}::{name}"
            if resource["type"] == APP_WORKLOAD:
                resource["type"] = former
    text = json.dumps(exported)
    for current, former_urn in renamed.items():
        text = text.replace(json.dumps(current), json.dumps(former_urn))
    state_file = stack.project.workdir / "former-state.json"
    state_file.write_text(text, encoding="utf-8")
    stack._run("import the former state", "stack", "import", "--file", str(state_file))
    assert workload_types(stack) == {f"delivery-platform:workloads:{former}" for former in FORMER_TYPES.values()}

    preview = stack._run("preview over the former state", "preview", "--json")
    steps = [(step["urn"], step["op"]) for step in json.loads(preview.stdout).get("steps", [])]
    changed = [(urn, op) for urn, op in steps if op not in {"same", "update"}]
    assert changed == [], changed
    stack.up("up over the former state", config)
    after = take_snapshot(control_plane, [namespace])
    for kind in ("Deployment", "Service", "ServiceAccount", "HTTPRoute", "PodDisruptionBudget"):
        was = {name: obj["metadata"]["uid"] for name, obj in before.of_kind(kind, namespace).items()}
        now = {name: obj["metadata"]["uid"] for name, obj in after.of_kind(kind, namespace).items()}
        assert was, kind
        assert now == was, kind
    assert workload_types(stack) == {APP_WORKLOAD}


# --------------------------------------------------------------------------- autoscaling


def test_autoscaling_is_switched_on_and_off_without_losing_pods_or_failing(
    control_plane: LocalControlPlane, new_stack: Callable[..., E2EStack]
) -> None:
    """On: the running count is kept (no reset to 1) until the autoscaler changes it,
    which takes the field over. Off: the Deployment takes it back by force - no
    field-manager conflict - and the autoscaler is gone."""
    namespace, app = "lifecycle-autoscaling", "catalog"
    rolling = {"type": "rolling", "maxSurge": 1, "maxUnavailable": 0}
    config = stack_config(
        control_plane.kubeconfig,
        namespace,
        {"name": app, "image": image(app, "2.3.1-b77"), "replicas": 3, "strategy": rolling},
    )
    stack = new_stack("autoscaling", config)
    stack.up("up fixed", config)

    def deployment() -> dict[str, Any]:
        found: dict[str, Any] = get(control_plane, "apps/v1", "Deployment", namespace, app)
        return found

    def ready_pods_never_below(floor: int, label: str, run: Callable[[], object]) -> None:
        pods = pods_recorder(control_plane, namespace, app)
        with recording(pods):
            run()
        counts = [sum(ready(p) for p in state.values()) for state in pods.states]
        assert min(counts) >= floor, f"{label}: ready pods went down to {min(counts)} (states: {counts})"

    # On, with minReplicas below the running count: nothing for the autoscaler to do.
    on = with_app(config, replicas=None, strategy=rolling | {"autoscaling": {"minReplicas": 2, "maxReplicas": 8}})
    ready_pods_never_below(3, "on", lambda: stack.up("up autoscaling on", on))
    assert deployment()["spec"]["replicas"] == 3
    assert get(control_plane, "autoscaling/v2", "HorizontalPodAutoscaler", namespace, app) is not None
    deployment_manager = pulumi_manager(stack, f"::e2e-{namespace}-{app}-deployment")
    assert replicas_managers(deployment()) == {deployment_manager}

    # A new version while autoscaled: the count is left alone (not reset to minReplicas or 1).
    new_version = with_app(on, image=image(app, "2.4.0-b80"))
    ready_pods_never_below(3, "new version", lambda: stack.up("up new version", new_version))
    assert deployment()["spec"]["replicas"] == 3

    # The autoscaler takes over (a higher minimum makes it scale without metrics).
    higher = with_app(new_version, strategy=rolling | {"autoscaling": {"minReplicas": 5, "maxReplicas": 8}})
    stack.up("up higher minimum", higher)
    control_plane.wait_until("the autoscaler to scale to 5", lambda: deployment()["spec"]["replicas"] == 5, timeout=90)
    control_plane.wait_until(
        "5 ready pods", lambda: deployment().get("status", {}).get("availableReplicas") == 5, timeout=60
    )
    assert replicas_managers(deployment()) == {"kube-controller-manager"}, deployment()["metadata"]["managedFields"]
    # Another update of the Deployment now leaves the field to the autoscaler.
    relabelled = with_app(higher, image=image(app, "2.4.1-b81"))
    ready_pods_never_below(5, "update while the autoscaler owns the count", lambda: stack.up("up 2.4.1", relabelled))
    assert deployment()["spec"]["replicas"] == 5
    assert replicas_managers(deployment()) == {"kube-controller-manager"}

    # Off: the count the config gives, taken back from the autoscaler's field manager.
    off = with_app(relabelled, replicas=6, strategy=rolling)
    ready_pods_never_below(5, "off", lambda: stack.up("up autoscaling off", off))
    assert get(control_plane, "autoscaling/v2", "HorizontalPodAutoscaler", namespace, app) is None
    assert deployment()["spec"]["replicas"] == 6
    assert deployment().get("status", {}).get("availableReplicas") == 6
    assert replicas_managers(deployment()) == {deployment_manager}
    no_changes = stack.preview_expecting_no_changes("preview after autoscaling off")
    assert no_changes.returncode == 0, no_changes.output


# --------------------------------------------------------------------------- migrations


def migration_readers(
    control_plane: LocalControlPlane, namespace: str, app: str
) -> tuple[Callable[[], dict[str, Any]], Callable[[], list[dict[str, Any]]], Callable[[], dict[str, dict[str, Any]]]]:
    """Readers of a Recreate app's Deployment, serving pods and Jobs."""
    client = control_plane.client

    def deployment() -> dict[str, Any]:
        found: dict[str, Any] = get(control_plane, "apps/v1", "Deployment", namespace, app)
        return found

    def server_pods() -> list[dict[str, Any]]:
        path = client.path_for("v1", "Pod", namespace=namespace)
        return list(client.list_objects(path, f"{APP_NAME_LABEL}={app},app.kubernetes.io/component=server")["items"])

    def jobs() -> dict[str, dict[str, Any]]:
        items = client.list_objects(client.path_for("batch/v1", "Job", namespace=namespace))["items"]
        return {job["metadata"]["name"]: job for job in items}

    return deployment, server_pods, jobs


def first_state_with_a_pod_of(pods: Recorder, job: str) -> int:
    return next(i for i, state in enumerate(pods.states) if any(name.startswith(job) for name in state))


def server_pod_names(state: State) -> list[str]:
    return [name for name, pod in state.items() if pod["metadata"]["labels"]["app.kubernetes.io/component"] == "server"]


def test_a_failing_migration_leaves_the_app_at_zero_and_the_next_up_retries_it(
    control_plane: LocalControlPlane, new_stack: Callable[..., E2EStack]
) -> None:
    namespace, app = "lifecycle-migration", "orders"
    # Deleted pods linger for their grace period, as on a kubelet.
    grace = [{"name": "E2E_HONOUR_GRACE_PERIOD", "value": "true"}]
    config = stack_config(
        control_plane.kubeconfig,
        namespace,
        {
            "name": app,
            "image": image(app, "1.8.0-b412"),
            "replicas": 2,
            "env": grace,
            "terminationGracePeriodSeconds": 6,
            "preStopSleepSeconds": 1,
            "strategy": {"type": "recreate", "migration": {"command": ["/app/migrate"], "backoffLimit": 0}},
        },
    )
    stack = new_stack("migration", config)
    stack.up("up v1", config)

    deployment, server_pods, jobs = migration_readers(control_plane, namespace, app)

    # v2's migration fails.
    broken = with_app(
        config, image=image(app, "1.9.0-b420"), env=[*grace, {"name": "E2E_MIGRATION_FAILS", "value": "true"}]
    )
    pods = pods_recorder(control_plane, namespace, app)
    with recording(pods):
        failed = stack.failing_up("up v2, migration fails", broken)
    assert "failed" in failed.output.lower()
    assert deployment()["spec"]["replicas"] == 0
    assert server_pods() == []
    failed_jobs = {name: job for name, job in jobs().items() if _condition_true(job, "Failed")}
    assert len(failed_jobs) == 1, list(jobs())
    (job_name,) = failed_jobs
    # The migration pod was created only after the last v1 pod was gone, not just terminating.
    migration_started = first_state_with_a_pod_of(pods, job_name)
    assert server_pod_names(pods.states[migration_started]) == []
    assert any(
        pod["metadata"].get("deletionTimestamp")
        for state in pods.states[:migration_started]
        for pod in state.values()
        if pod["metadata"]["labels"]["app.kubernetes.io/component"] == "server"
    ), "the old pods never lingered: the grace-period stage did not apply"

    # The next `up`, with nothing changed, runs the failed Job again (a new Job object).
    failed_uid = uid(failed_jobs[job_name])
    stack.failing_up("up v2 again, migration fails again", broken)
    assert uid(jobs()[job_name]) != failed_uid
    assert _condition_true(jobs()[job_name], "Failed")
    assert deployment()["spec"]["replicas"] == 0
    assert server_pods() == []

    # Fixed: the migration runs and succeeds, then v2 starts.
    fixed = with_app(broken, env=grace)
    pods = pods_recorder(control_plane, namespace, app)
    with recording(pods):
        stack.up("up v2 fixed", fixed)
    succeeded = [name for name, job in jobs().items() if _condition_true(job, "Complete")]
    assert len(succeeded) == 1
    assert deployment()["spec"]["replicas"] == 2
    assert {p["spec"]["containers"][0]["image"] for p in server_pods()} == {image(app, "1.9.0-b420")}
    assert deployment().get("status", {}).get("availableReplicas") == 2

    # A new migration command alone: the app stops before it runs, then starts again.
    new_command = with_app(
        fixed,
        strategy=fixed["apps"][0]["strategy"] | {"migration": {"command": ["/app/migrate", "--v2"], "backoffLimit": 0}},
    )
    pods = pods_recorder(control_plane, namespace, app)
    with recording(pods):
        stack.up("up new migration command", new_command)
    (command_job,) = [name for name in jobs() if name not in succeeded]
    started = first_state_with_a_pod_of(pods, command_job)
    assert server_pod_names(pods.states[started]) == [], "the new migration command ran while app pods still existed"
    assert deployment().get("status", {}).get("availableReplicas") == 2
    fixed = new_command

    assert_refresh_stops_nothing(stack, pods_recorder(control_plane, namespace, app), fixed, serving=2)
    assert deployment()["spec"]["replicas"] == 2


def assert_refresh_stops_nothing(stack: E2EStack, pods: Recorder, config: dict[str, Any], serving: int) -> None:
    """Refresh, as `pulumi up --refresh` does, finds nothing to change and no pod stops
    (it once took a Recreate app through 0 replicas)."""
    no_changes = stack._run("preview --refresh", "preview", "--refresh", "--expect-no-changes", "--diff", check=False)
    assert no_changes.returncode == 0, no_changes.output
    with recording(pods):
        stack.up("up --refresh", config, "--refresh")
    running = [
        sorted(name for name, p in state.items() if ready(p) and p["status"].get("phase") == "Running")
        for state in pods.states
    ]
    assert all(len(names) == serving for names in running), (running, stack.outputs["up --refresh"])


# --------------------------------------------------------------------------- canary promotion


def test_a_canary_promoted_to_the_end_and_removed_never_leaves_a_routed_service_without_pods(
    control_plane: LocalControlPlane, new_stack: Callable[..., E2EStack]
) -> None:
    namespace, app = "lifecycle-canary", "storefront"
    v1, v2 = image(app, "7.2.0-b903"), image(app, "7.3.0-b921")
    plan = {"type": "canary", "canaryImage": v2, "steps": [10, 50, 100], "hostnames": ["shop.e2e.example.com"]}
    config = stack_config(
        control_plane.kubeconfig,
        namespace,
        {"name": app, "image": v1, "replicas": 4, "strategy": plan | {"weight": 10}},
    )
    stack = new_stack("canary", config)
    stack.up("up weight 10", config)
    client = control_plane.client
    route_path = client.path_for("gateway.networking.k8s.io/v1", "HTTPRoute", namespace=namespace)

    def canary_replicas() -> int:
        value: int = get(control_plane, "apps/v1", "Deployment", namespace, f"{app}-canary")["spec"]["replicas"]
        return value

    assert canary_replicas() == 1
    steps = [
        ("weight 50", with_app(config, strategy=plan | {"weight": 50}), 2),
        ("weight 100", with_app(config, strategy=plan | {"weight": 100}), 4),
        ("promote", with_app(config, image=v2, strategy=plan | {"weight": 0}), 1),
        (
            "remove the canary",
            with_app(config, image=v2, strategy={"type": "canary", "hostnames": plan["hostnames"]}),
            0,
        ),
    ]
    for label, step, canary in steps:
        routes = Recorder(client, route_path)
        stable = endpoints_recorder(control_plane, namespace, app)
        canary_slices = endpoints_recorder(control_plane, namespace, f"{app}-canary")
        with recording(routes, stable, canary_slices):
            stack.up(f"up {label}", step)
        assert_always_served(stable, f"{label}: stable Service")
        # Whenever the route sends requests to the canary Service, it has ready pods.
        slices_by_version = _by_resource_version(canary_slices)
        for state in routes.states:
            route = state.get(app)
            if route is None:
                continue
            weights = {
                ref["name"]: ref.get("weight", 1) for rule in route["spec"]["rules"] for ref in rule["backendRefs"]
            }
            if weights.get(f"{app}-canary", 0) > 0:
                version = int(route["metadata"]["resourceVersion"])
                assert ready_endpoints(slices_by_version(version)), f"{label}: route {weights} at {version}"
        if canary:
            assert canary_replicas() == canary, label
            deployment = get(control_plane, "apps/v1", "Deployment", namespace, f"{app}-canary")
            assert deployment["status"].get("availableReplicas") == canary
    assert names(control_plane, "apps/v1", "Deployment", namespace, app) == {app}
    final = get(control_plane, "gateway.networking.k8s.io/v1", "HTTPRoute", namespace, app)
    assert [ref["name"] for rule in final["spec"]["rules"] for ref in rule["backendRefs"]] == [app]
    stable = get(control_plane, "apps/v1", "Deployment", namespace, app)
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == v2


def _by_resource_version(recorder: Recorder) -> Callable[[int], State]:
    """The recorded EndpointSlices as they were at a resourceVersion of the server.
    ResourceVersions are etcd revisions; on this single-etcd control plane they are
    one increasing sequence for every object, so they order events across watches."""
    timeline = [
        (max((int(s["metadata"]["resourceVersion"]) for s in state.values()), default=0), state)
        for state in recorder.states
    ]

    def at(version: int) -> State:
        found: State = recorder.states[0]
        for seen, state in timeline:
            if seen <= version:
                found = state
        return found

    return at


# --------------------------------------------------------------------------- Blue/Green rollback


def test_a_blue_green_rollback_waits_for_the_old_colour_to_be_healthy(
    control_plane: LocalControlPlane, new_stack: Callable[..., E2EStack]
) -> None:
    """The rollback changes nothing but `active`; the old colour's pods were lost and
    come back slowly. The Service must wait for them: Pulumi awaits the colour because
    its traffic annotation changed."""
    namespace, app, delay = "lifecycle-rollback", "checkout", 12
    config = stack_config(
        control_plane.kubeconfig,
        namespace,
        {
            "name": app,
            "replicas": 2,
            # Every pod of this app is Ready only `delay` seconds after it is scheduled.
            "env": [{"name": "E2E_READY_AFTER", "value": f"{delay}s"}],
            "strategy": {
                "type": "blue-green",
                "active": "blue",
                "blue": {"image": image(app, "4.0.2-b301")},
                "green": {"image": image(app, "4.1.0-b318")},
            },
        },
    )
    stack = new_stack("rollback", config)
    stack.up("up blue", config)
    promoted = with_app(config, strategy=config["apps"][0]["strategy"] | {"active": "green"})
    stack.up("up green", promoted)

    # The idle blue colour loses its pods (a node drain, say); they come back slowly.
    client = control_plane.client
    pods_path = client.path_for("v1", "Pod", namespace=namespace)
    for pod in client.list_objects(pods_path, f"{APP_NAME_LABEL}={app},{TRACK_LABEL}=blue")["items"]:
        client.delete(client.path_for("v1", "Pod", pod["metadata"]["name"], namespace))
    control_plane.wait_until(
        "new blue pods, not ready yet",
        lambda: (
            (pods := client.list_objects(pods_path, f"{APP_NAME_LABEL}={app},{TRACK_LABEL}=blue")["items"])
            and all(not p["metadata"].get("deletionTimestamp") for p in pods)
            and not any(ready(p) for p in pods)
        ),
    )

    endpoints = endpoints_recorder(control_plane, namespace, app)
    pods = pods_recorder(control_plane, namespace, app)
    with recording(endpoints, pods):
        stack.up("up rollback to blue", config)
    # The Service moved only once the blue pods were Ready: switched any earlier, its
    # endpoints would have been the unready blue pods.
    assert_always_served(endpoints, "rollback")
    service = get(control_plane, "v1", "Service", namespace, app)
    assert service["spec"]["selector"][TRACK_LABEL] == "blue"
    served = ready_endpoints(endpoints.states[-1])
    assert served
    assert {pods.seen[name]["metadata"]["labels"][TRACK_LABEL] for name in served} == {"blue"}
    # idleReplicas 0 scales the idle colour (green) down once traffic has left it...
    strategy = config["apps"][0]["strategy"]
    scaled_down = with_app(config, strategy=strategy | {"idleReplicas": 0})
    stack.up("up idle colour to zero", scaled_down)
    assert get(control_plane, "apps/v1", "Deployment", namespace, f"{app}-green")["spec"]["replicas"] == 0
    # ...and a switch to it scales it up, Ready, before the Service moves (no gap),
    # then scales the colour it left to 0.
    endpoints = endpoints_recorder(control_plane, namespace, app)
    with recording(endpoints):
        stack.up(
            "up switch to the scaled-down colour",
            with_app(scaled_down, strategy=strategy | {"idleReplicas": 0, "active": "green"}),
        )
    assert_always_served(endpoints, "switch to a colour at 0")
    assert get(control_plane, "v1", "Service", namespace, app)["spec"]["selector"][TRACK_LABEL] == "green"
    assert get(control_plane, "apps/v1", "Deployment", namespace, f"{app}-blue")["spec"]["replicas"] == 0

    # The blue pods the rollback found were the slow ones, and they turned Ready during it.
    blue_ready = [
        i
        for i, state in enumerate(pods.states)
        if any(ready(p) and p["metadata"]["labels"][TRACK_LABEL] == "blue" for p in state.values())
    ]
    assert blue_ready
    assert blue_ready[0] > 0
