"""Jenkins CI: the upstream chart configured as code, agents that build images without
a Docker daemon, and one seed pipeline per app (source build -> image build and push
with an immutable tag -> deploy through Git or `pulumi up`).

Daemonless builders and where they run
--------------------------------------
- BuildKit rootless (default): `buildctl-daemonless.sh` starts a rootless buildkitd
  per build as UID 1000. rootlesskit creates a user namespace and mounts, which the
  runtime's default seccomp and AppArmor profiles forbid, so the container runs with
  both set to Unconfined (unprivileged, no added capabilities). Kubernetes has no
  equivalent of `--security-opt systempaths=unconfined`, hence
  `--oci-worker-no-process-sandbox` (BuildKit's own Kubernetes examples do the same).
- Buildah: rootless as the image's `build` user (UID 1000) with chroot isolation; it
  also creates a user namespace, so it needs the same Unconfined profiles.
- Kaniko (deprecated): Google archived GoogleContainerTools/kaniko in June 2025.
  Chainguard's fork ships source only (images for its customers), so the default image
  is the community fork osscontainertools/kaniko. Kaniko unpacks images into its own
  root file system: it runs as root, but with the default capabilities and profiles.
Unconfined profiles are rejected by the Pod Security Standards `baseline` level, so
build pods live in their own namespace whose level is the lowest one the chosen
builder passes (privileged for BuildKit and Buildah, baseline for Kaniko); nothing
else runs there.

GKE Autopilot rejects privileged containers, admits only its default list of Linux
capabilities (no SYS_ADMIN) and applies the containerd default (RuntimeDefault)
seccomp profile to every workload. Rootless BuildKit and Buildah depend on seccomp and
AppArmor being Unconfined and are known not to start there (moby/buildkit#3217);
Kaniko needs neither and is the builder that runs on Autopilot. Elsewhere run the
build agents in a GKE Standard cluster (a dedicated node pool) or Cloud Build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from .charts import JENKINS_CHART, ChartRelease, deploy_chart, system_namespace_labels
from .config import AppConfig, BlueGreenStrategy, CanaryStrategy, JenkinsConfig, RegistryConfig, parse_image
from .config.delivery import ReleaseRepo
from .environment import dockerconfigjson

# The chart's release name; the chart then names its objects `jenkins` and watches
# ConfigMaps labelled `jenkins-jenkins-config` for JCasC files.
RELEASE_NAME = "jenkins"
JCASC_LABEL = f"{RELEASE_NAME}-jenkins-config"
# The chart's default agent pod template (agent.podName): the build template inherits
# its jnlp container (pinned inbound-agent image, resources, service account).
DEFAULT_POD_TEMPLATE = "default"
BUILD_POD_LABEL = "image-builder"
AGENT_SERVICE_ACCOUNT = f"{RELEASE_NAME}-agent"
PUSH_SECRET = "registry-push"
READ_ONLY = ["get", "list", "watch"]
ADMIN_SECRET = f"{RELEASE_NAME}-admin"
ADMIN_USER = "admin"
ADMIN_USER_KEY = "jenkins-admin-user"
ADMIN_PASSWORD_KEY = "jenkins-admin-password"
# Deploy-stage tools, pinned: yq edits the release files (gitops); the Pulumi image
# matches the SDK this program pins (Python 3.11) for `pulumi up` (pulumi).
YQ_IMAGE = "mikefarah/yq:4.53.6"
PULUMI_IMAGE = "pulumi/pulumi-python-3.11:3.272.0"
# Build history kept per job, and the longest a build may run.
BUILDS_KEPT = 30
BUILD_TIMEOUT_MINUTES = 60

_UNCONFINED = {"seccompProfile": {"type": "Unconfined"}, "appArmorProfile": {"type": "Unconfined"}}
_RESTRICTED = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class Builder:
    """A daemonless image builder as the `builder` container of the agent pod. The
    shell commands read $SOURCE_BUILD_TARGET and $IMAGE_REF from the pipeline."""

    image: str
    # The lowest Pod Security Standards level that admits the builder's pod.
    pod_security: str
    security_context: Mapping[str, Any]
    env: Mapping[str, str]
    storage_path: str | None  # an emptyDir for layers and cache; None: the builder needs none
    registry_auth_dir: str  # the registry Secret's config.json is mounted here
    source_build: str
    build_and_push: str
    idle_command: Sequence[str] = ("cat",)
    shell: str | None = None  # for the container step, where the image has no /bin/sh
    deprecation: str | None = None


_BUILDKIT_BUILD = "buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=."

BUILDERS: Mapping[str, Builder] = {
    "buildkit": Builder(
        image="moby/buildkit:v0.32.2-rootless",
        pod_security="privileged",
        security_context={"runAsUser": 1000, "runAsGroup": 1000, **_UNCONFINED},
        env={"BUILDKITD_FLAGS": "--oci-worker-no-process-sandbox", "DOCKER_CONFIG": "/home/user/.docker"},
        # Not the image's VOLUME: on Container-Optimized OS that is mounted nosuid,nodev,
        # which rootless BuildKit cannot use.
        storage_path="/home/user/.local/share/buildkit",
        registry_auth_dir="/home/user/.docker",
        source_build=f'{_BUILDKIT_BUILD} --opt target="$SOURCE_BUILD_TARGET"',
        build_and_push=f'{_BUILDKIT_BUILD} --output "type=image,name=$IMAGE_REF,push=true"',
    ),
    "buildah": Builder(
        image="quay.io/containers/buildah:v1.44.0-immutable",
        pod_security="privileged",
        security_context={"runAsUser": 1000, "runAsGroup": 1000, **_UNCONFINED},
        env={
            "BUILDAH_ISOLATION": "chroot",
            "STORAGE_DRIVER": "overlay",
            "REGISTRY_AUTH_FILE": "/home/build/.docker/config.json",
        },
        storage_path="/home/build/.local/share/containers",
        registry_auth_dir="/home/build/.docker",
        source_build='buildah build --layers --target "$SOURCE_BUILD_TARGET" .',
        build_and_push='buildah build --layers --tag "$IMAGE_REF" . && buildah push "$IMAGE_REF"',
    ),
    "kaniko": Builder(
        # The -debug variant has the busybox shell the pipeline's steps need.
        image="ghcr.io/osscontainertools/kaniko:v1.28.3-debug",
        pod_security="baseline",
        security_context={"runAsUser": 0},
        env={"DOCKER_CONFIG": "/kaniko/.docker"},
        # Kaniko unpacks and snapshots in its own root file system.
        storage_path=None,
        registry_auth_dir="/kaniko/.docker",
        # --cleanup leaves the container's file system clean for the second build.
        source_build=(
            '/kaniko/executor --context "dir://$PWD" --dockerfile Dockerfile '
            '--target "$SOURCE_BUILD_TARGET" --no-push --cleanup'
        ),
        build_and_push='/kaniko/executor --context "dir://$PWD" --dockerfile Dockerfile --destination "$IMAGE_REF"',
        idle_command=("/busybox/cat",),
        shell="/busybox/sh",
        deprecation=(
            "jenkins.builder kaniko is deprecated: Google archived Kaniko in June 2025 and this uses the "
            "community fork (osscontainertools/kaniko); prefer buildkit where the cluster allows it"
        ),
    ),
}


@dataclass(frozen=True)
class SeedJob:
    """One app's pipeline, as a Job DSL `pipelineJob`."""

    folder: str
    name: str
    description: str
    jenkinsfile: str

    @property
    def full_name(self) -> str:
        return f"{self.folder}/{self.name}"


def groovy_string(value: str) -> str:
    """A single-quoted Groovy string literal (no interpolation) holding `value`."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def groovy_multiline(value: str) -> str:
    """A triple-single-quoted Groovy string literal (no interpolation) holding `value`."""
    return "'''" + value.replace("\\", "\\\\").replace("'''", "\\'\\'\\'") + "'''"


def jcasc_literal(text: str) -> str:
    """JCasC replaces ${...} in its files with variables and secrets; ^${ keeps it."""
    return text.replace("${", "^${")


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as | blocks, so the rendered JCasC reads like hand-written YAML."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


def to_yaml(document: object) -> str:
    return yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False, width=120)


def image_repository(app: AppConfig) -> str:
    """Where the pipeline pushes: the repository of the image the app runs today."""
    strategy = app.strategy
    if isinstance(strategy, BlueGreenStrategy):
        current = (strategy.blue if strategy.active == "blue" else strategy.green).image
    else:
        assert app.image is not None  # AppConfig requires an image for every other strategy
        current = app.image
    return parse_image(current).repository


def image_config_key(app: AppConfig) -> str:
    """The app setting a new build replaces: the canary slot of a canary app, the idle
    colour of a blue-green app (promotion stays a deliberate change), else the image."""
    strategy = app.strategy
    if isinstance(strategy, CanaryStrategy):
        return "strategy.canaryImage"
    if isinstance(strategy, BlueGreenStrategy):
        idle = "green" if strategy.active == "blue" else "blue"
        return f"strategy.{idle}.image"
    return "image"


def _container_step(builder: Builder, command: str) -> str:
    target = f"name: 'builder', shell: {groovy_string(builder.shell)}" if builder.shell else "'builder'"
    return f"container({target}) {{\n          sh {groovy_string(command)}\n        }}"


def _git_checkout(url_variable: str, branch_variable: str, credentials_id: str | None, *, poll: bool) -> str:
    arguments = [f"url: env.{url_variable}", f"branch: env.{branch_variable}"]
    if credentials_id:
        arguments.append(f"credentialsId: {groovy_string(credentials_id)}")
    if not poll:
        # Only the app's source triggers builds, not the repo the deploy commits to.
        arguments += ["poll: false", "changelog: false"]
    return f"git({', '.join(arguments)})"


def _commit_and_push(credentials_id: str, paths: str) -> str:
    return (
        f"withCredentials([gitUsernamePassword(credentialsId: {groovy_string(credentials_id)})]) {{\n"
        "            sh '''\n"
        '              git config user.name "Jenkins"\n'
        '              git config user.email "jenkins@delivery-platform.invalid"\n'
        f"              git add {paths}\n"
        '              git commit -m "$ENVIRONMENT/$APP: deploy $IMAGE_REF (build $BUILD_NUMBER)"\n'
        '              git push origin "HEAD:$DEPLOY_BRANCH"\n'
        "            '''\n"
        "          }"
    )


def _gitops_deploy(config: JenkinsConfig, release: ReleaseRepo, app: AppConfig) -> tuple[dict[str, str], str]:
    if release.kind == "helm":
        edit = f'yq -i ".{image_config_key(app)} = strenv(IMAGE_REF)" "$RELEASE_PATH/values.yaml"'
    else:
        edit = (
            'yq -i "(.images[] | select(.name == strenv(IMAGE_REPOSITORY))).newTag = strenv(IMAGE_TAG)" '
            '"$RELEASE_PATH/kustomization.yaml"'
        )
    environment = {
        "DEPLOY_REPO": release.url,
        "DEPLOY_BRANCH": release.revision,
        "RELEASE_PATH": release.app_path(app.environment, app.name),
    }
    checkout = _git_checkout("DEPLOY_REPO", "DEPLOY_BRANCH", config.deploy_credentials_id, poll=False)
    push = _commit_and_push(config.deploy_credentials_id, '"$RELEASE_PATH"')
    steps = (
        "dir('release') {\n"
        f"          {checkout}\n"
        f"          container('yq') {{\n            sh {groovy_string(edit)}\n          }}\n"
        f"          {push}\n"
        "        }"
    )
    return environment, steps


def _pulumi_deploy(config: JenkinsConfig, app: AppConfig, app_index: int, stack: str) -> tuple[dict[str, str], str]:
    assert config.pulumi_repo is not None  # JenkinsConfig requires it for deployMode pulumi
    environment = {
        "DEPLOY_REPO": config.pulumi_repo,
        "DEPLOY_BRANCH": config.pulumi_branch,
        "PULUMI_STACK": stack,
        "IMAGE_CONFIG_PATH": f"delivery-platform:apps[{app_index}].{image_config_key(app)}",
    }
    up = (
        "pulumi install\n"
        'pulumi config set --stack "$PULUMI_STACK" --path "$IMAGE_CONFIG_PATH" "$IMAGE_REF"\n'
        'pulumi up --yes --stack "$PULUMI_STACK"\n'
    )
    checkout = _git_checkout("DEPLOY_REPO", "DEPLOY_BRANCH", config.deploy_credentials_id, poll=False)
    push = _commit_and_push(config.deploy_credentials_id, '"Pulumi.$PULUMI_STACK.yaml"')
    steps = (
        "dir('infra') {\n"
        f"          {checkout}\n"
        "          container('pulumi') {\n"
        f"            withCredentials([string(credentialsId: {groovy_string(config.pulumi_credentials_id)}, "
        "variable: 'PULUMI_ACCESS_TOKEN')]) {\n"
        f"              sh {groovy_multiline(up)}\n"
        "            }\n"
        "          }\n"
        f"          {push}\n"
        "        }"
    )
    return environment, steps


def jenkinsfile(
    config: JenkinsConfig, builder: Builder, release: ReleaseRepo, app: AppConfig, *, app_index: int, stack: str
) -> str:
    """The app's declarative Pipeline: source build, image build and push with a tag
    unique to the build (build number + commit), then the deploy."""
    if config.deploy_mode == "gitops":
        deploy_environment, deploy_steps = _gitops_deploy(config, release, app)
    else:
        deploy_environment, deploy_steps = _pulumi_deploy(config, app, app_index, stack)
    environment = {
        "APP": app.name,
        "ENVIRONMENT": app.environment,
        "SOURCE_REPO": f"{config.source_repo_base.rstrip('/')}/{app.name}.git",
        "SOURCE_BRANCH": config.source_branch,
        "SOURCE_BUILD_TARGET": config.source_build_target,
        "IMAGE_REPOSITORY": image_repository(app),
        **deploy_environment,
    }
    environment_block = "\n".join(f"    {key} = {groovy_string(value)}" for key, value in environment.items())
    checkout = _git_checkout("SOURCE_REPO", "SOURCE_BRANCH", config.source_credentials_id, poll=True)
    return f"""pipeline {{
  agent {{ label {groovy_string(BUILD_POD_LABEL)} }}
  options {{
    disableConcurrentBuilds()
    buildDiscarder(logRotator(numToKeepStr: '{BUILDS_KEPT}'))
    timeout(time: {BUILD_TIMEOUT_MINUTES}, unit: 'MINUTES')
  }}
  environment {{
{environment_block}
  }}
  stages {{
    stage('Checkout') {{
      steps {{
        script {{
          def source = {checkout}
          // Unique per build and never reused: re-pushing a tag does not roll pods.
          env.IMAGE_TAG = env.BUILD_NUMBER + '-' + source.GIT_COMMIT.substring(0, 8)
          env.IMAGE_REF = env.IMAGE_REPOSITORY + ':' + env.IMAGE_TAG
        }}
      }}
    }}
    stage('Source build') {{
      steps {{
        {_container_step(builder, builder.source_build)}
      }}
    }}
    stage('Image build and push') {{
      steps {{
        {_container_step(builder, builder.build_and_push)}
      }}
    }}
    stage('Deploy ({config.deploy_mode})') {{
      steps {{
        {deploy_steps}
      }}
    }}
  }}
}}
"""


def seed_jobs(
    config: JenkinsConfig, builder: Builder, release: ReleaseRepo, apps: Sequence[AppConfig], stack: str
) -> list[SeedJob]:
    return [
        SeedJob(
            folder=app.environment,
            name=app.name,
            description=(
                f"Builds {app.name} and deploys it to {app.environment} ({config.deploy_mode}). "
                "Generated from the delivery-platform stack config: change that, not this job."
            ),
            jenkinsfile=jenkinsfile(config, builder, release, app, app_index=index, stack=stack),
        )
        for index, app in enumerate(apps)
    ]


def job_dsl(jobs: Sequence[SeedJob], poll_schedule: str | None) -> str:
    """Job DSL creating one folder per environment and one pipelineJob per app."""
    folders = dict.fromkeys(job.folder for job in jobs)
    script = [
        f"folder({groovy_string(folder)}) {{\n  description({groovy_string(f'Pipelines of the {folder} apps')})\n}}"
        for folder in folders
    ]
    triggers = (
        f"    pipelineTriggers {{\n      triggers {{\n        pollSCM {{\n"
        f"          scmpoll_spec({groovy_string(poll_schedule)})\n        }}\n      }}\n    }}\n"
        if poll_schedule
        else ""
    )
    for job in jobs:
        script.append(
            f"pipelineJob({groovy_string(job.full_name)}) {{\n"
            f"  description({groovy_string(job.description)})\n"
            f"  properties {{\n    disableConcurrentBuilds()\n{triggers}  }}\n"
            "  definition {\n    cps {\n"
            f"      script({groovy_multiline(job.jenkinsfile)})\n"
            "      sandbox(true)\n    }\n  }\n}"
        )
    return "\n".join(script) + "\n"


def _resources(config: JenkinsConfig) -> dict[str, dict[str, str]]:
    resources = config.builder_resources
    limits = {"memory": resources.memory_limit}
    if resources.cpu_limit:
        limits["cpu"] = resources.cpu_limit
    return {"requests": {"cpu": resources.cpu_request, "memory": resources.memory_request}, "limits": limits}


def _deploy_container(config: JenkinsConfig) -> dict[str, Any]:
    small = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    if config.deploy_mode == "gitops":
        return {
            "name": "yq",
            "image": YQ_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "command": ["cat"],
            "tty": True,
            "securityContext": {**_RESTRICTED, "readOnlyRootFilesystem": True},
            "resources": small,
        }
    return {
        "name": "pulumi",
        "image": PULUMI_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["cat"],
        "tty": True,
        # Pulumi keeps plugins and credentials under $HOME: the (writable) workspace.
        "env": [{"name": "HOME", "value": "/home/jenkins/agent"}],
        "securityContext": _RESTRICTED,
        "resources": {**small, "limits": {"memory": "2Gi"}},
    }


def agent_pod(config: JenkinsConfig, builder: Builder, image: str, push_secret: str | None) -> dict[str, Any]:
    """The raw Pod merged into the build pod template: the builder and the deploy tool."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    if builder.storage_path:
        volumes.append({"name": "builder-storage", "emptyDir": {}})
        mounts.append({"name": "builder-storage", "mountPath": builder.storage_path})
    if push_secret:
        volumes.append(
            {
                "name": "registry-auth",
                "secret": {"secretName": push_secret, "items": [{"key": ".dockerconfigjson", "path": "config.json"}]},
            }
        )
        mounts.append({"name": "registry-auth", "mountPath": builder.registry_auth_dir, "readOnly": True})
    builder_container = {
        "name": "builder",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": list(builder.idle_command),
        "tty": True,
        "env": [{"name": key, "value": value} for key, value in builder.env.items()],
        "securityContext": dict(builder.security_context),
        "resources": _resources(config),
        "volumeMounts": mounts,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "spec": {"containers": [builder_container, _deploy_container(config)], "volumes": volumes},
    }


def pod_template(
    config: JenkinsConfig, builder: Builder, image: str, service_account: str, push_secret: str | None
) -> str:
    """The build pod template in JCasC form (the chart adds it to its Kubernetes cloud)."""
    template = {
        "name": BUILD_POD_LABEL,
        "label": BUILD_POD_LABEL,
        "inheritFrom": DEFAULT_POD_TEMPLATE,
        "namespace": config.agent_namespace,
        "serviceAccount": service_account,
        "yamlMergeStrategy": "merge",
        "yaml": to_yaml(agent_pod(config, builder, image, push_secret)),
    }
    return jcasc_literal(to_yaml([template]))


class Jenkins(pulumi.ComponentResource):
    """Jenkins in its own namespace with build agents in another, configured as code.

    The admin password is generated (pulumi-random) and lives only in a Secret the
    chart reads through controller.admin.existingSecret. Plugins are pinned. Seed jobs
    are a JCasC file in a ConfigMap that the chart's config-reload sidecar loads, so
    they exist (and render) even when the chart itself is skipped."""

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
            metadata={"name": config.namespace, "labels": system_namespace_labels("ci", enforce="baseline")},
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

        password = random.RandomPassword(f"{name}-admin-password", length=32, special=False, opts=child)
        self.admin_password = pulumi.Output.secret(password.result)
        admin_secret = k8s.core.v1.Secret(
            f"{name}-admin",
            metadata={"name": ADMIN_SECRET, "namespace": self.namespace},
            string_data={ADMIN_USER_KEY: ADMIN_USER, ADMIN_PASSWORD_KEY: self.admin_password},
            opts=child,
        )

        agent_meta: dict[str, Any] = {"name": AGENT_SERVICE_ACCOUNT, "namespace": self.agent_namespace}
        if config.agent_gcp_service_account:
            agent_meta["annotations"] = {"iam.gke.io/gcp-service-account": config.agent_gcp_service_account}
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
            else f"http://{RELEASE_NAME}.{config.namespace}.svc.cluster.local:8080"
        )
        values = self._values(config, builder, builder_image, push_secret_name)
        _, self.chart = deploy_chart(
            f"{name}-chart",
            JENKINS_CHART,
            config.chart,
            config_key="jenkins.chart",
            release_name=RELEASE_NAME,
            namespace=self.namespace,
            values=values,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[controller_ns, agents_ns, admin_secret, agent_sa, seed_config]
                + ([push_secret] if push_secret else []),
            ),
            still_created="its namespaces, admin Secret, agent RBAC and the seed-jobs JCasC ConfigMap",
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

    def _values(
        self,
        config: JenkinsConfig,
        builder: Builder,
        builder_image: str,
        push_secret: str | None,
    ) -> dict[str, Any]:
        controller: dict[str, Any] = {
            # createSecret stays true: with existingSecret set the chart creates no Secret
            # of its own but mounts this one for the admin user JCasC defines.
            "admin": {
                "createSecret": True,
                "existingSecret": ADMIN_SECRET,
                "userKey": ADMIN_USER_KEY,
                "passwordKey": ADMIN_PASSWORD_KEY,
            },
            "installPlugins": list(config.plugins),
            # Dependencies at the minimum versions the pins need, nothing "latest".
            "installLatestPlugins": False,
            "installLatestSpecifiedPlugins": False,
            "serviceType": "ClusterIP",
            "JCasC": {"defaultConfig": True},
            # Loads the seed-jobs ConfigMap (label JCASC_LABEL) at start and on change.
            "sidecars": {"configAutoReload": {"enabled": True}},
        }
        if config.expose_via_gateway:
            gateway = config.gateway
            parent = {"name": gateway.name, "namespace": gateway.namespace}
            if gateway.section_name:
                parent["sectionName"] = gateway.section_name
            controller["jenkinsUrl"] = self.url
            controller["httpRoute"] = {"enabled": True, "parentRefs": [parent], "hostnames": [config.hostname]}
        persistence: dict[str, Any] = {"enabled": True, "size": config.persistence_size}
        if config.storage_class:
            persistence["storageClass"] = config.storage_class
        return {
            "controller": controller,
            "agent": {
                "namespace": config.agent_namespace,
                "podTemplates": {
                    BUILD_POD_LABEL: pod_template(config, builder, builder_image, AGENT_SERVICE_ACCOUNT, push_secret)
                },
            },
            # The agent ServiceAccount and its Role are this component's (see above).
            "serviceAccountAgent": {"create": False, "name": AGENT_SERVICE_ACCOUNT},
            "persistence": persistence,
            "rbac": {"create": True, "readSecrets": False},
        }
