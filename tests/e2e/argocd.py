"""A real Argo CD for end-to-end tests: the application controller and the repo server
(built from the Argo CD Go module by ``toolchain/argocd.sh``), a Redis from Debian's
redis-server, and a Git server for the release repository, all on loopback, driving the
local control plane (controlplane.py). The API server and UI are not needed: tests
create Applications as objects and read their status from the Kubernetes API.

The CRDs come from the same module version as the binaries, so controller and CRDs
always match."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.e2e.controlplane import (
    KEEP_ENV,
    Component,
    ControlPlaneError,
    LocalControlPlane,
    _free_ports,
    cache_root,
    read_versions,
    tail,
)

NAMESPACE = "argocd"
BIN_ENV = "DELIVERY_PLATFORM_ARGOCD_BIN"
# The names the multi-call binary answers to (ARGOCD_BINARY_NAME picks one).
REPO_SERVER = "argocd-repo-server"
APPLICATION_CONTROLLER = "argocd-application-controller"
GIT_USER = "delivery-platform-e2e"


class ArgoCDMissingError(ControlPlaneError):
    """Argo CD or redis-server is not installed; the message says how to get them."""


@dataclass(frozen=True)
class ArgoCDBinaries:
    directory: Path
    redis_server: Path
    git: Path

    @classmethod
    def locate(cls) -> ArgoCDBinaries:
        explicit = os.environ.get(BIN_ENV)
        version = read_versions()["ARGOCD_VERSION"]
        directory = Path(explicit) if explicit else cache_root() / "argocd" / f"argocd-{version}"
        problems = []
        if not (directory / "argocd").exists() or not (directory / "crds").is_dir():
            problems.append(f"Argo CD {version} is not built in {directory}")
        redis, git = shutil.which("redis-server"), shutil.which("git")
        if redis is None:
            problems.append("redis-server is not installed")
        if git is None:
            problems.append("git is not installed")
        if problems or redis is None or git is None:
            raise ArgoCDMissingError(f"{'; '.join(problems)}. Run: bash scripts/setup.sh --e2e")
        return cls(directory, Path(redis), Path(git))

    @property
    def argocd(self) -> Path:
        return self.directory / "argocd"

    @property
    def crds(self) -> Path:
        return self.directory / "crds"


# --------------------------------------------------------------------------- Git


class _GitHttpHandler(http.server.BaseHTTPRequestHandler):
    """Git's smart HTTP protocol through `git http-backend` (a CGI program), so the repo
    server clones and fetches over HTTP exactly as from a real Git host."""

    server: _GitHttpServer

    def do_GET(self) -> None:
        self._backend()

    def do_POST(self) -> None:
        self._backend()

    def _backend(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            # Receive-pack (push) is refused for anonymous users unless a user is named.
            "REMOTE_USER": GIT_USER,
        }
        if encoding := self.headers.get("Content-Encoding"):
            environment["HTTP_CONTENT_ENCODING"] = encoding
        result = subprocess.run(
            [str(self.server.git), "http-backend"], input=body, env=environment, capture_output=True, check=False
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode(errors="replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(format % args)


class _GitHttpServer(http.server.ThreadingHTTPServer):
    def __init__(self, root: Path, git: Path) -> None:
        super().__init__(("127.0.0.1", 0), _GitHttpHandler)
        self.root = root
        self.git = git
        self.requests: list[str] = []


@dataclass
class GitRepository:
    """A bare repository served over HTTP on loopback, and a working clone to commit from."""

    workdir: Path
    git: Path
    name: str = "releases"
    branch: str = "main"

    _server: _GitHttpServer | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    @property
    def bare(self) -> Path:
        return self.workdir / "served" / f"{self.name}.git"

    @property
    def checkout(self) -> Path:
        return self.workdir / "checkout"

    @property
    def url(self) -> str:
        assert self._server is not None, "the Git server is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.name}.git"

    def start(self) -> None:
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        self.run("init", "--bare", f"--initial-branch={self.branch}", str(self.bare), cwd=self.workdir)
        self.run("clone", str(self.bare), str(self.checkout), cwd=self.workdir)
        self.run("config", "user.name", GIT_USER)
        self.run("config", "user.email", f"{GIT_USER}@delivery-platform.invalid")
        self.run("checkout", "-b", self.branch)
        self._server = _GitHttpServer(self.workdir / "served", self.git)
        self._thread = threading.Thread(target=self._server.serve_forever, name="git-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def run(self, *args: str, cwd: Path | None = None) -> str:
        result = subprocess.run(
            [str(self.git), *args],
            cwd=cwd or self.checkout,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        if result.returncode != 0:
            raise ControlPlaneError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def commit_all(self, message: str) -> str:
        """Commits the working clone's whole tree (additions and deletions) and pushes it;
        returns the new revision."""
        self.run("add", "--all")
        self.run("commit", "--allow-empty", "-m", message)
        self.run("push", "origin", f"HEAD:{self.branch}")
        return self.head()

    def head(self) -> str:
        return self.run("rev-parse", "HEAD")

    def revert(self, revision: str) -> str:
        self.run("revert", "--no-edit", revision)
        self.run("push", "origin", f"HEAD:{self.branch}")
        return self.head()


# --------------------------------------------------------------------------- Argo CD


@dataclass
class LocalArgoCD:
    """Redis + repo server + application controller against a LocalControlPlane.

    Use as a context manager. Applications and AppProjects are plain objects in
    namespace ``argocd``; `application()` reads one back with its status."""

    control_plane: LocalControlPlane
    binaries: ArgoCDBinaries = field(default_factory=ArgoCDBinaries.locate)
    startup_timeout: float = 120.0
    # How often the controller compares every Application with Git (its default is 3
    # minutes); tests also ask for a refresh whenever they push.
    reconciliation_seconds: int = 10

    repository: GitRepository = field(init=False)
    components: list[Component] = field(init=False, default_factory=list)
    workdir: Path = field(init=False)

    def __enter__(self) -> LocalArgoCD:
        self.workdir = Path(tempfile.mkdtemp(prefix="delivery-platform-argocd-"))
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        for component in reversed(self.components):
            component.stop()
        self.components.clear()
        if getattr(self, "repository", None) is not None:
            self.repository.stop()
        if os.environ.get(KEEP_ENV):
            print(f"Argo CD work directory kept: {self.workdir}", flush=True)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ start-up

    def _start(self) -> None:
        (self.workdir / "logs").mkdir()
        self.control_plane.install_crds(self.binaries.crds)
        self._install_settings()
        self.repository = GitRepository(self.workdir / "git", self.binaries.git)
        self.repository.start()

        redis_port, repo_server_port, repo_metrics, controller_metrics = _free_ports(4)
        self._launch(
            "redis",
            [str(self.binaries.redis_server), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
            ready_line="Ready to accept connections",
        )
        redis = f"127.0.0.1:{redis_port}"
        data = self.workdir / "data"
        for sub in ("tls", "ssh", "gpg", "plugins"):
            (data / sub).mkdir(parents=True)
        environment = {
            **os.environ,
            # Outside a cluster: treat the kubeconfig's cluster as the in-cluster one
            # (https://kubernetes.default.svc), as upstream's local runs do.
            "ARGOCD_FAKE_IN_CLUSTER": "true",
            "KUBECONFIG": str(self._kubeconfig()),
            "ARGOCD_TLS_DATA_PATH": str(data / "tls"),
            "ARGOCD_SSH_DATA_PATH": str(data / "ssh"),
            "ARGOCD_GNUPGHOME": str(data / "gpg"),
            "ARGOCD_GPG_ENABLED": "false",
            "ARGOCD_PLUGINSOCKFILEPATH": str(data / "plugins"),
            "HOME": str(data),
        }
        self._launch(
            REPO_SERVER,
            [
                str(self.binaries.argocd),
                "--address=127.0.0.1",
                f"--port={repo_server_port}",
                "--metrics-address=127.0.0.1",
                f"--metrics-port={repo_metrics}",
                f"--redis={redis}",
                "--disable-tls",
                "--loglevel=info",
            ],
            env={**environment, "ARGOCD_BINARY_NAME": REPO_SERVER},
            ready_line="is listening on",
        )
        self._launch(
            APPLICATION_CONTROLLER,
            [
                str(self.binaries.argocd),
                f"--redis={redis}",
                f"--repo-server=127.0.0.1:{repo_server_port}",
                "--repo-server-plaintext",
                f"--metrics-port={controller_metrics}",
                f"--app-resync={self.reconciliation_seconds}",
                "--loglevel=info",
            ],
            env={**environment, "ARGOCD_BINARY_NAME": APPLICATION_CONTROLLER},
        )

    def _install_settings(self) -> None:
        """The namespace and the settings objects every Argo CD component reads at start
        (the chart or install.yaml create them on a real install)."""
        labels = {"app.kubernetes.io/part-of": "argocd"}
        secret_key = base64.b64encode(os.urandom(32)).decode()
        self.control_plane.apply_manifests(
            [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "argocd-cm", "namespace": NAMESPACE, "labels": labels},
                    "data": {"timeout.reconciliation": f"{self.reconciliation_seconds}s"},
                },
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "argocd-cmd-params-cm", "namespace": NAMESPACE, "labels": labels},
                    "data": {},
                },
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "argocd-secret", "namespace": NAMESPACE, "labels": labels},
                    "type": "Opaque",
                    "data": {"server.secretkey": base64.b64encode(secret_key.encode()).decode()},
                },
            ]
        )

    def _kubeconfig(self) -> Path:
        """The control plane's admin kubeconfig with namespace argocd: the components
        take their own namespace from the current context."""
        config = json.loads(self.control_plane.kubeconfig.read_text())
        config["contexts"][0]["context"]["namespace"] = NAMESPACE
        path = self.workdir / "kubeconfig"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return path

    def _launch(
        self, name: str, command: list[str], *, env: dict[str, str] | None = None, ready_line: str | None = None
    ) -> None:
        component = Component.start(name, command, workdir=self.workdir, env=env)
        self.components.append(component)
        if ready_line is not None:
            deadline = time.monotonic() + self.startup_timeout
            while ready_line not in component.log_path.read_text(errors="replace"):
                if component.process.poll() is not None:
                    raise component.failure(f"exited with status {component.process.returncode} during start-up")
                if time.monotonic() > deadline:
                    raise component.failure(f"did not log {ready_line!r} within {self.startup_timeout:.0f}s")
                time.sleep(0.2)

    def check_alive(self) -> None:
        for component in self.components:
            code = component.process.poll()
            if code is not None:
                raise component.failure(f"exited with status {code}")

    # ------------------------------------------------------------------ helpers for tests

    def application(self, name: str) -> dict[str, Any] | None:
        path = self.control_plane.client.path_for("argoproj.io/v1alpha1", "Application", name, NAMESPACE)
        result: dict[str, Any] | None = self.control_plane.client.get_or_none(path)
        return result

    def refresh(self, name: str) -> None:
        """Asks the controller to compare the Application with Git now (the annotation
        the argocd CLI and UI set), instead of at its next periodic reconciliation."""
        client = self.control_plane.client
        path = client.path_for("argoproj.io/v1alpha1", "Application", name, NAMESPACE)
        client.request(
            "PATCH",
            path,
            {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}},
            content_type="application/merge-patch+json",
        )

    def wait_for_sync(
        self, name: str, revision: str, *, ended: tuple[str, ...] = ("Succeeded",), timeout: float = 180.0
    ) -> dict[str, Any]:
        """Waits until the Application's last sync operation at `revision` has ended and
        returns the Application. A sync that ends in a phase other than `ended` (a failed
        one is what some scenarios expect) fails with the Application's status and the
        controller's last log lines, as a timeout does."""

        def finished() -> dict[str, Any] | None:
            self.check_alive()
            app = self.application(name)
            state = (app or {}).get("status", {}).get("operationState") or {}
            synced_revision = state.get("syncResult", {}).get("revision") or state.get("operation", {}).get(
                "sync", {}
            ).get("revision")
            if synced_revision == revision and state.get("phase") in ("Succeeded", "Failed", "Error"):
                return app
            return None

        with contextlib.suppress(Exception):
            self.refresh(name)
        try:
            app = self.control_plane.wait_until(f"Application {name} synced at {revision[:8]}", finished, timeout)
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{self.describe(name)}") from None
        phase = app["status"]["operationState"]["phase"]
        if phase not in ended:
            raise AssertionError(f"the sync of {name} at {revision[:8]} ended {phase}\n{self.describe(name)}")
        return app

    def describe(self, name: str) -> str:
        """The Application's status and the controller's last log lines, for failures."""
        app = self.application(name) or {}
        status = app.get("status", {})
        summary = {
            "sync": status.get("sync", {}).get("status"),
            "health": status.get("health"),
            "conditions": status.get("conditions"),
            "operationState": status.get("operationState"),
            "resources": [
                {k: r.get(k) for k in ("kind", "name", "status", "health", "hook")} for r in status.get("resources", [])
            ],
        }
        logs = "\n".join(f"--- {component} ---\n{tail(path, 25)}" for component, path in self.logs())
        return f"Application {name}: {json.dumps(summary, indent=1)[:6000]}\n{logs}"

    def logs(self) -> Iterator[tuple[str, Path]]:
        for component in self.components:
            yield component.name, component.log_path
