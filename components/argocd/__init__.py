"""Argo CD: GitOps for every app. Jenkins only builds; a commit to the release repo is
the deploy, and Argo CD keeps each cluster in step with Git both ways.

Topologies
----------
- `1:1`: an Argo CD in each cluster that manages only that cluster
  (https://kubernetes.default.svc). Failures stay local; everything runs once per
  cluster. The more common choice.
- `1:N`: one hub Argo CD. Every spoke cluster is registered declaratively as a Secret
  labelled `argocd.argoproj.io/secret-type: cluster` whose config runs
  `argocd-k8s-auth gcp`: the hub's application controller and server authenticate
  to GKE through Workload Identity, so no token is ever stored. One place to run, but
  a hub outage stops delivery to every cluster.

Isolation at the GitOps layer: one AppProject per environment that only accepts the
release repo and only deploys into that environment's namespace, never cluster-scoped
objects, and only the kinds an app is made of (NetworkPolicy, ResourceQuota,
LimitRange and RBAC stay the platform's).

Modules: `gitops` (AppProjects, Applications, cluster registrations), `passwords` (the
admin password's stable bcrypt hash), `values` (the chart's values and the facts read
from the chart), `component` (the ArgoCD component)."""

from .component import ArgoCD

__all__ = ["ArgoCD"]
