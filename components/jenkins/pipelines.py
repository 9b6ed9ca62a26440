"""The seed pipelines: one declarative Pipeline per app (source build -> image build
and push with an immutable tag -> deploy), created by Job DSL from JCasC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import AppConfig, BlueGreenStrategy, JenkinsConfig, parse_image
from ..config.delivery import ReleaseRepo
from ..config.workloads import next_image_key
from .builders import Builder
from .groovy import groovy_multiline, groovy_string

# Every pipeline runs on the build pod template with this label (pod_templates.py).
BUILD_POD_LABEL = "image-builder"
# Build history kept per job, and the longest a build may run.
BUILDS_KEPT = 30
BUILD_TIMEOUT_MINUTES = 60


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


def image_repository(app: AppConfig) -> str:
    """Where the pipeline pushes: the repository of the image the app runs today."""
    strategy = app.strategy
    if isinstance(strategy, BlueGreenStrategy):
        current = (strategy.blue if strategy.active == "blue" else strategy.green).image
    else:
        assert app.image is not None  # AppConfig requires an image for every other strategy
        current = app.image
    return parse_image(current).repository


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


def _commit_and_push(credentials_id: str, paths: str, message: str, branch_variable: str = "DEPLOY_BRANCH") -> str:
    return (
        f"withCredentials([gitUsernamePassword(credentialsId: {groovy_string(credentials_id)})]) {{\n"
        "            sh '''\n"
        '              git config user.name "Jenkins"\n'
        '              git config user.email "jenkins@delivery-platform.invalid"\n'
        f"              git add --all {paths}\n"
        f'              git commit -m "{message}"\n'
        f'              git push origin "HEAD:${branch_variable}"\n'
        "            '''\n"
        "          }"
    )


# Both commit messages name the app, the image and the build.
_RECORD_MESSAGE = "$ENVIRONMENT/$APP: release $IMAGE_REF (build $BUILD_NUMBER)"
_DEPLOY_MESSAGE = "$ENVIRONMENT/$APP: deploy $IMAGE_REF (build $BUILD_NUMBER)"


def _checkout_into(directory: str, url_variable: str, branch_variable: str, credentials_id: str) -> str:
    checkout = _git_checkout(url_variable, branch_variable, credentials_id, poll=False)
    return f"dir({groovy_string(directory)}) {{\n          {checkout}\n        }}"


def _gitops_deploy(
    config: JenkinsConfig, release: ReleaseRepo, app: AppConfig, stack: str
) -> tuple[dict[str, str], str]:
    """Record the image in the stack file, re-render the app with the library, commit
    both: the rendered commit is the deploy Argo CD syncs. Nothing edits rendered YAML."""
    environment = {
        "PLATFORM_REPO": config.pulumi_repo,
        "PLATFORM_BRANCH": config.pulumi_branch,
        "PULUMI_STACK": stack,
        "RELEASE_REPO": release.url,
        "RELEASE_BRANCH": release.revision,
        "RELEASE_PATH": release.app_path(app.environment, app.name),
    }
    render = (
        'bash scripts/release.sh deploy --stack "$PULUMI_STACK" --app "$APP" --environment "$ENVIRONMENT" '
        '--image "$IMAGE_REF" --build "$BUILD_NUMBER" --release-dir "$WORKSPACE/release"'
    )
    credentials = config.deploy_credentials_id
    record = _commit_and_push(credentials, '"Pulumi.$PULUMI_STACK.yaml"', _RECORD_MESSAGE, "PLATFORM_BRANCH")
    deploy = _commit_and_push(credentials, '"$RELEASE_PATH"', _DEPLOY_MESSAGE, "RELEASE_BRANCH")
    platform_checkout = _checkout_into("infra", "PLATFORM_REPO", "PLATFORM_BRANCH", credentials)
    release_checkout = _checkout_into("release", "RELEASE_REPO", "RELEASE_BRANCH", credentials)
    steps = (
        f"{platform_checkout}\n"
        f"        {release_checkout}\n"
        "        dir('infra') {\n"
        f"          container('pulumi') {{\n            sh {groovy_string(render)}\n          }}\n"
        f"          {record}\n"
        "        }\n"
        "        dir('release') {\n"
        f"          {deploy}\n"
        "        }"
    )
    return environment, steps


def _pulumi_deploy(config: JenkinsConfig, app: AppConfig, app_index: int, stack: str) -> tuple[dict[str, str], str]:
    environment = {
        "DEPLOY_REPO": config.pulumi_repo,
        "DEPLOY_BRANCH": config.pulumi_branch,
        "PULUMI_STACK": stack,
        "IMAGE_CONFIG_PATH": f"delivery-platform:apps[{app_index}].{next_image_key(app)}",
    }
    up = (
        "pulumi install\n"
        'pulumi config set --stack "$PULUMI_STACK" --path "$IMAGE_CONFIG_PATH" "$IMAGE_REF"\n'
        'pulumi up --yes --stack "$PULUMI_STACK"\n'
    )
    checkout = _git_checkout("DEPLOY_REPO", "DEPLOY_BRANCH", config.deploy_credentials_id, poll=False)
    push = _commit_and_push(config.deploy_credentials_id, '"Pulumi.$PULUMI_STACK.yaml"', _DEPLOY_MESSAGE)
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


def deploy_stage(
    config: JenkinsConfig, release: ReleaseRepo, app: AppConfig, *, app_index: int, stack: str
) -> tuple[dict[str, str], str]:
    """The pipeline's deploy stage, by the app's owner (apps[].delivery): the
    environment it adds and its steps. Both record the new image in this program's
    stack file; `pulumi` then runs `pulumi up`, `gitops` renders the app into the
    release repo Argo CD syncs (scripts/release.sh)."""
    if app.delivery == "gitops":
        return _gitops_deploy(config, release, app, stack)
    return _pulumi_deploy(config, app, app_index, stack)


def jenkinsfile(
    config: JenkinsConfig, builder: Builder, release: ReleaseRepo, app: AppConfig, *, app_index: int, stack: str
) -> str:
    """The app's declarative Pipeline: source build, image build and push with a tag
    unique to the build (build number + commit), then the deploy."""
    deploy_environment, deploy_steps = deploy_stage(config, release, app, app_index=app_index, stack=stack)
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
    stage('Deploy ({app.delivery})') {{
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
                f"Builds {app.name} and deploys it to {app.environment} ({app.delivery}). "
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
