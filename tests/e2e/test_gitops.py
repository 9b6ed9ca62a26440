"""GitOps delivery end to end, with a real Argo CD.

The stack's GitOps apps are rendered by the strategy components (`python -m
components.release`) into a Git repository served on loopback; Argo CD's application
controller and repo server (built from the Argo CD Go module, tests/e2e/argocd.py) sync
them to the local control plane; the stack itself (`pulumi up`) creates the AppProject,
the Applications and the release hooks' access, and never an app object. The scenarios
run in order, each from the state the previous one left:

1. the first release syncs every app, and Argo CD, not Pulumi, owns their objects;
2. a Blue/Green promotion: the Service switches only once the new colour is healthy
   (its pods turn Ready seconds late), so it never lacks a ready endpoint;
3. a canary weight step: the route's weights move only after the canary Deployment,
   scaled up for the larger share, has rolled out;
4. a Recreate release with a migration: every old pod is gone before the migration's
   pod starts, and the new pods start only after it succeeded;
5. a failing migration fails the sync and leaves the app at 0; the fixed release
   runs it again and brings the app back;
6. a rollback by `git revert` of the promotion commit, again never without endpoints;
7. an app taken out of the config is pruned with its Application."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.argocd import LocalArgoCD
from tests.e2e.controlplane import LocalControlPlane
from tests.e2e.hooks import HookRunner
from tests.e2e.k8s_stack import STACK, E2EStack
from tests.e2e.pulumi_cli import REPO, PulumiProject, release_tool, toolchain_env
from tests.e2e.recorder import (
    APP_NAME_LABEL,
    Recorder,
    assert_always_served,
    endpoints_recorder,
    pods_recorder,
    ready,
    recording,
)

ENV = "gitops-shop"
REGISTRY = "registry.example.com/shop"
BLUE_GREEN = "checkout"
CANARY = "storefront"
RECREATE = "orders"
APPS = (BLUE_GREEN, CANARY, RECREATE)
# Pods of these apps turn Ready this long after they are scheduled (kwok-stages.yaml),
# long enough that an ungated Service switch or route change would be caught.
WARM_UP = "6s"
SYNC_TIMEOUT = 240.0
# The passwords the Argo CD component needs as stack secrets, the dev stack's (nothing
# reads them here: the chart is skipped, the test runs its own Argo CD).
SECRETS = ("argocdAdminPassword", "argocdRedisPassword")


def image(app: str, version: str) -> str:
    return f"{REGISTRY}/{app}:{version}"


def initial_config(kubeconfig: Path, repo_url: str) -> dict[str, Any]:
    warm_up = [{"name": "E2E_READY_AFTER", "value": WARM_UP}]
    return {
        "cluster": {"kind": "kubeconfig", "path": str(kubeconfig)},
        "environments": [{"name": ENV, "allowFromNamespaces": ["gateway"]}],
        "jenkins": {"enabled": False},
        "argocd": {
            "chart": {"skip": True},
            "releaseRepo": {"url": repo_url, "revision": "main"},
            # The local API server, for the release hooks' egress policy.
            "releaseHookApiServerCidrs": ["127.0.0.1/32"],
            # One quick retry, as few as self-heal needs (SyncRetry): a failed release
            # fails twice and then stays failed until the next commit.
            "sync": {"retry": {"limit": 1, "backoff": {"duration": "1s"}}},
        },
        "apps": [
            {
                "name": BLUE_GREEN,
                "environment": ENV,
                "delivery": "gitops",
                "replicas": 2,
                "env": warm_up,
                "strategy": {
                    "type": "blue-green",
                    "active": "blue",
                    "blue": {"image": image(BLUE_GREEN, "1.0.0-b1")},
                    "green": {"image": image(BLUE_GREEN, "1.0.0-b1")},
                    # The idle colour runs no pods: a switch has to wait for them.
                    "idleReplicas": 0,
                },
            },
            {
                "name": CANARY,
                "environment": ENV,
                "delivery": "gitops",
                "image": image(CANARY, "7.2.0-b903"),
                "replicas": 4,
                "env": warm_up,
                "strategy": {
                    "type": "canary",
                    "canaryImage": image(CANARY, "7.3.0-b921"),
                    "weight": 25,
                    "steps": [25, 50, 100],
                },
            },
            {
                "name": RECREATE,
                "environment": ENV,
                "delivery": "gitops",
                "image": image(RECREATE, "1.8.0-b412"),
                "replicas": 2,
                # Old pods take their grace period to go (kwok-stages.yaml).
                "env": [{"name": "E2E_HONOUR_GRACE_PERIOD", "value": "1"}],
                "terminationGracePeriodSeconds": 4,
                "preStopSleepSeconds": 1,
                "strategy": {"type": "recreate", "migration": {"command": ["/app/migrate", "--to", "latest"]}},
            },
        ],
    }


def app_entry(config: dict[str, Any], name: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [app for app in config["apps"] if app["name"] == name]
    (entry,) = entries
    return entry


@dataclass
class GitOps:
    control_plane: LocalControlPlane
    argocd: LocalArgoCD
    stack: E2EStack
    config: dict[str, Any]
    environment: dict[str, str]
    # Revisions by scenario, for the rollback.
    revisions: dict[str, str] = field(default_factory=dict)

    @property
    def project_dir(self) -> Path:
        return self.stack.project.workdir

    def release_tool(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = release_tool(args, self.environment)
        if check and result.returncode != 0:
            raise AssertionError(f"release tool {args} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def release(self, label: str, config: dict[str, Any]) -> str:
        """Writes the config, renders every GitOps app into the release repository and
        commits it: the deploy commit. Returns its revision."""
        self.config = config
        self.stack.write_config(config)
        repo = self.argocd.repository
        self.release_tool(
            "render", "--stack", STACK, "--project-dir", str(self.project_dir), "--release-dir", str(repo.checkout)
        )
        revision = repo.commit_all(f"{label}: render {STACK}")
        self.revisions[label] = revision
        return revision

    def synced(self, app: str, revision: str, *, ended: tuple[str, ...] = ("Succeeded",)) -> dict[str, Any]:
        return self.argocd.wait_for_sync(application(app), revision, ended=ended, timeout=SYNC_TIMEOUT)

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        client = self.control_plane.client
        result: dict[str, Any] | None = client.get_or_none(client.path_for(api_version, kind, name, ENV))
        return result

    def recorder(self, api_version: str, kind: str, app: str) -> Recorder:
        client = self.control_plane.client
        return Recorder(client, client.path_for(api_version, kind, namespace=ENV), f"{APP_NAME_LABEL}={app}")


def application(app: str) -> str:
    return f"{ENV}-{app}"


@pytest.fixture(scope="module")
def gitops(control_plane: LocalControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitOps]:
    with LocalArgoCD(control_plane) as argocd, HookRunner(control_plane):
        config = initial_config(control_plane.kubeconfig, argocd.repository.url)
        project = PulumiProject(tmp_path_factory.mktemp("gitops"))
        stack = E2EStack(project, control_plane, config, secrets=SECRETS)
        flow = GitOps(control_plane, argocd, stack, config, {**toolchain_env(), "PYTHONPATH": str(REPO)})
        try:
            yield flow
        finally:
            stack.clean_up()


def test_first_release_is_synced_by_argocd_and_owned_by_it(gitops: GitOps) -> None:
    revision = gitops.release("first", gitops.config)
    gitops.stack.up("first", gitops.config)
    for app in APPS:
        gitops.synced(app, revision)
    # Pulumi applied no app object: its state holds none of their kinds.
    app_kinds = {"Deployment", "Service", "Job", "HTTPRoute", "PodDisruptionBudget", "HorizontalPodAutoscaler"}
    applied = gitops.stack.state().kubernetes_objects()
    assert [obj for obj in applied if obj.namespace == ENV and obj.kind in app_kinds] == []
    for kind, name in (("Deployment", f"{BLUE_GREEN}-blue"), ("Deployment", CANARY), ("Deployment", RECREATE)):
        obj = gitops.get("apps/v1", kind, name)
        assert obj is not None, name
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "argocd"
        assert obj["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"].startswith(
            application(name.split("-")[0])
        )
        assert not [key for key in obj["metadata"].get("annotations", {}) if key.startswith("pulumi.com/")]
        assert not [m["manager"] for m in obj["metadata"]["managedFields"] if m["manager"].startswith("pulumi")]


def test_blue_green_promotion_switches_only_to_a_healthy_colour(gitops: GitOps) -> None:
    config = copy.deepcopy(gitops.config)
    strategy = app_entry(config, BLUE_GREEN)["strategy"]
    strategy["green"]["image"] = image(BLUE_GREEN, "1.1.0-b2")
    strategy["active"] = "green"
    endpoints = endpoints_recorder(gitops.control_plane, ENV, BLUE_GREEN)
    with recording(endpoints):
        revision = gitops.release("promote", config)
        gitops.synced(BLUE_GREEN, revision)
    service = gitops.get("v1", "Service", BLUE_GREEN)
    assert service is not None
    assert service["spec"]["selector"]["delivery-platform/track"] == "green"
    assert_always_served(endpoints, "the promotion")
    # The switch really waited: green's pods came up during the sync.
    green = gitops.get("apps/v1", "Deployment", f"{BLUE_GREEN}-green")
    assert green is not None
    assert green["status"].get("readyReplicas") == 2


def test_canary_weight_moves_only_after_the_canary_has_rolled_out(gitops: GitOps) -> None:
    config = copy.deepcopy(gitops.config)
    app_entry(config, CANARY)["strategy"]["weight"] = 50
    deployments = gitops.recorder("apps/v1", "Deployment", CANARY)
    routes = gitops.recorder("gateway.networking.k8s.io/v1", "HTTPRoute", CANARY)
    with recording(deployments, routes):
        revision = gitops.release("canary-50", config)
        gitops.synced(CANARY, revision)

    def canary_weight(route: dict[str, Any]) -> int:
        backends = route["spec"]["rules"][-1]["backendRefs"]
        return int(next(b["weight"] for b in backends if b["name"] == f"{CANARY}-canary"))

    # The API server's resourceVersion is one etcd revision across kinds: it orders
    # the two watches' events.
    moved = [
        int(state[CANARY]["metadata"]["resourceVersion"])
        for state in routes.states
        if CANARY in state and canary_weight(state[CANARY]) == 50
    ]
    rolled_out = [
        int(state[f"{CANARY}-canary"]["metadata"]["resourceVersion"])
        for state in deployments.states
        if f"{CANARY}-canary" in state and state[f"{CANARY}-canary"]["status"].get("availableReplicas", 0) >= 2
    ]
    assert moved, "the route never reached weight 50"
    assert rolled_out, "the canary never ran 2 available pods"
    assert min(rolled_out) < min(moved), "the route moved traffic before the canary had rolled out"


def test_recreate_release_stops_the_app_before_migrating_and_starts_it_after(gitops: GitOps) -> None:
    config = copy.deepcopy(gitops.config)
    app_entry(config, RECREATE)["image"] = image(RECREATE, "1.9.0-b430")
    pods = pods_recorder(gitops.control_plane, ENV, RECREATE)
    with recording(pods):
        revision = gitops.release("recreate", config)
        gitops.synced(RECREATE, revision)

    def component(pod: dict[str, Any]) -> str:
        return str(pod["metadata"]["labels"].get("app.kubernetes.io/component"))

    def version(pod: dict[str, Any]) -> str:
        return str(pod["metadata"]["labels"].get("app.kubernetes.io/version"))

    def migration(pod: dict[str, Any]) -> bool:
        return component(pod) == "migration" and version(pod).startswith("1.9.0")

    first_migration = next(i for i, state in enumerate(pods.states) if any(migration(p) for p in state.values()))
    old_servers = [
        p for p in pods.states[first_migration].values() if component(p) == "server" and version(p).startswith("1.8.0")
    ]
    assert old_servers == [], (
        f"old pods still there when the migration started: {[p['metadata']['name'] for p in old_servers]}"
    )
    migration_done = next(
        i
        for i, state in enumerate(pods.states)
        if any(migration(p) and p.get("status", {}).get("phase") == "Succeeded" for p in state.values())
    )
    first_new_server = next(
        i
        for i, state in enumerate(pods.states)
        if any(component(p) == "server" and version(p).startswith("1.9.0") for p in state.values())
    )
    assert migration_done < first_new_server, "new pods started before the migration had succeeded"
    deployment = gitops.get("apps/v1", "Deployment", RECREATE)
    assert deployment is not None
    assert deployment["status"].get("readyReplicas") == 2


def test_failed_migration_fails_the_sync_and_leaves_the_app_stopped_until_fixed(gitops: GitOps) -> None:
    config = copy.deepcopy(gitops.config)
    entry = app_entry(config, RECREATE)
    entry["image"] = image(RECREATE, "2.0.0-b500")
    entry["env"] = [*entry["env"], {"name": "E2E_MIGRATION_FAILS", "value": "1"}]
    revision = gitops.release("failing-migration", config)
    gitops.synced(RECREATE, revision, ended=("Failed", "Error"))
    # The stop hook ran, the migration failed: no Deployment, no serving pod.
    assert gitops.get("apps/v1", "Deployment", RECREATE) is None
    servers = gitops.control_plane.client.list_objects(
        f"/api/v1/namespaces/{ENV}/pods", f"{APP_NAME_LABEL}={RECREATE},app.kubernetes.io/component=server"
    )["items"]
    assert [p for p in servers if ready(p)] == []

    fixed = copy.deepcopy(config)
    app_entry(fixed, RECREATE)["env"] = [
        var for var in app_entry(fixed, RECREATE)["env"] if var["name"] != "E2E_MIGRATION_FAILS"
    ]
    revision = gitops.release("fixed-migration", fixed)
    gitops.synced(RECREATE, revision)
    deployment = gitops.get("apps/v1", "Deployment", RECREATE)
    assert deployment is not None
    assert deployment["status"].get("readyReplicas") == 2
    assert all(
        c["image"] == image(RECREATE, "2.0.0-b500") for c in deployment["spec"]["template"]["spec"]["containers"]
    )


def test_rollback_by_git_revert_waits_for_the_old_colour(gitops: GitOps) -> None:
    repo = gitops.argocd.repository
    endpoints = endpoints_recorder(gitops.control_plane, ENV, BLUE_GREEN)
    with recording(endpoints):
        revision = repo.revert(gitops.revisions["promote"])
        gitops.synced(BLUE_GREEN, revision)
    service = gitops.get("v1", "Service", BLUE_GREEN)
    assert service is not None
    assert service["spec"]["selector"]["delivery-platform/track"] == "blue"
    assert_always_served(endpoints, "the rollback")
    # The config still says green: the release tool reports the reverted directory.
    check = gitops.release_tool(
        "check",
        "--stack",
        STACK,
        "--project-dir",
        str(gitops.project_dir),
        "--release-dir",
        str(repo.checkout),
        check=False,
    )
    assert check.returncode == 1, check.stderr
    assert json.loads(check.stdout)["outOfDate"] == [f"{ENV}/{BLUE_GREEN}"]


def test_an_app_taken_out_of_the_config_is_pruned(gitops: GitOps) -> None:
    config = copy.deepcopy(gitops.config)
    config["apps"] = [app for app in config["apps"] if app["name"] != CANARY]
    gitops.release("remove-canary-app", config)
    assert not (gitops.argocd.repository.checkout / ENV / CANARY).exists()
    gitops.stack.up("remove-canary-app", config)
    assert gitops.argocd.application(application(CANARY)) is None
    for api_version, kind, name in (
        ("apps/v1", "Deployment", CANARY),
        ("apps/v1", "Deployment", f"{CANARY}-canary"),
        ("v1", "Service", CANARY),
        ("gateway.networking.k8s.io/v1", "HTTPRoute", CANARY),
    ):
        assert gitops.get(api_version, kind, name) is None, f"{kind} {name} survived its app"
    # The other apps are untouched.
    assert gitops.get("apps/v1", "Deployment", RECREATE) is not None
