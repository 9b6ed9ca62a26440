"""Runs the Argo CD sync hooks that call the Kubernetes API for real, in place of a
kubelet: kwok fakes every other pod's life, but a hook that scales a Deployment only
means something if its command runs.

The pods of such hooks carry the label HOOK_LABEL; kwok holds them (a stage in
kwok-stages.yaml), and this runner executes each container's arguments with kubectl -
built from the same Kubernetes release as the control plane - authenticated as the
pod's own ServiceAccount (a token from the TokenRequest API), so the hook's RBAC is
exercised too. It then reports the outcome in the pod's status as a kubelet would:
Succeeded when every container exited 0, else Failed with the exit codes."""

from __future__ import annotations

import datetime
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.background import BackgroundWork
from tests.e2e.controlplane import KubeApiError, LocalControlPlane

# The label the release hooks' pod templates carry (components/workloads: the value
# names what the hook does).
HOOK_LABEL = "delivery-platform/release-hook"
KUBECTL_TIMEOUT_SECONDS = 600


@dataclass
class Execution:
    pod: str
    namespace: str
    # (container, argv, exit code, output) in the order they ran.
    containers: list[tuple[str, list[str], int, str]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return all(code == 0 for _, _, code, _ in self.containers)


class HookRunner(BackgroundWork):
    """Use as a context manager while Argo CD syncs; `executions` lists what ran."""

    def __init__(self, control_plane: LocalControlPlane) -> None:
        super().__init__("the hook runner", KUBECTL_TIMEOUT_SECONDS)
        self._cluster = control_plane
        self._kubectl = control_plane.binaries.path("kubectl")
        self._handled: set[str] = set()
        self.executions: list[Execution] = []

    def _work(self) -> None:
        while not self._stop.wait(0.5):
            pods = self._cluster.client.list_objects("/api/v1/pods", label_selector=HOOK_LABEL)["items"]
            for pod in pods:
                uid = pod["metadata"]["uid"]
                if (
                    uid not in self._handled
                    and pod["spec"].get("nodeName")
                    and pod.get("status", {}).get("phase", "Pending") == "Pending"
                    and not pod["metadata"].get("deletionTimestamp")
                ):
                    self._handled.add(uid)
                    try:
                        self.executions.append(self._run(pod))
                    except KubeApiError as error:
                        # A kubelet that cannot start a pod fails it; so does this.
                        execution = Execution(pod["metadata"]["name"], pod["metadata"]["namespace"])
                        execution.containers.append(("(start)", [], 1, str(error)))
                        self.executions.append(execution)
                        self._report(pod, execution)

    def _token(self, pod: dict[str, Any]) -> str:
        meta = pod["metadata"]
        account = pod["spec"].get("serviceAccountName") or "default"
        review = self._cluster.client.request(
            "POST",
            f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{account}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {
                    "expirationSeconds": KUBECTL_TIMEOUT_SECONDS * 2,
                    "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]},
                },
            },
        )
        token: str = review["status"]["token"]
        return token

    def _kubeconfig(self, pod: dict[str, Any], directory: Path) -> Path:
        """The pod's in-cluster view: the API server, its CA, the pod's token and namespace."""
        admin = json.loads(self._cluster.kubeconfig.read_text())
        cluster = admin["clusters"][0]["cluster"]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "in-cluster", "cluster": cluster}],
            "users": [{"name": "pod", "user": {"token": self._token(pod)}}],
            "contexts": [
                {
                    "name": "pod",
                    "context": {"cluster": "in-cluster", "user": "pod", "namespace": pod["metadata"]["namespace"]},
                }
            ],
            "current-context": "pod",
        }
        path = directory / "kubeconfig"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return path

    def _run(self, pod: dict[str, Any]) -> Execution:
        meta = pod["metadata"]
        execution = Execution(meta["name"], meta["namespace"])
        with tempfile.TemporaryDirectory(prefix="hook-") as tmp:
            kubeconfig = self._kubeconfig(pod, Path(tmp))
            # Init containers first, each to completion; a failing one stops the pod.
            for container in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]:
                argv = [str(self._kubectl), *container.get("args", [])]
                result = subprocess.run(
                    argv,
                    env={"KUBECONFIG": str(kubeconfig), "HOME": tmp},
                    capture_output=True,
                    text=True,
                    timeout=KUBECTL_TIMEOUT_SECONDS,
                    check=False,
                )
                execution.containers.append(
                    (container["name"], container.get("args", []), result.returncode, result.stdout + result.stderr)
                )
                if result.returncode != 0:
                    break
        self._report(pod, execution)
        return execution

    def _report(self, pod: dict[str, Any], execution: Execution) -> None:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ran = {name: code for name, _, code, _ in execution.containers}

        def terminated(container: dict[str, Any]) -> dict[str, Any]:
            code = ran.get(container["name"], 1)
            return {
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {
                    "terminated": {
                        "exitCode": code,
                        "reason": "Completed" if code == 0 else "Error",
                        "startedAt": now,
                        "finishedAt": now,
                    }
                },
            }

        status = {
            "phase": "Succeeded" if execution.succeeded else "Failed",
            "startTime": now,
            "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
            "initContainerStatuses": [terminated(c) for c in pod["spec"].get("initContainers", [])],
            "containerStatuses": [terminated(c) for c in pod["spec"]["containers"]],
        }
        meta = pod["metadata"]
        try:
            self._cluster.client.request(
                "PATCH",
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                {"status": status},
                content_type="application/merge-patch+json",
            )
        except KubeApiError as error:
            if error.status != 404:  # the Job may have been deleted meanwhile
                raise
