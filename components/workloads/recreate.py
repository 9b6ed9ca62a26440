"""Recreate: every old pod stops before a new one starts (downtime by design), with an
optional schema-migration Job run in the gap.

Migration flow, ordered by resource dependencies within one `pulumi up`:

1. The Deployment carries the new pod template and `replicas: 0`. Its strategy is
   Recreate, so the controller deletes every old pod, and only once they have all
   terminated creates the new revision's ReplicaSet (at 0). pulumi-kubernetes waits for
   that revision, so step 2 never overlaps a running old pod.
2. The migration Job (new image, the app's identity, config and restricted pod) depends
   on the Deployment; pulumi-kubernetes waits until it has succeeded. A failed Job fails
   the update and leaves the app at 0 replicas: the schema is in an unknown state, and
   neither version should serve until someone looks. The Job carries
   `pulumi.com/replaceUnready`, so the next `pulumi up` (after the cause is fixed) runs
   it again instead of waiting on the failed one.
3. A DeploymentPatch (server-side apply, its own field manager) depends on the Job and
   sets `replicas` back to the configured count. Its annotations carry the Job's name
   and the Deployment's generation, so it is re-applied after every change of the
   Deployment (each of which scales to 0 again), and only then.

The Job's name is derived from the image and command, so a new version (or a new
command) is a new Job - created, run and awaited - while an unchanged one is left alone.
Jobs have no ttlSecondsAfterFinished: if Kubernetes deleted a finished Job, the next
refresh would see it gone and re-run the migration. The migration must be idempotent;
rolling back to an older image runs the old image's command again (a down-migration or
a restore is the app's business).

Both objects that set `replicas` carry `pulumi.com/patchForce`, because each takes the
field back from the other. One caveat follows from that hand-over: `pulumi refresh`
records the scaled-up count as the Deployment's, so the next `pulumi up` shows
`replicas: N -> 0` and takes the app through 0 once more (the patch follows at once).

When manifests are rendered instead of applied (`ordered_rollout=False`) there is no
apply order to express, and pulumi-kubernetes writes a patch to the same file as the
Deployment it patches; the Deployment is then rendered with its final replica count
and no patch."""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, ImageRef, RecreateStrategy, parse_image
from ..config.workloads import Migration
from .base import AppWorkload, expect_strategy
from .pod import MIGRATION_COMPONENT, STABLE, name_of, pod_template, versioned_labels

PATCH_FORCE = "pulumi.com/patchForce"
REPLACE_UNREADY = "pulumi.com/replaceUnready"
AWAIT_TIMEOUT = "pulumi.com/timeoutSeconds"
# Pulumi waits this much longer than the Job's own deadline, so the Job's failure
# (DeadlineExceeded) is what gets reported, not a bare await timeout.
AWAIT_MARGIN_SECONDS = 60
MIGRATION_JOB_ANNOTATION = "delivery-platform/migration-job"
GENERATION_ANNOTATION = "delivery-platform/scaled-generation"


def migration_job_name(app: AppConfig, image: ImageRef, migration: Migration) -> str:
    """Unique per (image, command): a changed one is a new Job that runs again."""
    digest = hashlib.sha256(json.dumps([str(image), migration.command]).encode()).hexdigest()
    return f"{app.name}-migrate-{digest[:10]}"


class RecreateApp(AppWorkload):
    """A Deployment with strategy Recreate and a ClusterIP Service; with
    `strategy.migration`, the scale-to-0 / migrate / scale-back flow described above."""

    migration_job_name: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        app: AppConfig,
        *,
        namespace: pulumi.Input[str],
        pull_secret: pulumi.Input[str] | None = None,
        ordered_rollout: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "delivery-platform:workloads:RecreateApp",
            name,
            app,
            namespace=namespace,
            pull_secret=pull_secret,
            opts=opts,
        )
        strategy = expect_strategy(app, RecreateStrategy)
        assert app.image is not None  # AppConfig requires it for this strategy
        image = parse_image(app.image)
        migration = strategy.migration
        gated = migration is not None and ordered_rollout

        deployment = self._deployment(
            "deployment",
            app.name,
            STABLE,
            image=image,
            replicas=0 if gated else app.replicas,
            strategy={"type": "Recreate"},
            annotations={PATCH_FORCE: "true"} if gated else None,
        )
        service = self._service("service", app.name, STABLE)

        self.migration_job_name = None
        if migration is not None:
            job = self._migration_job(image, migration, after=deployment)
            self.migration_job_name = name_of(job)
            if gated:
                self._scale_back(deployment, job)
        self._finish(service, migrationJobName=self.migration_job_name)

    def _migration_job(self, image: ImageRef, migration: Migration, after: k8s.apps.v1.Deployment) -> k8s.batch.v1.Job:
        app = self._app
        labels = versioned_labels(app, image, MIGRATION_COMPONENT)
        return k8s.batch.v1.Job(
            f"{self._name}-migration",
            metadata=self._meta(
                migration_job_name(app, image, migration),
                labels,
                {
                    # A Job that failed is replaced, i.e. run again, by the next `pulumi up`.
                    REPLACE_UNREADY: "true",
                    AWAIT_TIMEOUT: str(migration.active_deadline_seconds + AWAIT_MARGIN_SECONDS),
                },
            ),
            spec={
                "backoff_limit": migration.backoff_limit,
                "active_deadline_seconds": migration.active_deadline_seconds,
                "template": pod_template(app, image, labels, self.service_account_name, task=migration.command),
            },
            opts=self._child(depends_on=[after]),
        )

    def _scale_back(self, deployment: k8s.apps.v1.Deployment, job: k8s.batch.v1.Job) -> None:
        app = self._app
        generation = deployment.metadata.apply(lambda meta: str(meta.generation))
        k8s.apps.v1.DeploymentPatch(
            f"{self._name}-scale-back",
            metadata={
                "name": app.name,
                "namespace": self._namespace,
                "annotations": {
                    PATCH_FORCE: "true",
                    MIGRATION_JOB_ANNOTATION: name_of(job),
                    GENERATION_ANNOTATION: generation,
                },
            },
            spec={"replicas": app.replicas},
            opts=self._child(depends_on=[job]),
        )
