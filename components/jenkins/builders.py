"""Daemonless image builders, each as the `builder` container of the build pod.

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
  root file system: it runs as root, with the default capabilities, but confined by
  the RuntimeDefault seccomp profile and without privilege escalation.
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

The policy pack checks the build pod (the PodTemplate the component declares) with
the same rules as every workload; what a builder cannot meet is listed in its
`policy_exceptions`, and a stack's pack config exempts that PodTemplate from exactly
those rules (policies/config/prod.json does for Kaniko).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_UNCONFINED = {"seccompProfile": {"type": "Unconfined"}, "appArmorProfile": {"type": "Unconfined"}}
# newuidmap/newgidmap (setuid) map the user namespace of rootless builders.
_USER_NAMESPACE_REASON = (
    "rootless {name} creates a user namespace: it needs Unconfined seccomp and AppArmor profiles and the "
    "setuid newuidmap/newgidmap helpers (privilege escalation), and keeps its state under $HOME"
)
_KANIKO_REASON = (
    "Kaniko unpacks the base image into its own root file system as UID 0 with the default capabilities "
    "(it creates files of every owner); it stays unprivileged with RuntimeDefault seccomp"
)


@dataclass(frozen=True)
class Builder:
    """A daemonless image builder. The shell commands read $SOURCE_BUILD_TARGET and
    $IMAGE_REF from the pipeline."""

    image: str
    # The lowest Pod Security Standards level that admits the builder's pod.
    pod_security: str
    security_context: Mapping[str, Any]
    env: Mapping[str, str]
    storage_path: str | None  # an emptyDir for layers and cache; None: the builder needs none
    registry_auth_dir: str  # the registry Secret's config.json is mounted here
    source_build: str
    build_and_push: str
    # Policy-pack rules the builder's container cannot meet, and why.
    policy_exceptions: Mapping[str, str]
    idle_command: Sequence[str] = ("cat",)
    shell: str | None = None  # for the container step, where the image has no /bin/sh
    deprecation: str | None = None


_BUILDKIT_BUILD = "buildctl-daemonless.sh build --frontend dockerfile.v0 --local context=. --local dockerfile=."


def _rootless_exceptions(name: str) -> dict[str, str]:
    reason = _USER_NAMESPACE_REASON.format(name=name)
    return {
        "pod-security-baseline": reason,
        "pod-security-restricted": reason,
        "read-only-root-filesystem": reason,
    }


BUILDERS: Mapping[str, Builder] = {
    "buildkit": Builder(
        image="moby/buildkit:v0.32.2-rootless",
        pod_security="privileged",
        security_context={"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, **_UNCONFINED},
        env={"BUILDKITD_FLAGS": "--oci-worker-no-process-sandbox", "DOCKER_CONFIG": "/home/user/.docker"},
        # Not the image's VOLUME: on Container-Optimized OS that is mounted nosuid,nodev,
        # which rootless BuildKit cannot use.
        storage_path="/home/user/.local/share/buildkit",
        registry_auth_dir="/home/user/.docker",
        source_build=f'{_BUILDKIT_BUILD} --opt target="$SOURCE_BUILD_TARGET"',
        build_and_push=f'{_BUILDKIT_BUILD} --output "type=image,name=$IMAGE_REF,push=true"',
        policy_exceptions=_rootless_exceptions("BuildKit"),
    ),
    "buildah": Builder(
        image="quay.io/containers/buildah:v1.44.0-immutable",
        pod_security="privileged",
        security_context={"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, **_UNCONFINED},
        env={
            "BUILDAH_ISOLATION": "chroot",
            "STORAGE_DRIVER": "overlay",
            "REGISTRY_AUTH_FILE": "/home/build/.docker/config.json",
        },
        storage_path="/home/build/.local/share/containers",
        registry_auth_dir="/home/build/.docker",
        source_build='buildah build --layers --target "$SOURCE_BUILD_TARGET" .',
        build_and_push='buildah build --layers --tag "$IMAGE_REF" . && buildah push "$IMAGE_REF"',
        policy_exceptions=_rootless_exceptions("Buildah"),
    ),
    "kaniko": Builder(
        # The -debug variant has the busybox shell the pipeline's steps need.
        image="ghcr.io/osscontainertools/kaniko:v1.28.3-debug",
        pod_security="baseline",
        security_context={
            "runAsUser": 0,
            "allowPrivilegeEscalation": False,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
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
        policy_exceptions={"pod-security-restricted": _KANIKO_REASON, "read-only-root-filesystem": _KANIKO_REASON},
        idle_command=("/busybox/cat",),
        shell="/busybox/sh",
        deprecation=(
            "jenkins.builder kaniko is deprecated: Google archived Kaniko in June 2025 and this uses the "
            "community fork (osscontainertools/kaniko); prefer buildkit where the cluster allows it"
        ),
    ),
}
