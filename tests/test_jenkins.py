"""Jenkins: the chart's values (admin Secret reference, pinned plugins, agent pod
templates per daemonless builder), the seed pipelines per app, agent RBAC, and no
password in plaintext anywhere in the graph."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml
from pulumi.runtime.rpc import is_rpc_secret

from components.charts import JENKINS_CHART
from components.config import AppConfig, ConfigError, JenkinsConfig, RegistryConfig, parse_image, validate_stack_config
from components.config.delivery import ReleaseRepo
from components.jenkins import Jenkins
from components.program import main
from tests.conftest import ProgramRunner, stack_file_config
from tests.graph import Graph, Registered

CHART = "kubernetes:helm.sh/v4:Chart"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
POD_TEMPLATE = "kubernetes:core/v1:PodTemplate"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ADMIN_PASSWORD = "jenkins-admin-Xk29vQe7Lp04"
REGISTRY_PASSWORD = "registry-token-Zq81"
STACK = "staging"

APPS = [
    AppConfig.model_validate(
        {
            "name": "catalog",
            "environment": "test",
            "delivery": "gitops",
            "image": "registry.example.com/shop/catalog:2.3.1-b77",
            "strategy": {"type": "rolling"},
        }
    ),
    AppConfig.model_validate(
        {
            "name": "checkout",
            "environment": "prod",
            "strategy": {
                "type": "blue-green",
                "active": "blue",
                "blue": {"image": "registry.example.com/shop/checkout:4.0.2-b301"},
                "green": {"image": "registry.example.com/shop/checkout:4.1.0-b318"},
            },
        }
    ),
    AppConfig.model_validate(
        {
            "name": "storefront",
            "environment": "prod",
            "image": "registry.example.com/shop/storefront:7.2.0-b903",
            "strategy": {"type": "canary", "canaryImage": "registry.example.com/shop/storefront:7.3.0-b921"},
        }
    ),
]
RELEASE = ReleaseRepo(url="https://git.example.com/platform/releases.git", revision="main")
REGISTRY = RegistryConfig(server="europe-docker.pkg.dev/acme/apps", username="ci-pusher")


def run_jenkins(
    run_program: ProgramRunner,
    config: dict[str, Any] | None = None,
    *,
    release: ReleaseRepo = RELEASE,
    with_registry: bool = True,
    autopilot: bool = False,
) -> Graph:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        Jenkins(
            "ci",
            JenkinsConfig.model_validate(config or {}),
            apps=APPS,
            release_repo=release,
            stack=STACK,
            admin_password=ADMIN_PASSWORD,
            registry=REGISTRY if with_registry else None,
            registry_password=REGISTRY_PASSWORD if with_registry else None,
            autopilot=autopilot,
            opts=pulumi.ResourceOptions(provider=provider),
        )

    return run_program(program)


def plaintext_paths(value: Any, needle: str, path: str = "") -> Iterator[str]:
    """Where `needle` appears in `value` outside a secret-wrapped value."""
    if is_rpc_secret(value):
        return
    if isinstance(value, str):
        if needle in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from plaintext_paths(item, needle, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from plaintext_paths(item, needle, f"{path}[{index}]")


def secret_paths(value: Any, needle: str, path: str = "") -> Iterator[str]:
    """Where `needle` appears inside a secret-wrapped value."""
    if is_rpc_secret(value):
        if any(plaintext_paths(value["value"], needle)):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from secret_paths(item, needle, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from secret_paths(item, needle, f"{path}[{index}]")


def leaks(graph: Graph, needle: str) -> list[str]:
    return [f"{r.type} {r.name}{path}" for r in graph for path in plaintext_paths(r.inputs, needle)]


def values(graph: Graph) -> dict[str, Any]:
    found: dict[str, Any] = graph.one(CHART).inputs["values"]
    return found


def pod_template(graph: Graph) -> dict[str, Any]:
    templates = yaml.safe_load(next(iter(values(graph)["agent"]["podTemplates"].values())))
    assert len(templates) == 1
    template: dict[str, Any] = templates[0]
    return template


def pod_containers(graph: Graph) -> dict[str, dict[str, Any]]:
    pod = yaml.safe_load(pod_template(graph)["yaml"])
    return {container["name"]: container for container in pod["spec"]["containers"]}


def pod_volumes(graph: Graph) -> dict[str, dict[str, Any]]:
    return {volume["name"]: volume for volume in yaml.safe_load(pod_template(graph)["yaml"])["spec"]["volumes"]}


def seed_config(graph: Graph) -> Registered:
    (config_map,) = graph.of_type(CONFIG_MAP)
    return config_map


def seed_script(graph: Graph) -> str:
    (casc,) = seed_config(graph).inputs["data"].values()
    jobs = yaml.safe_load(casc)["jobs"]
    assert len(jobs) == 1
    script: str = jobs[0]["script"]
    return script


def jenkinsfile(graph: Graph, job: str) -> str:
    """The pipeline script of one pipelineJob in the Job DSL."""
    match = re.search(rf"pipelineJob\('{re.escape(job)}'\).*?script\('''(.*?)'''\)", seed_script(graph), re.DOTALL)
    assert match, f"no pipelineJob {job}"
    return match.group(1).replace("\\'", "'")


def environment_of(pipeline: str) -> dict[str, str]:
    block = re.search(r"environment \{(.*?)\n  \}", pipeline, re.DOTALL)
    assert block
    return dict(re.findall(r"(\w+) = '([^']*)'", block.group(1)))


def by_kubernetes_name(graph: Graph, type_: str) -> dict[str, Registered]:
    return {r.input("metadata.name"): r for r in graph.of_type(type_)}


def test_chart_is_the_pinned_upstream_jenkins_chart_in_its_own_namespace(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    chart = graph.one(CHART)
    assert (chart.inputs["chart"], chart.inputs["version"]) == (JENKINS_CHART.name, JENKINS_CHART.version)
    assert chart.inputs["repositoryOpts"] == {"repo": "https://charts.jenkins.io"}
    assert chart.inputs["namespace"] == JenkinsConfig().namespace
    assert chart.inputs["namespace"] in by_kubernetes_name(graph, NAMESPACE)


def test_chart_source_override_reaches_the_chart(run_program: ProgramRunner) -> None:
    mirror = {"oci": "oci://registry.internal/charts/jenkins", "version": "5.9.60"}
    chart = run_jenkins(run_program, {"chart": mirror}).one(CHART)
    assert (chart.inputs["chart"], chart.inputs["version"]) == (mirror["oci"], mirror["version"])
    assert "repositoryOpts" not in chart.inputs


def test_admin_password_lives_in_a_secret_the_chart_references(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    admin = values(graph)["controller"]["admin"]
    secret = by_kubernetes_name(graph, SECRET)[admin["existingSecret"]]
    assert secret.input("metadata.namespace") == graph.one(CHART).inputs["namespace"]
    assert is_rpc_secret(secret.inputs["stringData"])
    data = secret.inputs["stringData"]["value"]
    assert data[admin["passwordKey"]] == ADMIN_PASSWORD
    assert admin["userKey"] in data
    # The chart mounts existingSecret only while createSecret is on.
    assert admin["createSecret"] is True
    assert "password" not in admin


def test_no_password_appears_unencrypted_in_any_input(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    for password in (ADMIN_PASSWORD, REGISTRY_PASSWORD):
        assert leaks(graph, password) == []
        # Even wrapped, a password only ever goes into a Kubernetes Secret (a ConfigMap
        # or the chart's values would show it to anyone who can read them).
        assert {r.type for r in graph if any(secret_paths(r.inputs, password))} == {SECRET}


def test_builds_push_with_a_docker_config_secret_mounted_into_the_builder(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    push = next(s for s in graph.of_type(SECRET) if s.inputs.get("type") == "kubernetes.io/dockerconfigjson")
    agents_namespace = values(graph)["agent"]["namespace"]
    assert push.input("metadata.namespace") == agents_namespace
    volume = next(v for v in pod_volumes(graph).values() if "secret" in v)
    assert volume["secret"]["secretName"] == push.input("metadata.name")
    assert volume["secret"]["items"] == [{"key": ".dockerconfigjson", "path": "config.json"}]
    mount = next(m for m in pod_containers(graph)["builder"]["volumeMounts"] if m["name"] == volume["name"])
    assert mount["readOnly"] is True
    assert push.urn in graph.one(CHART).depends_on


def test_without_a_registry_password_no_push_secret_is_created(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program, with_registry=False)
    assert all(s.inputs.get("type") != "kubernetes.io/dockerconfigjson" for s in graph.of_type(SECRET))
    assert all("secret" not in volume for volume in pod_volumes(graph).values())


def test_plugins_are_the_pinned_list_and_nothing_floats_to_latest(run_program: ProgramRunner) -> None:
    config = JenkinsConfig()
    controller = values(run_jenkins(run_program))["controller"]
    assert controller["installPlugins"] == config.plugins
    assert controller["installLatestPlugins"] is False
    assert controller["installLatestSpecifiedPlugins"] is False
    for plugin in controller["installPlugins"]:
        assert plugin.split(":")[1] not in ("latest", "experimental"), plugin
    assert "job-dsl" in {plugin.split(":")[0] for plugin in controller["installPlugins"]}


def test_controller_is_cluster_internal_with_persistent_home(run_program: ProgramRunner) -> None:
    found = values(run_jenkins(run_program, {"persistenceSize": "50Gi", "storageClass": "premium-rwo"}))
    assert found["controller"]["serviceType"] == "ClusterIP"
    assert "httpRoute" not in found["controller"]
    assert found["persistence"] == {"enabled": True, "size": "50Gi", "storageClass": "premium-rwo"}


def test_gateway_exposure_adds_an_http_route_to_the_configured_gateway(run_program: ProgramRunner) -> None:
    gateway = {"name": "edge", "namespace": "gateways", "sectionName": "https"}
    config = {"exposeViaGateway": True, "hostname": "ci.example.com", "gateway": gateway}
    controller = values(run_jenkins(run_program, config))["controller"]
    assert controller["httpRoute"] == {"enabled": True, "parentRefs": [gateway], "hostnames": ["ci.example.com"]}
    assert controller["jenkinsUrl"] == "https://ci.example.com"
    assert controller["serviceType"] == "ClusterIP"


@pytest.mark.parametrize("builder", ["buildkit", "buildah"])
def test_rootless_builders_get_unconfined_profiles_but_no_privilege(run_program: ProgramRunner, builder: str) -> None:
    graph = run_jenkins(run_program, {"builder": builder})
    context = pod_containers(graph)["builder"]["securityContext"]
    assert context["runAsUser"] == 1000
    assert context["seccompProfile"] == {"type": "Unconfined"}
    assert context["appArmorProfile"] == {"type": "Unconfined"}
    assert not context.get("privileged", False)
    assert "capabilities" not in context
    # Unconfined profiles are beyond PSS baseline: only the agents namespace allows them.
    namespaces = by_kubernetes_name(graph, NAMESPACE)
    agents = namespaces[values(graph)["agent"]["namespace"]]
    controller = namespaces[graph.one(CHART).inputs["namespace"]]
    assert agents.input("metadata.labels")["pod-security.kubernetes.io/enforce"] == "privileged"
    # Every container of the chart's controller pod is restricted (see the chart contract).
    assert controller.input("metadata.labels")["pod-security.kubernetes.io/enforce"] == "restricted"


def test_buildkit_is_the_default_builder_and_runs_rootless(run_program: ProgramRunner) -> None:
    builder = pod_containers(run_jenkins(run_program))["builder"]
    reference = parse_image(builder["image"])
    assert reference.repository == "moby/buildkit"
    assert reference.tag is not None
    assert reference.tag.endswith("-rootless")
    env = {item["name"]: item["value"] for item in builder["env"]}
    registry_mount = next(m for m in builder["volumeMounts"] if m.get("readOnly"))
    assert env["DOCKER_CONFIG"] == registry_mount["mountPath"]


def test_buildah_reads_push_credentials_from_the_mounted_secret(run_program: ProgramRunner) -> None:
    builder = pod_containers(run_jenkins(run_program, {"builder": "buildah"}))["builder"]
    env = {item["name"]: item["value"] for item in builder["env"]}
    registry_mount = next(m for m in builder["volumeMounts"] if m.get("readOnly"))
    assert env["REGISTRY_AUTH_FILE"] == f"{registry_mount['mountPath']}/config.json"
    assert env["BUILDAH_ISOLATION"] == "chroot"


def test_kaniko_is_a_maintained_fork_under_baseline_and_warns_it_is_deprecated(
    run_program: ProgramRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        graph = run_jenkins(run_program, {"builder": "kaniko"})
    builder = pod_containers(graph)["builder"]
    # Google's own image repository was archived with the project in June 2025.
    assert not builder["image"].startswith("gcr.io/kaniko-project/")
    assert "Unconfined" not in str(builder["securityContext"])
    namespaces = by_kubernetes_name(graph, NAMESPACE)
    labels = namespaces[values(graph)["agent"]["namespace"]].input("metadata.labels")
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert any("kaniko is deprecated" in record.getMessage() for record in caplog.records)
    # The debug image has no /bin/sh: every builder step names busybox's shell.
    pipeline = jenkinsfile(graph, "test/catalog")
    assert pipeline.count("container(name: 'builder', shell: '/busybox/sh')") == 2


def test_a_builder_image_override_is_used(run_program: ProgramRunner) -> None:
    mirror = "mirror.internal/moby/buildkit:v0.32.2-rootless"
    assert pod_containers(run_jenkins(run_program, {"builderImage": mirror}))["builder"]["image"] == mirror


def test_autopilot_warns_about_builders_that_need_unconfined_profiles(
    run_program: ProgramRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        run_jenkins(run_program, {"builder": "buildkit"}, autopilot=True)
        run_jenkins(run_program, {"builder": "kaniko"}, autopilot=True)
    autopilot = [record.getMessage() for record in caplog.records if "Autopilot" in record.getMessage()]
    assert len(autopilot) == 1
    assert "buildkit" in autopilot[0]


def test_build_pod_template_joins_the_charts_cloud_in_the_agents_namespace(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    template = pod_template(graph)
    agent_values = values(graph)["agent"]
    assert template["namespace"] == agent_values["namespace"]
    assert template["serviceAccount"] == values(graph)["serviceAccountAgent"]["name"]
    assert values(graph)["serviceAccountAgent"]["create"] is False
    assert template["yamlMergeStrategy"] == "merge"
    # The chart's default template (agent.podName) carries the pinned jnlp container.
    assert template["inheritFrom"] == "default"
    # Every pipeline runs on this template.
    for app in APPS:
        assert f"agent {{ label '{template['label']}' }}" in jenkinsfile(graph, f"{app.environment}/{app.name}")


def test_agents_get_a_service_account_limited_to_their_namespace(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    agents_namespace = values(graph)["agent"]["namespace"]
    (account,) = graph.of_type(SERVICE_ACCOUNT)
    (role,) = graph.of_type(ROLE)
    (binding,) = graph.of_type(ROLE_BINDING)
    assert account.input("metadata.name") == values(graph)["serviceAccountAgent"]["name"]
    for resource in (account, role, binding):
        assert resource.input("metadata.namespace") == agents_namespace
    assert binding.inputs["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role.input("metadata.name"),
    }
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": account.input("metadata.name"), "namespace": agents_namespace}
    ]
    for rule in role.inputs["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}
        assert "secrets" not in rule["resources"]
    assert not [r for r in graph if r.type.startswith("kubernetes:rbac.authorization.k8s.io/v1:Cluster")]
    assert values(graph)["rbac"]["readSecrets"] is False


def test_agent_workload_identity_annotation(run_program: ProgramRunner) -> None:
    email = "ci-builds@acme-prod.iam.gserviceaccount.com"
    (account,) = run_jenkins(run_program, {"agentGcpServiceAccount": email}).of_type(SERVICE_ACCOUNT)
    assert account.input("metadata.annotations") == {"iam.gke.io/gcp-service-account": email}


def test_one_seed_pipeline_per_app_loaded_by_the_charts_jcasc_sidecar(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    config_map = seed_config(graph)
    assert config_map.input("metadata.namespace") == graph.one(CHART).inputs["namespace"]
    # The chart's config-reload sidecar loads ConfigMaps labelled <release>-jenkins-config.
    assert config_map.input("metadata.labels") == {f"{graph.one(CHART).inputs['name']}-jenkins-config": "true"}
    script = seed_script(graph)
    jobs = re.findall(r"pipelineJob\('([^']+)'\)", script)
    assert jobs == [f"{app.environment}/{app.name}" for app in APPS]
    assert sorted(re.findall(r"folder\('([^']+)'\)", script)) == sorted({app.environment for app in APPS})
    assert script.count("sandbox(true)") == len(APPS)
    assert config_map.urn in graph.one(CHART).depends_on


def test_jcasc_never_interpolates_the_pipelines(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    casc = [*seed_config(graph).inputs["data"].values(), *values(graph)["agent"]["podTemplates"].values()]
    for text in casc:
        assert not re.search(r"(?<!\^)\$\{", text)


def test_pipeline_builds_source_then_pushes_an_immutable_tag_then_deploys(run_program: ProgramRunner) -> None:
    pipeline = jenkinsfile(run_jenkins(run_program), "test/catalog")
    stages = re.findall(r"stage\('([^']+)'\)", pipeline)
    assert stages == ["Checkout", "Source build", "Image build and push", "Deploy (gitops)"]
    environment = environment_of(pipeline)
    catalog = APPS[0]
    assert catalog.image is not None
    assert environment["IMAGE_REPOSITORY"] == parse_image(catalog.image).repository
    assert environment["SOURCE_REPO"] == f"{JenkinsConfig().source_repo_base}/catalog.git"
    assert environment["SOURCE_BUILD_TARGET"] == JenkinsConfig().source_build_target
    # Tag = build number + commit: unique per build, so a re-run never reuses one.
    assert "env.IMAGE_TAG = env.BUILD_NUMBER + '-' + source.GIT_COMMIT" in pipeline
    assert "env.IMAGE_REF = env.IMAGE_REPOSITORY + ':' + env.IMAGE_TAG" in pipeline
    assert "push=true" in pipeline.split("stage('Image build and push')")[1].split("stage('Deploy")[0]
    assert "push=true" not in pipeline.split("stage('Source build')")[1].split("stage('Image build")[0]


def test_gitops_deploy_records_the_image_then_commits_the_re_rendered_app(run_program: ProgramRunner) -> None:
    pipeline = jenkinsfile(run_jenkins(run_program), "test/catalog")
    environment = environment_of(pipeline)
    assert environment["PLATFORM_REPO"] == JenkinsConfig().pulumi_repo
    assert environment["PULUMI_STACK"] == STACK
    assert environment["RELEASE_REPO"] == RELEASE.url
    assert environment["RELEASE_BRANCH"] == RELEASE.revision
    assert environment["RELEASE_PATH"] == "test/catalog"
    deploy = pipeline.split("stage('Deploy (gitops)')")[1]
    # The library renders the app (and records the image); nothing edits YAML by hand.
    render = re.search(r"bash scripts/release\.sh deploy [^\n]*", deploy)
    assert render is not None
    for argument in ('--stack "$PULUMI_STACK"', '--app "$APP"', '--image "$IMAGE_REF"', '--build "$BUILD_NUMBER"'):
        assert argument in render.group(0)
    assert '--release-dir "$WORKSPACE/release"' in render.group(0)
    # First the stack file (the record) to the platform repo, then the rendered app (the
    # deploy Argo CD syncs) to the release repo, each message naming app, image and build.
    record = deploy.index('git add --all "Pulumi.$PULUMI_STACK.yaml"')
    rendered = deploy.index('git add --all "$RELEASE_PATH"')
    assert deploy.index("bash scripts/release.sh") < record < rendered
    assert (
        deploy.index('git push origin "HEAD:$PLATFORM_BRANCH"')
        < rendered
        < deploy.index('git push origin "HEAD:$RELEASE_BRANCH"')
    )
    assert 'git commit -m "$ENVIRONMENT/$APP: deploy $IMAGE_REF (build $BUILD_NUMBER)"' in deploy[rendered:]
    assert f"gitUsernamePassword(credentialsId: '{JenkinsConfig().deploy_credentials_id}')" in deploy
    # Commits to either repo must not trigger the app's build again.
    assert deploy.count("poll: false") == 2
    assert "pulumi up" not in deploy


def test_pulumi_deploy_sets_the_next_image_setting_and_runs_pulumi_up(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    expected = {"prod/checkout": "strategy.green.image", "prod/storefront": "strategy.canaryImage"}
    for index, app in enumerate(APPS):
        if app.delivery != "pulumi":
            continue
        pipeline = jenkinsfile(graph, f"{app.environment}/{app.name}")
        environment = environment_of(pipeline)
        assert environment["DEPLOY_REPO"] == JenkinsConfig().pulumi_repo
        assert environment["PULUMI_STACK"] == STACK
        # The canary slot, the idle colour: promotion stays a deliberate change.
        key = expected[f"{app.environment}/{app.name}"]
        assert environment["IMAGE_CONFIG_PATH"] == f"delivery-platform:apps[{index}].{key}"
        deploy = pipeline.split("stage('Deploy (pulumi)')")[1]
        assert 'pulumi up --yes --stack "$PULUMI_STACK"' in deploy
        assert "credentialsId: 'pulumi-access-token', variable: 'PULUMI_ACCESS_TOKEN'" in deploy
    # The repository the blue-green app runs today (its active colour, blue).
    blue = APPS[1].strategy.model_dump(by_alias=True)["blue"]["image"]
    assert environment_of(jenkinsfile(graph, "prod/checkout"))["IMAGE_REPOSITORY"] == parse_image(blue).repository
    assert "pulumi" in pod_containers(graph)


def test_deploy_tool_container_meets_the_restricted_standard(run_program: ProgramRunner) -> None:
    containers = pod_containers(run_jenkins(run_program))
    (tool,) = (c for name, c in containers.items() if name not in ("builder", "jnlp"))
    context = tool["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert parse_image(tool["image"]).tag


def test_every_object_is_namespaced_explicitly_and_uses_the_given_provider(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    provider = graph.one("pulumi:providers:kubernetes", "cluster")
    component = graph.one("delivery-platform:jenkins:Jenkins", "ci")
    for resource in graph.descendants(component):
        if resource.type.startswith("kubernetes:"):
            assert resource.provider_urn == provider.urn, resource.name
        if resource.custom and resource.type.startswith("kubernetes:") and resource.type != NAMESPACE:
            assert resource.input("metadata.namespace"), resource.name


def test_skipped_chart_keeps_the_rest(run_program: ProgramRunner, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        graph = run_program(main, config=stack_file_config("dev") | {"jenkins": {"chart": {"skip": True}}}, stack="dev")
    component = graph.one("delivery-platform:jenkins:Jenkins")
    children = graph.children(component)
    assert CHART not in {r.type for r in children}
    assert {NAMESPACE, SECRET, CONFIG_MAP, SERVICE_ACCOUNT, ROLE, ROLE_BINDING, POD_TEMPLATE, NETWORK_POLICY} <= {
        r.type for r in children
    }
    assert any("jenkins.chart.skip is true" in record.getMessage() for record in caplog.records)
    # Seed jobs still cover every app of the stack.
    apps = stack_file_config("dev")["apps"]
    jobs = re.findall(r"pipelineJob\('([^']+)'\)", seed_script(graph))
    assert jobs == [f"{app['environment']}/{app['name']}" for app in apps]


@pytest.mark.parametrize(
    ("jenkins", "problem"),
    [
        (
            {"plugins": ["kubernetes:1.0", "workflow-aggregator:1.0", "git:latest"]},
            "delivery-platform:jenkins.plugins[2]: 'git:latest' is not pinned",
        ),
        ({"plugins": ["git"]}, "delivery-platform:jenkins.plugins[0]: 'git' is not a pinned plugin"),
        (
            {"plugins": [p for p in JenkinsConfig().plugins if not p.startswith("job-dsl:")]},
            "delivery-platform:jenkins.plugins: must include job-dsl",
        ),
        # The deploy follows each app's owner (apps[].delivery) now.
        ({"deployMode": "pulumi"}, "delivery-platform:jenkins.deployMode: unknown key"),
        ({"agentNamespace": "jenkins"}, "delivery-platform:jenkins.agentNamespace: must differ from namespace"),
        ({"builder": "docker"}, "delivery-platform:jenkins.builder: must be one of"),
        ({"exposeViaGateway": True}, "delivery-platform:jenkins.hostname: is required"),
    ],
)
def test_jenkins_config_errors_name_the_key(jenkins: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_stack_config({"jenkins": jenkins})
    assert any(message.startswith(problem) for message in raised.value.problems), raised.value.problems


# --- the build pod, declared for the policy pack ---


def declared_build_pod(graph: Graph) -> Registered:
    return graph.one(POD_TEMPLATE)


def test_the_declared_build_pod_is_the_one_jenkins_starts(run_program: ProgramRunner) -> None:
    """The pack checks the PodTemplate object; Jenkins starts pods from the JCasC text.
    They must be the same pod, or the pack judges something that never runs."""
    for builder in ("buildkit", "buildah", "kaniko"):
        graph = run_jenkins(run_program, {"builder": builder})
        declared = declared_build_pod(graph)
        jcasc = yaml.safe_load(pod_template(graph)["yaml"])
        assert declared.input("metadata.namespace") == values(graph)["agent"]["namespace"]
        assert declared.input("metadata.name") == pod_template(graph)["label"]
        assert declared.inputs["template"]["spec"]["containers"] == jcasc["spec"]["containers"]
        assert declared.inputs["template"]["spec"]["volumes"] == jcasc["spec"]["volumes"]
        assert declared.inputs["template"]["metadata"]["labels"] == jcasc["metadata"]["labels"]
        assert declared.input("template.spec.serviceAccountName") == pod_template(graph)["serviceAccount"]


def test_the_agent_container_is_the_charts_pinned_agent_under_the_restricted_standard(
    run_program: ProgramRunner,
) -> None:
    graph = run_jenkins(run_program)
    agent = pod_containers(graph)["jnlp"]
    image = values(graph)["agent"]["image"]
    assert agent["image"] == f"{image['repository']}:{image['tag']}"
    context = agent["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["readOnlyRootFilesystem"] is True
    # A read-only root needs somewhere to write temporary files.
    assert {"name": "tmp", "mountPath": "/tmp"} in agent["volumeMounts"]


# --- network policies ---


def policies_in(graph: Graph, namespace: str) -> dict[str, dict[str, Any]]:
    return {
        r.input("metadata.name"): r.inputs["spec"]
        for r in graph.of_type(NETWORK_POLICY)
        if r.input("metadata.namespace") == namespace
    }


def namespace_peers(rule: dict[str, Any], key: str) -> set[str]:
    return {
        value
        for peer in rule.get(key, [])
        for value in peer.get("namespaceSelector", {}).get("matchLabels", {}).values()
    }


def ports(rule: dict[str, Any]) -> set[int]:
    return {port["port"] for port in rule.get("ports", [])}


def test_both_namespaces_deny_everything_by_default(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    for namespace in (JenkinsConfig().namespace, JenkinsConfig().agent_namespace):
        deny = policies_in(graph, namespace)["default-deny"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_only_agents_reach_the_controller_and_only_on_its_two_ports(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program)
    config = JenkinsConfig()
    ingress = [
        (name, rule) for name, spec in policies_in(graph, config.namespace).items() for rule in spec.get("ingress", [])
    ]
    assert [(name, namespace_peers(rule, "from"), ports(rule)) for name, rule in ingress] == [
        ("allow-from-agents", {config.agent_namespace}, {8080, 50000})
    ]
    to_controller = policies_in(graph, config.agent_namespace)["allow-to-controller"]["egress"]
    assert [(namespace_peers(rule, "to"), ports(rule)) for rule in to_controller] == [
        ({config.namespace}, {8080, 50000})
    ]
    # Nothing may connect to a build pod.
    assert not any("ingress" in spec for spec in policies_in(graph, config.agent_namespace).values())


def test_gateway_and_workload_identity_open_only_what_they_need(run_program: ProgramRunner) -> None:
    plain = run_jenkins(run_program)
    assert "allow-from-gateway" not in policies_in(plain, "jenkins")
    assert "allow-gke-metadata" not in policies_in(plain, "jenkins-agents")
    config = {
        "exposeViaGateway": True,
        "hostname": "ci.example.com",
        "gateway": {"name": "edge", "namespace": "gateways"},
        "agentGcpServiceAccount": "ci-builds@acme-prod.iam.gserviceaccount.com",
    }
    graph = run_jenkins(run_program, config)
    (gateway,) = policies_in(graph, "jenkins")["allow-from-gateway"]["ingress"]
    assert (namespace_peers(gateway, "from"), ports(gateway)) == ({"gateways"}, {8080})
    metadata = policies_in(graph, "jenkins-agents")["allow-gke-metadata"]["egress"]
    assert {(rule["to"][0]["ipBlock"]["cidr"], *ports(rule)) for rule in metadata} == {
        ("169.254.169.254/32", 80),
        ("169.254.169.252/32", 988),
    }


def test_egress_beyond_the_cluster_is_https_and_ssh_to_the_configured_ranges(run_program: ProgramRunner) -> None:
    graph = run_jenkins(run_program, {"egressCidrs": ["10.20.0.0/16"]})
    for namespace in ("jenkins", "jenkins-agents"):
        (rule,) = policies_in(graph, namespace)["allow-egress-https-ssh"]["egress"]
        assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == ["10.20.0.0/16"]
        assert {443, 22} <= ports(rule) <= {443, 22, 6443}


# --- plugins ---


def test_plugins_come_from_the_update_center_or_a_mirror_of_it(run_program: ProgramRunner) -> None:
    default = values(run_jenkins(run_program))["controller"]
    env = {item["name"]: item["value"] for item in default["initContainerEnv"]}
    assert env == {
        "JENKINS_UC": "https://updates.jenkins.io",
        "JENKINS_UC_DOWNLOAD": "https://updates.jenkins.io/download",
    }
    mirror = "https://nexus.internal/repository/jenkins-updates"
    controller = values(run_jenkins(run_program, {"pluginSource": {"url": mirror}}))["controller"]
    env = {item["name"]: item["value"] for item in controller["initContainerEnv"]}
    assert env == {"JENKINS_UC": mirror, "JENKINS_UC_DOWNLOAD": f"{mirror}/download"}
    assert controller["installPlugins"] == JenkinsConfig().plugins


def test_plugins_baked_into_the_controller_image_are_not_downloaded(run_program: ProgramRunner) -> None:
    image = "europe-docker.pkg.dev/acme/ci/jenkins:2.568.2-plugins-3"
    controller = values(run_jenkins(run_program, {"pluginSource": {"kind": "image", "controllerImage": image}}))[
        "controller"
    ]
    assert controller["installPlugins"] is False
    assert "initContainerEnv" not in controller
    rendered = f"{controller['image']['registry']}/{controller['image']['repository']}:{controller['image']['tag']}"
    assert rendered == image


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ({"kind": "image"}, "delivery-platform:jenkins.pluginSource.controllerImage: is required"),
        ({"url": "updates.jenkins.io"}, "delivery-platform:jenkins.pluginSource.url:"),
        (
            {"kind": "image", "controllerImage": "registry.internal/jenkins@sha256:" + "a" * 64},
            "delivery-platform:jenkins.pluginSource.controllerImage: needs a tag",
        ),
    ],
)
def test_plugin_source_errors_name_the_key(source: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_stack_config({"jenkins": {"pluginSource": source}})
    assert any(message.startswith(problem) for message in raised.value.problems), raised.value.problems


def test_every_controller_container_the_values_reach_is_restricted(run_program: ProgramRunner) -> None:
    controller = values(run_jenkins(run_program))["controller"]
    for context in (
        controller["containerSecurityContext"],
        controller["sidecars"]["configAutoReload"]["containerSecurityContext"],
    ):
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsNonRoot"] is True
        assert context["readOnlyRootFilesystem"] is True
    pod = controller["podSecurityContextOverride"]
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["runAsNonRoot"] is True
    # The chart's NetworkPolicy stays off: the component owns the namespace's policies.
    assert values(run_jenkins(run_program))["networkPolicy"] == {"enabled": False}
