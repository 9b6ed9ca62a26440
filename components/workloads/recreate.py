"""Recreate: every old pod stops before a new one starts (downtime by design), with an
optional schema-migration Job run in the gap.

Waves without a migration: 0. the Deployment (strategy Recreate), 1. its Service.

Waves with a migration (`strategy.migration`, applied to a cluster):

0. The Deployment, at 0 replicas whenever a migration is due. It carries the name of
   its migration Job, and a new Job name replaces it (delete, then create): Pulumi
   deletes the old Deployment with foreground propagation and waits until it is gone,
   which the API server's garbage collector allows only once every old pod has been
   deleted - terminated, not just terminating - on any Kubernetes version (no reliance
   on status.terminatingReplicas). The new Deployment is created with 0 replicas.
1. The migration Job (new image, the app's identity, config and restricted pod);
   pulumi-kubernetes waits until it has succeeded. A failed Job fails the update and
   leaves the app at 0 replicas: the schema is in an unknown state, and neither version
   should serve until someone looks. The Job carries `pulumi.com/replaceUnready`, so
   the next `pulumi up` (after the cause is fixed) runs it again.
2. The scale-back: a DeploymentPatch (server-side apply, its own field manager) sets
   `replicas` to the configured count; it names the Job, so it is applied again after
   every migration, and awaited until the new pods are rolled out.
3. The Service.

The scale-back owns `replicas` from then on: the Deployment declares 0 only to be
created with it and ignores changes to the field, so `pulumi refresh` or
`pulumi up --refresh` never takes a running app through 0 again; only a new migration
does. The Job's name is a digest of everything the Job runs (image, command, the pod
with its config and identity), so any change to what the migration runs - a new image,
a new command, new env - is a new Job, run only after the app has stopped. Jobs have no
ttlSecondsAfterFinished: if Kubernetes deleted a finished Job, the next refresh would
see it gone and re-run the migration. The migration must be idempotent; rolling back to
an older image runs the old image's command again (a down-migration or a restore is the
app's business).

When manifests are rendered instead of applied (`ordered_rollout=False`) there is no
apply order to express, and pulumi-kubernetes writes a patch to the same file as the
Deployment it patches; the Deployment is then rendered with its final replica count,
next to the Job, and without a patch."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, ImageRef, RecreateStrategy, parse_image
from ..config.workloads import Migration
from .builder import Builder
from .pod import MIGRATION_COMPONENT, STABLE, app_labels, name_of, pod_template, versioned_labels
from .rollout import (
    AWAIT_TIMEOUT,
    HOOK,
    HOOK_DELETE_POLICY,
    MIGRATION_JOB,
    PATCH_FORCE,
    REPLACE_UNREADY,
    ROLLED_OUT,
    SCALE_BACK_OWNS_REPLICAS,
    WAIT_FOR,
)

RECREATE: k8s.apps.v1.DeploymentStrategyArgsDict = {"type": "Recreate"}
# The release hooks' pods: their label (which hook), component and non-root user, and
# resources for a kubectl call.
HOOK_LABEL = "delivery-platform/release-hook"
HOOK_COMPONENT = "release-hook"
HOOK_USER = 65532
HOOK_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
# How much longer than the app's grace period the stop hook waits for the last pod.
STOP_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class ReleaseHooks:
    """What the Argo CD sync hooks of a GitOps app run as: a kubectl image (pinned, from
    argocd.releaseHookImage) and the ServiceAccount the platform gave them."""

    image: str
    service_account: str


# Pulumi waits this much longer than the Job's own deadline, so the Job's failure
# (DeadlineExceeded) is what gets reported, not a bare await timeout.
AWAIT_MARGIN_SECONDS = 60


def migration_job_spec(
    app: AppConfig, image: ImageRef, migration: Migration, service_account: pulumi.Input[str]
) -> dict[str, Any]:
    labels = versioned_labels(app, image, MIGRATION_COMPONENT)
    return {
        "backoff_limit": migration.backoff_limit,
        "active_deadline_seconds": migration.active_deadline_seconds,
        "template": pod_template(app, image, labels, service_account, task=migration.command),
    }


def migration_job_name(app: AppConfig, image: ImageRef, migration: Migration) -> str:
    """A digest of the Job as it runs (the account by its configured name): whatever
    the migration runs with changes, the name changes."""
    spec = migration_job_spec(app, image, migration, app.service_account or app.name)
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    return f"{app.name}-migrate-{digest[:10]}"


def deploy_recreate(
    build: Builder, strategy: RecreateStrategy, *, release_hooks: ReleaseHooks | None = None
) -> tuple[k8s.core.v1.Service, dict[str, Any]]:
    app = build.app
    assert app.image is not None  # AppConfig requires it for this strategy
    image = parse_image(app.image)
    migration = strategy.migration
    if migration is None:
        build.deployment(STABLE, wave=0, image=image, replicas=app.replicas, strategy=RECREATE)
        return build.service("service", app.name, STABLE, wave=1), {"migrationJobName": None}

    if build.ordering == "argocd":
        if release_hooks is None:
            raise ValueError(f"app {app.name!r}: a migration delivered by Argo CD needs release hooks (ReleaseHooks)")
        return _deploy_with_sync_hooks(build, image, migration, release_hooks)
    job_name = migration_job_name(app, image, migration)
    ordered = build.ordering == "pulumi"
    if ordered:
        build.deployment(
            STABLE,
            wave=0,
            image=image,
            replicas=0,
            serving_replicas=app.replicas,
            replicas_owner=SCALE_BACK_OWNS_REPLICAS,
            strategy=RECREATE,
            annotations={MIGRATION_JOB: job_name},
            options={
                "replace_on_changes": [f'metadata.annotations["{MIGRATION_JOB}"]'],
                "delete_before_replace": True,
            },
        )
    else:
        build.deployment(STABLE, wave=0, image=image, replicas=app.replicas, strategy=RECREATE)
    job = _migration_job(build, image, migration, job_name, wave=1)
    if ordered:
        build.add(
            2,
            lambda opts: k8s.apps.v1.DeploymentPatch(
                f"{build.name}-scale-back",
                metadata={
                    "name": app.name,
                    "namespace": build.namespace,
                    "annotations": {PATCH_FORCE: "true", WAIT_FOR: ROLLED_OUT, MIGRATION_JOB: name_of(job)},
                },
                spec={"replicas": app.replicas},
                opts=opts,
            ),
        )
    service = build.service("service", app.name, STABLE, wave=3 if ordered else 2)
    return service, {"migrationJobName": name_of(job)}


def _migration_job(
    build: Builder,
    image: ImageRef,
    migration: Migration,
    job_name: str,
    *,
    wave: int,
    annotations: dict[str, pulumi.Input[str]] | None = None,
) -> k8s.batch.v1.Job:
    app = build.app
    return build.add(
        wave,
        lambda opts: k8s.batch.v1.Job(
            f"{build.name}-migration",
            metadata=build.meta(
                job_name,
                versioned_labels(app, image, MIGRATION_COMPONENT),
                {
                    # A Job that failed is replaced, i.e. run again, by the next `pulumi up`.
                    REPLACE_UNREADY: "true",
                    AWAIT_TIMEOUT: str(migration.active_deadline_seconds + AWAIT_MARGIN_SECONDS),
                    **(annotations or {}),
                },
                wave=wave,
            ),
            spec=migration_job_spec(app, image, migration, build.service_account),
            opts=opts,
        ),
    )


def _deploy_with_sync_hooks(
    build: Builder, image: ImageRef, migration: Migration, hooks: ReleaseHooks
) -> tuple[k8s.core.v1.Service, dict[str, Any]]:
    """The migration flow as Argo CD runs it, in one sync and in the same waves as under
    Pulumi (the app's ServiceAccount comes first, in wave -1, for the hooks to run as):

    0. The stop hook deletes the Deployment with foreground propagation and waits until
       it is gone - which the garbage collector allows only once every old pod is
       deleted, as in the Pulumi flow - so no old pod runs any more.
    1. The migration Job with the new image. A failed Job fails the sync before wave 2:
       the app stays stopped (no Deployment), as under Pulumi delivery, and the next
       sync (a retry, or a new commit) runs both hooks again.
    2. The Deployment at its full size.
    3. The Service.

    Both hooks are Sync-phase hooks (re-created at every sync, deleted before the next),
    and Argo CD syncs when the app's directory in Git changes (or to heal drift): each
    such sync is a release that stops the app and migrates, which the migration's
    idempotence makes safe. The stop hook's ServiceAccount and narrow Role are the
    platform's, created by the stack (components/release_hooks.py)."""
    app = build.app
    sync_hook: dict[str, pulumi.Input[str]] = {HOOK: "Sync", HOOK_DELETE_POLICY: "BeforeHookCreation"}
    build.add(
        0,
        lambda opts: k8s.batch.v1.Job(
            f"{build.name}-stop",
            metadata=build.meta(
                stop_hook_name(app), {**app_labels(app, HOOK_COMPONENT), HOOK_LABEL: "stop"}, sync_hook, wave=0
            ),
            spec=stop_job_spec(app, hooks),
            opts=opts,
        ),
    )
    # One name for every run: the hook runs at every sync anyway, and the last run
    # (succeeded or failed) stays for `kubectl logs` until the next one replaces it.
    job = _migration_job(build, image, migration, f"{app.name}-migrate", wave=1, annotations=sync_hook)
    build.deployment(STABLE, wave=2, image=image, replicas=app.replicas, strategy=RECREATE)
    service = build.service("service", app.name, STABLE, wave=3)
    return service, {"migrationJobName": name_of(job)}


def release_hook_account(app: AppConfig) -> str:
    """The ServiceAccount of the app's release hooks (the platform creates it)."""
    return f"{app.name}-release-hooks"


def stop_hook_name(app: AppConfig) -> str:
    return f"{app.name}-stop"


def stop_job_spec(app: AppConfig, hooks: ReleaseHooks) -> dict[str, Any]:
    """A Job whose one container runs `kubectl delete deployment <app>` with foreground
    propagation and waits for it (kubectl images have no shell: the image's entrypoint
    is kubectl, these are its arguments). A first release finds no Deployment, which is
    not an error."""
    deadline = app.termination_grace_period_seconds + STOP_MARGIN_SECONDS
    labels = {**app_labels(app, HOOK_COMPONENT), HOOK_LABEL: "stop"}
    return {
        "backoff_limit": 2,
        "active_deadline_seconds": deadline + STOP_MARGIN_SECONDS,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "service_account_name": hooks.service_account,
                # The one pod of the app that talks to the Kubernetes API.
                "automount_service_account_token": True,
                "restart_policy": "Never",
                "enable_service_links": False,
                "security_context": {
                    "run_as_non_root": True,
                    "run_as_user": HOOK_USER,
                    "run_as_group": HOOK_USER,
                    "seccomp_profile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": "stop",
                        "image": hooks.image,
                        "image_pull_policy": "IfNotPresent",
                        "args": [
                            "delete",
                            "deployment",
                            app.name,
                            "--cascade=foreground",
                            "--ignore-not-found=true",
                            "--wait=true",
                            f"--timeout={deadline}s",
                        ],
                        "resources": HOOK_RESOURCES,
                        "security_context": {
                            "allow_privilege_escalation": False,
                            "read_only_root_filesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }
                ],
            },
        },
    }
