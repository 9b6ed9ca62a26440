"""A local Kubernetes control plane run as plain processes, for end-to-end tests.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real
components; kwok stands in for kubelets, so Nodes are fake but Pods are scheduled,
turn Running and Ready, get IPs (hence ready EndpointSlices) and are deleted like on
a real cluster. No container runtime, no root, loopback ports picked at run time.

The binaries come from ``toolchain/controlplane.sh``, which builds them into a cache
outside the repository; this module finds them the same way (or through
``DELIVERY_PLATFORM_CONTROLPLANE_BIN``).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = "toolchain/controlplane.sh"
BIN_ENV = "DELIVERY_PLATFORM_CONTROLPLANE_BIN"
# Set to keep the work directory (logs, certificates, etcd data) after stop().
KEEP_ENV = "DELIVERY_PLATFORM_CONTROLPLANE_KEEP"

COMMANDS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl")
KWOK_STAGES = "kwok-stages.yaml"
# The e2e scenarios' own stages (slow readiness, grace periods, failing Jobs), loaded
# after the fast ones; each applies only to pods that ask for it (see the file).
E2E_KWOK_STAGES = Path(__file__).with_name("kwok-stages.yaml")
GATEWAY_API_CRDS = "gateway-api-crds"

SERVICE_CIDR = "10.96.0.0/16"
# Pod IPs kwok hands out; kept apart from SERVICE_CIDR so the two never collide.
POD_CIDR = "10.244.0.1/16"
FIELD_MANAGER = "delivery-platform-e2e"

T = TypeVar("T")


class ControlPlaneError(RuntimeError):
    """The control plane could not be started or did not become ready."""


class BinariesMissingError(ControlPlaneError):
    """The binaries have not been built; the message says how to build them."""


# --------------------------------------------------------------------------- binaries


def cache_root() -> Path:
    """The same cache root as toolchain/lib.sh."""
    if explicit := os.environ.get("DELIVERY_PLATFORM_CACHE"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "delivery-platform"


def read_versions(path: Path = REPO_ROOT / "toolchain" / "versions.env") -> dict[str, str]:
    """KEY=value lines of versions.env (it holds plain assignments only)."""
    versions: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            versions[key.strip()] = value.strip().strip("'\"")
    return versions


def default_bin_dir() -> Path:
    """Where toolchain/controlplane.sh puts the binaries for the pinned versions."""
    v = read_versions()
    name = "+".join(
        f"{component}-{v[key]}"
        for component, key in (
            ("kubernetes", "KUBERNETES_VERSION"),
            ("etcd", "ETCD_VERSION"),
            ("kwok", "KWOK_VERSION"),
            ("gateway-api", "GATEWAY_API_VERSION"),
        )
    )
    return cache_root() / "controlplane" / "bin" / name


@dataclass(frozen=True)
class Binaries:
    directory: Path

    @classmethod
    def locate(cls) -> Binaries:
        """The binaries from $DELIVERY_PLATFORM_CONTROLPLANE_BIN, else the cache."""
        explicit = os.environ.get(BIN_ENV)
        directory = Path(explicit) if explicit else default_bin_dir()
        missing = [name for name in (*COMMANDS, KWOK_STAGES, GATEWAY_API_CRDS) if not (directory / name).exists()]
        if missing:
            source = f"${BIN_ENV}" if explicit else "the toolchain cache"
            raise BinariesMissingError(
                f"The local control plane is not built: {', '.join(missing)} missing from {directory} ({source}).\n"
                f"Run `{SETUP_SCRIPT}` from the repository root (a cold build takes about 15 minutes "
                f"on 2 cores, a warm run is instant), or point ${BIN_ENV} at the directory it prints."
            )
        return cls(directory)

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def kwok_stages(self) -> Path:
        return self.directory / KWOK_STAGES

    @property
    def gateway_api_crds(self) -> Path:
        return self.directory / GATEWAY_API_CRDS


# --------------------------------------------------------------------------- PKI


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    service_account_key: Path
    service_account_pub: Path


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    extensions: Iterable[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    # Backdated so small clock differences never make a fresh certificate "not yet valid".
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def write_pki(directory: Path) -> Pki:
    """A throwaway CA, the apiserver's serving certificate, an admin client
    certificate (group system:masters, so RBAC allows everything) and the
    service-account token signing key."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "delivery-platform-e2e-ca")])
    ca = _certificate(
        ca_name,
        ca_key,
        ca_name,
        ca_key,
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            ),
        ],
    )

    serving_key = ec.generate_private_key(ec.SECP256R1())
    in_cluster_ip = next(ipaddress.IPv4Network(SERVICE_CIDR).hosts())
    names: list[x509.GeneralName] = [
        x509.DNSName(name)
        for name in (
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        )
    ]
    names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(in_cluster_ip)]
    serving = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        serving_key,
        ca_name,
        ca_key,
        [
            (x509.SubjectAlternativeName(names), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
    )

    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin = _certificate(
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "delivery-platform-e2e-admin"),
            ]
        ),
        admin_key,
        ca_name,
        ca_key,
        [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)],
    )

    # RSA rather than ECDSA: RS256 is the token algorithm every client library accepts.
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    pki = Pki(
        ca_cert=directory / "ca.crt",
        serving_cert=directory / "apiserver.crt",
        serving_key=directory / "apiserver.key",
        admin_cert=directory / "admin.crt",
        admin_key=directory / "admin.key",
        service_account_key=directory / "sa.key",
        service_account_pub=directory / "sa.pub",
    )
    pki.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.serving_cert.write_bytes(serving.public_bytes(serialization.Encoding.PEM))
    pki.serving_key.write_bytes(_pem_key(serving_key))
    pki.admin_cert.write_bytes(admin.public_bytes(serialization.Encoding.PEM))
    pki.admin_key.write_bytes(_pem_key(admin_key))
    pki.service_account_key.write_bytes(_pem_key(sa_key))
    pki.service_account_pub.write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for private in (pki.serving_key, pki.admin_key, pki.service_account_key):
        private.chmod(0o600)
    return pki


def write_kubeconfig(path: Path, server: str, pki: Pki) -> None:
    """A self-contained kubeconfig (JSON is valid kubeconfig YAML)."""

    def b64(file: Path) -> str:
        return base64.b64encode(file.read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {"server": server, "certificate-authority-data": b64(pki.ca_cert)}}],
        "users": [
            {
                "name": "e2e-admin",
                "user": {"client-certificate-data": b64(pki.admin_cert), "client-key-data": b64(pki.admin_key)},
            }
        ],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "e2e-admin"}}],
        "current-context": "e2e",
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)


# --------------------------------------------------------------------------- API client


class KubeApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:2000]}")
        self.status = status
        self.body = body


class KubeClient:
    """Just enough of a Kubernetes API client for fixtures and assertions: JSON over
    HTTPS with the admin client certificate, server-side apply via discovery."""

    def __init__(self, server: str, pki: Pki, timeout: float = 30.0) -> None:
        self.server = server
        self.timeout = timeout
        self._tls = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._tls.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        self._resources: dict[tuple[str, str], tuple[str, bool]] = {}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> Any:
        url = self.server + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._tls) as response:
                payload = response.read()
                is_json = response.headers.get_content_type() == "application/json"
        except urllib.error.HTTPError as error:
            raise KubeApiError(method, path, error.code, error.read().decode(errors="replace")) from None
        # Health endpoints answer in plain text.
        return json.loads(payload) if is_json else payload.decode(errors="replace")

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def get_or_none(self, path: str) -> Any:
        try:
            return self.get(path)
        except KubeApiError as error:
            if error.status == 404:
                return None
            raise

    def list_objects(self, path: str, label_selector: str | None = None) -> Any:
        """A collection: its items and the resourceVersion to watch it from."""
        return self.request("GET", path, query={"labelSelector": label_selector} if label_selector else None)

    def watch(
        self, path: str, resource_version: str, *, label_selector: str | None = None, timeout_seconds: int = 1
    ) -> Iterator[dict[str, Any]]:
        """The change events of a collection after resource_version, in the order the
        server committed them, until it ends the watch after timeout_seconds. An ERROR
        event (e.g. 410 Gone: that version is compacted away) raises."""
        query = {"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": str(timeout_seconds)}
        if label_selector:
            query["labelSelector"] = label_selector
        request = urllib.request.Request(f"{self.server}{path}?{urllib.parse.urlencode(query)}")
        request.add_header("Accept", "application/json")
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout, context=self._tls)
        except urllib.error.HTTPError as error:
            raise KubeApiError("GET", path, error.code, error.read().decode(errors="replace")) from None
        with response:
            # One JSON event per line.
            for line in response:
                event: dict[str, Any] = json.loads(line)
                if event["type"] == "ERROR":
                    status = event["object"]
                    raise KubeApiError("WATCH", path, status.get("code", 0), status.get("message", ""))
                yield event

    def delete(self, path: str) -> None:
        """Deletes an object; one that is already gone is not an error."""
        try:
            self.request("DELETE", path, {"propagationPolicy": "Background"})
        except KubeApiError as error:
            if error.status != 404:
                raise

    def path_for(self, api_version: str, kind: str, name: str | None = None, namespace: str | None = None) -> str:
        """The REST path of a kind (and optionally one object), found through discovery."""
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        key = (api_version, kind)
        if key not in self._resources:
            # Not cached on a miss: a CRD's kind appears in discovery a moment after it is created.
            for resource in self.get(base)["resources"]:
                if "/" not in resource["name"]:
                    self._resources[(api_version, resource["kind"])] = (resource["name"], resource["namespaced"])
        if key not in self._resources:
            raise KubeApiError("GET", base, 404, f"kind {kind} is not served under {api_version}")
        plural, namespaced = self._resources[key]
        path = f"{base}/namespaces/{namespace or 'default'}/{plural}" if namespaced else f"{base}/{plural}"
        return f"{path}/{name}" if name else path

    def object_path(self, manifest: dict[str, Any]) -> str:
        metadata = manifest["metadata"]
        return self.path_for(manifest["apiVersion"], manifest["kind"], metadata["name"], metadata.get("namespace"))

    def apply(self, manifest: dict[str, Any]) -> Any:
        """Server-side apply; creates or updates. JSON is valid apply-patch YAML."""
        return self.request(
            "PATCH",
            self.object_path(manifest),
            manifest,
            content_type="application/apply-patch+yaml",
            query={"fieldManager": FIELD_MANAGER, "force": "true"},
        )


# --------------------------------------------------------------------------- processes


def _free_ports(count: int) -> list[int]:
    """Loopback ports the kernel reports free. All are held until every one is picked,
    so the same port is never handed out twice; a stranger can still take one before
    the component binds it, which start() reports with the component's log."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    # A test run killed hard (SIGKILL, CI timeout) never reaches stop(); the kernel then
    # kills the components instead of leaving them bound to ports. SIGKILL, because on
    # SIGTERM arriving everywhere at once the apiserver outlives etcd and hangs retrying it.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @classmethod
    def start(cls, name: str, command: list[str], *, workdir: Path, env: dict[str, str] | None = None) -> Component:
        """Starts `command` with its output in workdir/logs/<name>.log."""
        log_path = workdir / "logs" / f"{name}.log"
        log_file = log_path.open("wb")
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=env,
                # Its own session: a Ctrl-C in the terminal reaches pytest, whose
                # teardown then stops the components in order.
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl
            )
        except BaseException:
            log_file.close()
            raise
        return cls(name, process, log_path, log_file)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()

    def failure(self, what: str) -> ControlPlaneError:
        return ControlPlaneError(
            f"{self.name} {what}; last lines of its log {self.log_path} "
            f"(kept after stop() only with ${KEEP_ENV} set):\n{tail(self.log_path)}"
        )


@dataclass
class LocalControlPlane:
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok.

    Use as a context manager, or call start() and stop(). After start(),
    ``kubeconfig`` and ``server`` describe the cluster and ``client`` talks to it.
    """

    binaries: Binaries = field(default_factory=Binaries.locate)
    nodes: int = 1
    startup_timeout: float = 120.0
    workdir: Path | None = None

    server: str = field(init=False, default="")
    kubeconfig: Path = field(init=False)
    components: list[Component] = field(init=False, default_factory=list)
    _client: KubeClient | None = field(init=False, default=None)
    _owns_workdir: bool = field(init=False, default=False)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalControlPlane:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def client(self) -> KubeClient:
        if self._client is None:
            raise ControlPlaneError("the control plane is not started")
        return self._client

    @property
    def node_names(self) -> list[str]:
        return [f"kwok-node-{index}" for index in range(self.nodes)]

    def start(self) -> None:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="delivery-platform-controlplane-"))
            self._owns_workdir = True
        try:
            self._start(self.workdir)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops every component and removes the work directory, unless
        $DELIVERY_PLATFORM_CONTROLPLANE_KEEP is set."""
        # Newest first and one at a time: an apiserver whose etcd is already gone spends
        # its whole shutdown grace period retrying it.
        for component in reversed(self.components):
            component.stop()
        self.components.clear()
        self._client = None
        if self.workdir is not None and self._owns_workdir:
            if os.environ.get(KEEP_ENV):
                print(f"control plane work directory kept: {self.workdir}", file=sys.stderr)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir, self._owns_workdir = None, False

    def env(self) -> dict[str, str]:
        """Environment for a subprocess (kubectl, pulumi) that should target this cluster."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    # ------------------------------------------------------------------ start-up

    def _start(self, workdir: Path) -> None:
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        pki = write_pki(workdir / "pki")
        etcd_client, etcd_peer, apiserver, controller_manager, scheduler = _free_ports(5)
        self.server = f"https://127.0.0.1:{apiserver}"
        self.kubeconfig = workdir / "kubeconfig"
        write_kubeconfig(self.kubeconfig, self.server, pki)

        etcd_url, peer_url = f"http://127.0.0.1:{etcd_client}", f"http://127.0.0.1:{etcd_peer}"
        self._launch(
            "etcd",
            [
                "--name=e2e",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=e2e={peer_url}",
                # The data is thrown away after the run; fsync only costs time.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self._launch(
            "kube-apiserver",
            [
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # The reconciler refuses a loopback advertise address, and nothing here
                # reaches the apiserver through the in-cluster "kubernetes" Service.
                "--endpoint-reconciler-type=none",
                f"--secure-port={apiserver}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                "--authorization-mode=Node,RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # Workloads under test may ask for privileged pods; kwok never runs them anyway.
                "--allow-privileged=true",
                "--profiling=false",
            ],
        )
        self._client = KubeClient(self.server, pki)
        self._wait("kube-apiserver /readyz", self._apiserver_ready)

        # No --authentication/authorization-kubeconfig: delegated authn would need the
        # apiserver's front-proxy (requestheader) set-up, and only /readyz is used,
        # which is open anyway.
        kubeconfig = f"--kubeconfig={self.kubeconfig}"
        self._launch(
            "kube-controller-manager",
            [
                kubeconfig,
                "--bind-address=127.0.0.1",
                f"--secure-port={controller_manager}",
                f"--cert-dir={workdir / 'controller-manager'}",
                # A single instance: waiting for a leader lease only slows start-up.
                "--leader-elect=false",
                # Signs legacy token secrets and publishes kube-root-ca.crt into every namespace.
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca_cert}",
                "--profiling=false",
            ],
        )
        self._launch(
            "kube-scheduler",
            [
                kubeconfig,
                "--bind-address=127.0.0.1",
                f"--secure-port={scheduler}",
                f"--cert-dir={workdir / 'scheduler'}",
                "--leader-elect=false",
            ],
        )
        kwok_home = workdir / "kwok-home"
        kwok_home.mkdir()
        self._launch(
            "kwok",
            [
                kubeconfig,
                f"--config={self.binaries.kwok_stages}",
                f"--config={E2E_KWOK_STAGES}",
                "--manage-all-nodes=true",
                # kwok renews node Leases so the node lifecycle controller keeps nodes Ready.
                "--node-lease-duration-seconds=40",
                f"--cidr={POD_CIDR}",
            ],
            # kwok also reads ~/.kwok/kwok.yaml when it exists; a developer's own kwok
            # set-up must not leak into the tests.
            env={**os.environ, "HOME": str(kwok_home)},
        )

        for name in self.node_names:
            self.client.apply(_fake_node(name))
        self._wait(f"{self.nodes} kwok node(s) Ready", self._nodes_ready)
        # Pods are rejected until their namespace has its default ServiceAccount, and
        # the controller-manager creates those: once "default" has one, it is working.
        self._wait(
            "the default ServiceAccount",
            lambda: self.client.get_or_none("/api/v1/namespaces/default/serviceaccounts/default") is not None,
        )
        self._wait(
            "kube-scheduler /readyz",
            lambda: _healthy(f"https://127.0.0.1:{scheduler}/readyz"),
            component="kube-scheduler",
        )

    def _launch(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        assert self.workdir is not None
        self.components.append(
            Component.start(name, [str(self.binaries.path(name)), *args], workdir=self.workdir, env=env)
        )

    def _check_alive(self) -> None:
        for component in self.components:
            code = component.process.poll()
            if code is not None:
                raise component.failure(f"exited with status {code} during start-up")

    def _wait(self, what: str, ready: Callable[[], bool], *, component: str = "kube-apiserver") -> None:
        """Polls ready() until it holds; a component that dies meanwhile fails at once
        with its log, and a time-out reports the log of the component waited on."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            self._check_alive()
            with contextlib.suppress(OSError, KubeApiError):
                if ready():
                    return
            if time.monotonic() > deadline:
                blamed = next((c for c in self.components if c.name == component), self.components[-1])
                raise blamed.failure(f"not ready: timed out after {self.startup_timeout:.0f}s waiting for {what}")
            time.sleep(0.25)

    def _apiserver_ready(self) -> bool:
        self.client.request("GET", "/readyz")
        return True

    def _nodes_ready(self) -> bool:
        for name in self.node_names:
            node = self.client.get(f"/api/v1/nodes/{name}")
            if not _condition_true(node, "Ready"):
                return False
        return True

    # ------------------------------------------------------------------ helpers for tests

    def apply_manifests(self, manifests: Iterable[dict[str, Any]]) -> None:
        for manifest in manifests:
            self.client.apply(manifest)

    def install_crds(self, directory: Path) -> list[str]:
        """Applies every YAML document in directory (CRDs and whatever ships with them,
        e.g. a ValidatingAdmissionPolicy) and waits until each CRD is Established.
        Returns the CRD names."""
        import yaml

        documents = [
            document
            for path in sorted(directory.glob("*.yaml"))
            for document in yaml.safe_load_all(path.read_text())
            if document
        ]
        # CRDs first: anything else in the set may refer to the kinds they define.
        documents.sort(key=lambda document: document["kind"] != "CustomResourceDefinition")
        self.apply_manifests(documents)
        crds = [d["metadata"]["name"] for d in documents if d["kind"] == "CustomResourceDefinition"]
        for name in crds:
            self.wait_until(f"CRD {name} Established", partial(self._crd_established, name))
        return crds

    def _crd_established(self, name: str) -> bool:
        crd = self.client.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        return _condition_true(crd, "Established")

    def install_gateway_api_crds(self) -> list[str]:
        return self.install_crds(self.binaries.gateway_api_crds)

    def wait_until(self, what: str, ready: Callable[[], T | None], timeout: float = 60.0) -> T:
        """Polls ready() until it returns something truthy, and returns that. Fails with
        the last API error seen, and with a component's log if one has died."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            self._check_alive()
            try:
                result = ready()
            except (OSError, KubeApiError) as error:
                last_error, result = error, None
            if result:
                return result
            if time.monotonic() > deadline:
                detail = f" (last error: {last_error})" if last_error else ""
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
            time.sleep(0.25)

    def logs(self) -> Iterator[tuple[str, Path]]:
        for component in self.components:
            yield component.name, component.log_path


def _fake_node(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
            # Marks the node as kwok's, as kwokctl does; nothing here relies on it.
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
        },
    }


def _condition_true(obj: dict[str, Any], condition: str) -> bool:
    conditions = obj.get("status", {}).get("conditions") or []
    return any(c.get("type") == condition and c.get("status") == "True" for c in conditions)


def _healthy(url: str) -> bool:
    # Components' own health endpoints use self-signed certificates generated at start.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=5, context=context) as response:
        return bool(response.status == 200)
