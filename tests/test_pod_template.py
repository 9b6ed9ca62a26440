"""The one pod template every strategy deploys: pinned image pulled IfNotPresent,
resources, probes, the restricted security context, config from ConfigMaps and
Secrets, the app's own ServiceAccount, and the recommended labels."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.config import ConfigError, validate_stack_config
from tests.conftest import ProgramRunner
from tests.graph import Graph, Registered
from tests.workload_graph import (
    DEPLOYMENT,
    JOB,
    SERVICE_ACCOUNT,
    container,
    image,
    obj,
    ours,
    pod_labels,
    run_stack,
    stack,
)

DIGEST = "sha256:" + "ab" * 32
STRATEGIES: dict[str, dict[str, Any]] = {
    "recreate": {"type": "recreate", "migration": {"command": ["/migrate"]}},
    "rolling": {"type": "rolling"},
    "blue-green": {
        "type": "blue-green",
        "active": "blue",
        "blue": {"image": image("pay", "3.0.0-b1")},
        "green": {"image": image("pay", "3.1.0-b2")},
    },
    "canary": {"type": "canary", "canaryImage": image("pay", "3.1.0-b2"), "weight": 20},
}


def app_of(strategy: str, **overrides: Any) -> dict[str, Any]:
    app: dict[str, Any] = {"name": "pay", "environment": "uat", "strategy": STRATEGIES[strategy]}
    if strategy != "blue-green":
        app["image"] = image("pay", "3.0.0-b1")
    return app | overrides


def pod_templates(graph: Graph) -> list[Registered]:
    """Every workload with a pod template: Deployments and Jobs."""
    return ours(graph, DEPLOYMENT) + ours(graph, JOB)


@pytest.fixture(params=sorted(STRATEGIES))
def strategy(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_every_pod_is_pinned_restricted_and_runs_as_the_apps_own_account(
    run_program: ProgramRunner, strategy: str
) -> None:
    graph = run_stack(run_program, stack(app_of(strategy, runAsUser=10001)))
    account = obj(graph, SERVICE_ACCOUNT, "pay")
    assert account.input("metadata.namespace") == "uat"
    assert account.inputs["automountServiceAccountToken"] is False
    workloads = pod_templates(graph)
    assert workloads
    for workload in workloads:
        pod = workload.input("spec.template.spec")
        assert pod["serviceAccountName"] == "pay"
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        main = container(workload)
        assert main["image"].startswith("registry.example.com/shop/pay:3.")
        assert main["imagePullPolicy"] == "IfNotPresent"
        security = main["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["readOnlyRootFilesystem"] is True
        assert security["runAsNonRoot"] is True
        # The read-only root file system still has a writable /tmp.
        tmp = {mount["mountPath"]: mount["name"] for mount in main["volumeMounts"]}["/tmp"]
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert "emptyDir" in volumes[tmp]


def test_serving_pods_have_probes_port_and_resources_from_config(run_program: ProgramRunner, strategy: str) -> None:
    app = app_of(
        strategy,
        port=9090,
        resources={"cpuRequest": "250m", "memoryRequest": "256Mi", "cpuLimit": "1", "memoryLimit": "512Mi"},
        probes={
            "readiness": {"path": "/ready", "periodSeconds": 5, "failureThreshold": 2},
            "liveness": {"path": "/alive", "port": 9091, "initialDelaySeconds": 15},
        },
    )
    graph = run_stack(run_program, stack(app))
    for deployment in ours(graph, DEPLOYMENT):
        main = container(deployment)
        ports = {port["name"]: port["containerPort"] for port in main["ports"]}
        assert ports == {"http": 9090}
        readiness, liveness = main["readinessProbe"], main["livenessProbe"]
        assert readiness["httpGet"] == {"path": "/ready", "port": "http"}
        assert (readiness["periodSeconds"], readiness["failureThreshold"]) == (5, 2)
        assert liveness["httpGet"] == {"path": "/alive", "port": 9091}
        assert liveness["initialDelaySeconds"] == 15
        assert main["resources"] == {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        }
        assert main["lifecycle"]["preStop"]["sleep"]["seconds"] > 0


def test_no_cpu_limit_unless_configured(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(app_of("rolling")))
    limits = container(obj(graph, DEPLOYMENT, "pay"))["resources"]["limits"]
    assert "cpu" not in limits
    assert "memory" in limits


def test_migration_task_pod_has_no_port_or_probes_and_never_restarts_in_place(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(app_of("recreate")))
    (job,) = ours(graph, JOB)
    main = container(job)
    assert main["command"] == ["/migrate"]
    assert not {"ports", "readinessProbe", "livenessProbe", "lifecycle"} & main.keys()
    assert job.input("spec.template.spec.restartPolicy") == "Never"


def test_env_and_env_from_come_from_values_secrets_and_config_maps(run_program: ProgramRunner) -> None:
    app = app_of(
        "rolling",
        env=[
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_PASSWORD", "secret": "pay-db", "key": "password"},
        ],
        configMaps=["pay-settings"],
        secrets=["pay-api-keys"],
    )
    main = container(obj(run_stack(run_program, stack(app)), DEPLOYMENT, "pay"))
    assert main["env"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pay-db", "key": "password"}}},
    ]
    assert main["envFrom"] == [{"configMapRef": {"name": "pay-settings"}}, {"secretRef": {"name": "pay-api-keys"}}]


@pytest.mark.parametrize(
    ("ref", "version"),
    [
        pytest.param(image("pay", "3.0.0-b1"), "3.0.0-b1", id="tag"),
        pytest.param(f"registry.example.com/shop/pay@{DIGEST}", "ab" * 6, id="digest"),
        pytest.param(f"registry.example.com/shop/pay:3.0.0-b1@{DIGEST}", "3.0.0-b1", id="tag-and-digest"),
    ],
)
def test_labels_are_the_recommended_set_with_the_image_version(
    run_program: ProgramRunner, ref: str, version: str
) -> None:
    deployment = obj(run_stack(run_program, stack(app_of("rolling", image=ref, partOf="payments"))), DEPLOYMENT, "pay")
    assert container(deployment)["image"] == ref
    expected = {
        "app.kubernetes.io/name": "pay",
        "app.kubernetes.io/instance": "pay-uat",
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/part-of": "payments",
        "app.kubernetes.io/managed-by": "pulumi",
    }
    assert expected.items() <= pod_labels(deployment).items()
    assert expected.items() <= deployment.input("metadata.labels").items()
    assert pod_labels(deployment)["app.kubernetes.io/component"]
    # The selector leaves the version out: it is immutable, the version is not.
    assert "app.kubernetes.io/version" not in deployment.input("spec.selector.matchLabels")


# A Kubernetes label value, from the API's validation (apimachinery IsValidLabelValue).
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


@pytest.mark.parametrize(
    "tag",
    [
        "1.0.0-",  # ends with '-'
        "_rc1",  # starts with '_'
        "1." + "a" * 60 + ".rc1-b7",  # cut at 63 characters, it would end with '.'
        "3.0.0-" + "a" * 56 + "-b12345",  # cut at 63, it would end with '-'
        "v2__",
    ],
)
def test_the_version_label_is_a_valid_label_value_for_any_tag(run_program: ProgramRunner, tag: str) -> None:
    """Registry tags allow what label values do not (a leading '_', a trailing '-' or
    '.', 128 characters): the label is still one the API server accepts, and as much
    of the tag as fits."""
    deployment = obj(run_stack(run_program, stack(app_of("rolling", image=image("pay", tag)))), DEPLOYMENT, "pay")
    version = pod_labels(deployment)["app.kubernetes.io/version"]
    assert LABEL_VALUE.fullmatch(version), version
    assert 0 < len(version) <= 63
    assert version in tag
    assert deployment.input("metadata.labels")["app.kubernetes.io/version"] == version


def test_a_tag_without_a_letter_or_digit_is_rejected() -> None:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config(stack(app_of("rolling", image=image("pay", "_._"))))
    assert caught.value.problems == [
        "delivery-platform:apps[0].image: 'registry.example.com/shop/pay:_._' has a tag without a letter or digit; "
        "it cannot label the pods' version"
    ]


def test_serving_pods_spread_over_zones_and_nodes_with_their_own_revision(
    run_program: ProgramRunner, strategy: str
) -> None:
    graph = run_stack(run_program, stack(app_of(strategy, replicas=4)))
    for deployment in ours(graph, DEPLOYMENT):
        constraints = deployment.input("spec.template.spec.topologySpreadConstraints")
        assert {c["topologyKey"] for c in constraints} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        for constraint in constraints:
            # Over exactly this Deployment's pods, one revision at a time.
            assert constraint["labelSelector"]["matchLabels"] == deployment.input("spec.selector.matchLabels")
            assert constraint["matchLabelKeys"] == ["pod-template-hash"]
            assert constraint["maxSkew"] == 1
            # Soft: a small or single-zone cluster still schedules every pod.
            assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
    for job in ours(graph, JOB):
        assert "topologySpreadConstraints" not in job.input("spec.template.spec")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            {"image": "registry.example.com/shop/pay:latest"},
            "delivery-platform:apps[0].image: 'registry.example.com/shop/pay:latest' uses the mutable tag 'latest'",
            id="latest-tag",
        ),
        pytest.param(
            {"image": "registry.example.com/shop/pay"},
            "delivery-platform:apps[0].image: 'registry.example.com/shop/pay' has no tag or digest",
            id="no-tag",
        ),
        pytest.param(
            {"resources": {"memoryRequest": "1Gi", "memoryLimit": "512Mi"}},
            "delivery-platform:apps[0].resources.memoryRequest: 1Gi is greater than memoryLimit 512Mi",
            id="request-above-limit",
        ),
        pytest.param(
            {"resources": {"cpuRequest": "2", "cpuLimit": "1500m"}},
            "delivery-platform:apps[0].resources.cpuRequest: 2 is greater than cpuLimit 1500m",
            id="cpu-request-above-limit",
        ),
        pytest.param(
            {"resources": {"cpuRequest": "lots"}},
            "delivery-platform:apps[0].resources.cpuRequest: 'lots' is not a Kubernetes quantity",
            id="bad-quantity",
        ),
        pytest.param(
            {"preStopSleepSeconds": 30},
            "delivery-platform:apps[0].preStopSleepSeconds: 30 leaves no time to shut down",
            id="pre-stop-longer-than-grace",
        ),
        pytest.param(
            {"name": "p" * 41},
            "delivery-platform:apps[0].name:",
            id="name-too-long-for-suffixes",
        ),
    ],
)
def test_bad_pod_settings_are_rejected_naming_the_key(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config(stack(app_of("rolling", **overrides)))
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems
