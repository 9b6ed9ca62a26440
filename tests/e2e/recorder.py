"""Every state a collection of Kubernetes objects goes through while something else (a
`pulumi up`) runs: one list, then a watch, in a background thread.

A watch delivers every change in the order the API server committed it, so "the
Service never had zero ready endpoints" means no committed state had none - a poll
could only say it never happened to look at such a moment."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Self

from tests.e2e.background import BackgroundWork
from tests.e2e.controlplane import KubeClient, LocalControlPlane, _condition_true

APP_NAME_LABEL = "app.kubernetes.io/name"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"

# The server ends each watch after this long; the thread then resumes from the last
# version it saw (losing nothing) or, once asked to stop, ends.
WATCH_SECONDS = 1

State = dict[str, dict[str, Any]]


class Recorder(BackgroundWork):
    """Use as a context manager around the change. Afterwards `states` holds the
    collection's state (objects by name) before it and after every event, and `seen`
    the last version of every object that existed meanwhile, deleted ones included."""

    def __init__(self, client: KubeClient, path: str, label_selector: str | None = None) -> None:
        # The current watch ends within WATCH_SECONDS; the client's own timeout bounds a
        # server that stops answering.
        super().__init__(f"the watch on {path}", client.timeout + WATCH_SECONDS)
        self._client = client
        self._path = path
        self._selector = label_selector
        self.states: list[State] = []
        self.seen: State = {}
        self._state: State = {}
        self._version = ""

    def __enter__(self) -> Self:
        collection = self._client.list_objects(self._path, self._selector)
        self._state = {item["metadata"]["name"]: item for item in collection["items"]}
        self.states.append(dict(self._state))
        self.seen.update(self._state)
        self._version = collection["metadata"]["resourceVersion"]
        return super().__enter__()

    def _work(self) -> None:
        state = self._state
        while not self._stop.is_set():
            for event in self._client.watch(
                self._path, self._version, label_selector=self._selector, timeout_seconds=WATCH_SECONDS
            ):
                obj = event["object"]
                self._version = obj["metadata"]["resourceVersion"]
                if event["type"] == "BOOKMARK":
                    continue
                name = obj["metadata"]["name"]
                if event["type"] == "DELETED":
                    state.pop(name, None)
                else:
                    state[name] = obj
                self.seen[name] = obj
                self.states.append(dict(state))


# --------------------------------------------------------------------------- common recordings


def ready(pod: dict[str, Any]) -> bool:
    return _condition_true(pod, "Ready") and not pod["metadata"].get("deletionTimestamp")


def ready_endpoints(slices: State) -> list[str]:
    return [
        endpoint["targetRef"]["name"]
        for endpoint_slice in slices.values()
        for endpoint in endpoint_slice.get("endpoints") or []
        if endpoint.get("conditions", {}).get("ready")
    ]


def endpoints_recorder(control_plane: LocalControlPlane, namespace: str, service: str) -> Recorder:
    client = control_plane.client
    path = client.path_for("discovery.k8s.io/v1", "EndpointSlice", namespace=namespace)
    return Recorder(client, path, f"{SERVICE_NAME_LABEL}={service}")


def pods_recorder(control_plane: LocalControlPlane, namespace: str, app: str) -> Recorder:
    client = control_plane.client
    return Recorder(client, client.path_for("v1", "Pod", namespace=namespace), f"{APP_NAME_LABEL}={app}")


@contextlib.contextmanager
def recording(*recorders: Recorder) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for recorder in recorders:
            stack.enter_context(recorder)
        yield


def assert_always_served(recorder: Recorder, what: str) -> None:
    """No committed state of the Service's EndpointSlices without a ready endpoint."""
    gaps = [i for i, state in enumerate(recorder.states) if not ready_endpoints(state)]
    assert not gaps, f"{what}: no ready endpoint in states {gaps} of {len(recorder.states)}"
