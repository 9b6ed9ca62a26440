"""How a strategy orders its objects and when Pulumi waits: rollout waves, the
condition that says a Deployment has rolled out, and the annotations through which
pulumi-kubernetes and the components agree on ownership and health gates.

A strategy places each object in a numbered wave. Every object of a wave depends on
every object of the waves before it, and pulumi-kubernetes finishes an object (a
Deployment rolled out, a Job succeeded) before anything that depends on it starts, so
the wave numbers alone say what happens in which order: a Service selector, an
HTTPRoute weight or a scale-back never moves before the pods it sends traffic to are
healthy. The numbers mean what Argo CD's sync waves mean, so the same strategy can
later be rendered for GitOps delivery with its waves as `argocd.argoproj.io/sync-wave`."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal, TypeVar

import pulumi
import pulumi_kubernetes as k8s

ResourceT = TypeVar("ResourceT", bound=pulumi.Resource)

# Who orders an app's objects, i.e. who applies them:
# - "pulumi": this stack's `pulumi up`; waves are dependencies Pulumi awaits.
# - "argocd": Argo CD, from manifests rendered into the release repository; waves are
#   `argocd.argoproj.io/sync-wave` annotations (Argo CD applies a wave only once every
#   object of the waves before it is healthy), the Recreate migration flow becomes
#   Sync hooks, and nothing Pulumi-specific is rendered.
# - "none": manifests rendered for reading (a render-only stack): no order at all.
Ordering = Literal["pulumi", "argocd", "none"]

# --- Argo CD annotations (v3.2 sync waves and hooks) ---
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HOOK = "argocd.argoproj.io/hook"
HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
# Annotations only pulumi-kubernetes reads; never rendered for Argo CD.
PULUMI_ANNOTATION_PREFIX = "pulumi.com/"

# --- pulumi-kubernetes annotations (behaviour of the provider, 4.25) ---
# A condition that replaces the provider's own await of the object.
WAIT_FOR = "pulumi.com/waitFor"
# Server-side apply with force: the object takes the fields it declares back from any
# other field manager (an autoscaler it replaced, a scale-back patch, a kubectl edit).
PATCH_FORCE = "pulumi.com/patchForce"
# An object whose await failed (a failed migration Job) is replaced by the next update.
REPLACE_UNREADY = "pulumi.com/replaceUnready"
AWAIT_TIMEOUT = "pulumi.com/timeoutSeconds"

# --- the components' own annotations on Deployments ---
# Who owns spec.replicas: "pulumi" (the Deployment declares it), "autoscaler" (a
# HorizontalPodAutoscaler) or "scale-back" (the Recreate migration flow's patch). A
# change of owner is a change of the Deployment, so switching autoscaling off always
# takes the count back.
REPLICAS_OWNER = "delivery-platform/replicas-owner"
PULUMI_OWNS_REPLICAS = "pulumi"
AUTOSCALER_OWNS_REPLICAS = "autoscaler"
SCALE_BACK_OWNS_REPLICAS = "scale-back"
# Health gates. Pulumi awaits a Deployment only when it creates or updates it, so a
# Deployment that is about to receive traffic carries the traffic it will receive: the
# share of the requests (weight, 0-100) and a digest of the rules routing requests to
# it. Moving traffic (a Blue/Green switch or rollback, a canary weight step) changes
# the target's annotations, so the target is awaited - healthy - before the Service or
# route that moves the traffic, even when nothing else about it changed.
TRAFFIC_WEIGHT = "delivery-platform/traffic-weight"
TRAFFIC_RULES = "delivery-platform/traffic-rules"
# The migration Job a Recreate Deployment was stopped for (see recreate.py).
MIGRATION_JOB = "delivery-platform/migration-job"

# The rollout of every Deployment that serves while it changes (blue/green colours,
# canary tracks): a new pod must be Ready before an old one goes.
ZERO_DOWNTIME_ROLLOUT: k8s.apps.v1.DeploymentStrategyArgsDict = {
    "type": "RollingUpdate",
    "rolling_update": {"max_surge": "25%", "max_unavailable": 0},
}

# pulumi-kubernetes' own Deployment await (4.25) can report a rollout finished before it
# has begun: it may take the status of the previous revision, all Ready, for the new
# one's (seen against a real API server: a Blue/Green Service moved to the new colour
# while it still ran its old version). A condition in the WAIT_FOR annotation replaces
# that await; the provider checks it only once status.observedGeneration has caught up.
# Rolled out: every replica the Deployment wants (its live spec.replicas, whoever set it:
# the stack, an autoscaler, a patch) runs the current pod template and is available, and
# no other pod is left; at 0 replicas not even a terminating one where the cluster
# reports terminatingReplicas (Kubernetes 1.35+; older clusters leave it out, and the
# Recreate migration gate does not rely on it, see recreate.py). The status leaves zero
# counts out, hence the second branch. An RFC 9535 filter that selects the status object
# (the only member with observedGeneration) when it holds. The provider's parser
# (theory/jsonpath) rejects `a == b && c == d && e == f` unbracketed, and its
# `jsonpath=` prefix splits on a lone `=`, so no `<=`, `>=` or `!=` either.
ROLLED_OUT = (
    "jsonpath={$[?@.observedGeneration && ("
    "((@.updatedReplicas == $.spec.replicas && @.availableReplicas == $.spec.replicas)"
    " && @.replicas == $.spec.replicas)"
    " || (($.spec.replicas == 0 && !@.replicas) && (!@.terminatingReplicas || @.terminatingReplicas == 0))"
    ")]}"
)


class Waves:
    """The objects of one app by wave; see the module docstring."""

    def __init__(self) -> None:
        self._by_wave: defaultdict[int, list[pulumi.Resource]] = defaultdict(list)

    def before(self, wave: int) -> list[pulumi.Resource]:
        """Every object of the waves before `wave`: what an object of `wave` waits for."""
        return [resource for number in sorted(self._by_wave) if number < wave for resource in self._by_wave[number]]

    def add(self, wave: int, resource: ResourceT) -> ResourceT:
        self._by_wave[wave].append(resource)
        return resource
