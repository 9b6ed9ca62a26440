"""Pod Security Standards (baseline and restricted, as the v1.37 Pod Security
Admission checks them) on every pod template, plus a read-only root filesystem.

The controls and allowed values follow k8s.io/pod-security-admission's policy checks.
Baseline findings are not repeated by the restricted rule, so one mistake is one
violation; stack.py combines both for namespaces that enforce a level.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyComplianceFramework, ResourceValidationPolicy, Severity

from .framework import Config, NotApplicable, Rule, resource_policy
from .kube import EXEMPTIONS, WORKLOAD_KINDS, Container, KubeObject, containers, kube_rule, pod_template
from .props import UNKNOWN, Unknown, flag, get, known_dicts, number, obj, or_default, string_map, strings, text

PSS_URL = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
     "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip
RESTRICTED_ADDABLE = frozenset({"NET_BIND_SERVICE"})
SAFE_SYSCTLS = frozenset(
    {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
     "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
     "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
     "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
     "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}
)  # fmt: skip
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
CONFINED_PROFILES = frozenset({"RuntimeDefault", "Localhost"})
RESTRICTED_VOLUME_SOURCES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def _context(container: Container) -> dict[str, Any] | Unknown:
    return obj(container.spec, "securityContext")


def _contexts(pod_spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any] | Unknown]]:
    """(who, securityContext) for the pod and each of its containers."""
    yield "pod", obj(pod_spec, "securityContext")
    for container in containers(pod_spec):
        yield container.describe(), _context(container)


def _host_access(pod_spec: dict[str, Any]) -> Iterator[str]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if flag(pod_spec, key) is True:
            yield f"pod shares the node's namespace ({key}=true)"
    for who, context in _contexts(pod_spec):
        if flag(context, "windowsOptions", "hostProcess") is True:
            yield f"{who} runs as a Windows HostProcess"
    for volume in known_dicts(pod_spec, "volumes"):
        if get(volume, "hostPath") is not None:
            yield f"volume {text(volume, 'name')!r} mounts a hostPath"
    for container in containers(pod_spec):
        for port in known_dicts(container.spec, "ports"):
            host_port = number(port, "hostPort")
            if isinstance(host_port, float) and host_port != 0:
                yield f"{container.describe()} binds hostPort {int(host_port)}"


def _privileges(pod_spec: dict[str, Any]) -> Iterator[str]:
    # Pods in a user namespace (hostUsers: false) may unmask /proc: they are not root on the node.
    host_users = flag(pod_spec, "hostUsers")
    for container in containers(pod_spec):
        context = _context(container)
        if flag(context, "privileged") is True:
            yield f"{container.describe()} is privileged"
        added = strings(context, "capabilities", "add")
        if added is not UNKNOWN and (beyond := sorted(set(added) - BASELINE_CAPABILITIES)):
            yield f"{container.describe()} adds capabilities {beyond}"
        proc_mount = text(context, "procMount")
        if isinstance(proc_mount, str) and proc_mount != "Default" and host_users in (True, None):
            yield f"{container.describe()} sets procMount {proc_mount} outside a user namespace"


def _confinement(pod_meta: dict[str, Any] | Unknown, pod_spec: dict[str, Any]) -> Iterator[str]:
    annotations = string_map(pod_meta, "annotations")
    if annotations is not UNKNOWN:
        for key, value in sorted(annotations.items()):
            confined = value in ("", "runtime/default") or value.startswith("localhost/")
            if key.startswith(_APPARMOR_ANNOTATION) and not confined:
                yield f"annotation {key} sets AppArmor profile {value!r}"
    for who, context in _contexts(pod_spec):
        apparmor = text(context, "appArmorProfile", "type")
        if isinstance(apparmor, str) and apparmor not in CONFINED_PROFILES:
            yield f"{who} sets AppArmor profile type {apparmor}"
        seccomp = text(context, "seccompProfile", "type")
        if isinstance(seccomp, str) and seccomp not in CONFINED_PROFILES:
            yield f"{who} sets seccomp profile type {seccomp}"
        selinux_type = text(context, "seLinuxOptions", "type")
        if isinstance(selinux_type, str) and selinux_type not in SELINUX_TYPES:
            yield f"{who} sets SELinux type {selinux_type}"
        for field in ("user", "role"):
            if or_default(text(context, "seLinuxOptions", field), None) not in (None, UNKNOWN):
                yield f"{who} sets a custom SELinux {field}"
    for sysctl in known_dicts(pod_spec, "securityContext", "sysctls"):
        name = text(sysctl, "name")
        if isinstance(name, str) and name not in SAFE_SYSCTLS:
            yield f"pod sets the unsafe sysctl {name}"


def _host_handlers(pod_spec: dict[str, Any]) -> Iterator[str]:
    for container in containers(pod_spec, ("initContainers", "containers")):
        handlers = [
            (probe, get(container.spec, probe)) for probe in ("livenessProbe", "readinessProbe", "startupProbe")
        ]
        handlers += [(f"lifecycle.{hook}", get(container.spec, "lifecycle", hook)) for hook in ("postStart", "preStop")]
        for where, handler in handlers:
            for kind in ("httpGet", "tcpSocket"):
                if or_default(text(handler, kind, "host"), None) not in (None, UNKNOWN):
                    yield f"{container.describe()} {where}.{kind} targets another host"


def baseline_findings(pod_meta: dict[str, Any] | Unknown, pod_spec: dict[str, Any] | Unknown) -> list[str]:
    """What Pod Security Admission's baseline level rejects in this pod."""
    if pod_spec is UNKNOWN:
        return []
    return [
        *_host_access(pod_spec),
        *_privileges(pod_spec),
        *_confinement(pod_meta, pod_spec),
        *_host_handlers(pod_spec),
    ]


def _restricted_volumes(pod_spec: dict[str, Any]) -> Iterator[str]:
    for volume in known_dicts(pod_spec, "volumes"):
        sources = {key for key, value in volume.items() if key != "name" and value is not None}
        if forbidden := sorted(sources - RESTRICTED_VOLUME_SOURCES - {"hostPath"}):
            yield f"volume {text(volume, 'name')!r} uses {forbidden}, which restricted pods may not mount"


def _restricted_identity(pod_spec: dict[str, Any]) -> Iterator[str]:
    host_users = flag(pod_spec, "hostUsers")
    if host_users is UNKNOWN or host_users is False:
        return  # pods in a user namespace are not root on the node
    pod_context = obj(pod_spec, "securityContext")
    pod_non_root = flag(pod_context, "runAsNonRoot")
    if pod_non_root is False:
        yield "pod sets runAsNonRoot=false"
    for who, context in _contexts(pod_spec):
        if number(context, "runAsUser") == 0:
            yield f"{who} runs as user 0 (root)"
    for container in containers(pod_spec):
        non_root = flag(_context(container), "runAsNonRoot")
        if non_root is False:
            yield f"{container.describe()} sets runAsNonRoot=false"
        elif non_root is None and pod_non_root is None:
            yield f"{container.describe()} may run as root: set runAsNonRoot=true on the pod or the container"


def _restricted_hardening(pod_spec: dict[str, Any]) -> Iterator[str]:
    os_name = text(pod_spec, "os", "name")
    if os_name is UNKNOWN or os_name == "windows":
        return  # these controls do not apply to Windows pods
    pod_seccomp = text(pod_spec, "securityContext", "seccompProfile", "type")
    for container in containers(pod_spec):
        context = _context(container)
        escalation = flag(context, "allowPrivilegeEscalation")
        if escalation is not UNKNOWN and escalation is not False:
            yield f"{container.describe()} does not set allowPrivilegeEscalation=false"
        seccomp = text(context, "seccompProfile", "type")
        if seccomp is None and pod_seccomp is None:
            yield f"{container.describe()} has no seccomp profile: set RuntimeDefault (or Localhost) on the pod"
        dropped = strings(context, "capabilities", "drop")
        if dropped is not UNKNOWN and "ALL" not in dropped:
            yield f"{container.describe()} does not drop ALL capabilities"
        added = strings(context, "capabilities", "add")
        if added is not UNKNOWN and (extra := sorted((set(added) & BASELINE_CAPABILITIES) - RESTRICTED_ADDABLE)):
            yield f"{container.describe()} adds {extra}; restricted pods may only add NET_BIND_SERVICE"
        proc_mount = text(context, "procMount")
        if isinstance(proc_mount, str) and proc_mount != "Default" and flag(pod_spec, "hostUsers") is False:
            yield f"{container.describe()} sets procMount {proc_mount}"


def restricted_findings(pod_meta: dict[str, Any] | Unknown, pod_spec: dict[str, Any] | Unknown) -> list[str]:
    """What the restricted level rejects on top of baseline."""
    if pod_spec is UNKNOWN:
        return []
    return [*_restricted_volumes(pod_spec), *_restricted_identity(pod_spec), *_restricted_hardening(pod_spec)]


def _pod(found: KubeObject) -> tuple[dict[str, Any] | Unknown, dict[str, Any] | Unknown]:
    template = pod_template(found)
    if template is None:
        raise NotApplicable(f"{found.kind} has no pods")
    return template.metadata, template.spec


def _check_baseline(found: KubeObject, config: Config) -> Iterator[str]:
    for finding in baseline_findings(*_pod(found)):
        yield f"{found.describe()}: {finding}"


def _check_restricted(found: KubeObject, config: Config) -> Iterator[str]:
    for finding in restricted_findings(*_pod(found)):
        yield f"{found.describe()}: {finding}"


def _check_read_only_root(found: KubeObject, config: Config) -> Iterator[str]:
    _, pod_spec = _pod(found)
    for container in containers(pod_spec, ("initContainers", "containers")):
        read_only = flag(_context(container), "readOnlyRootFilesystem")
        if read_only is not UNKNOWN and read_only is not True:
            yield (
                f"{found.describe()} {container.describe()} can write to its root filesystem; set "
                "readOnlyRootFilesystem=true and mount an emptyDir where it needs scratch space"
            )


def _framework(level: str) -> PolicyComplianceFramework:
    return PolicyComplianceFramework(
        name="Kubernetes Pod Security Standards", version="v1.37", reference=level, specification=PSS_URL
    )


BASELINE = Rule(
    name="pod-security-baseline",
    description=(
        "Pods meet the Pod Security Standards baseline: no privileged containers, host namespaces, hostPath "
        "volumes, host ports, extra capabilities, unsafe sysctls, unconfined AppArmor/seccomp or custom SELinux."
    ),
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps="Remove the host access and privileges listed; run what truly needs them in an exempt namespace.",
    settings=EXEMPTIONS,
    url=PSS_URL,
    framework=_framework("baseline"),
    tags=("security", "pod-security"),
)

RESTRICTED = Rule(
    name="pod-security-restricted",
    description=(
        "Pods meet the Pod Security Standards restricted level: run as non-root, no privilege escalation, drop ALL "
        "capabilities, a RuntimeDefault or Localhost seccomp profile, only core volume types."
    ),
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        "Set runAsNonRoot: true and seccompProfile.type: RuntimeDefault on the pod; allowPrivilegeEscalation: false "
        "and capabilities.drop: [ALL] on every container."
    ),
    settings=EXEMPTIONS,
    url=PSS_URL,
    framework=_framework("restricted"),
    tags=("security", "pod-security"),
)

READ_ONLY_ROOT = Rule(
    name="read-only-root-filesystem",
    description="Containers run with a read-only root filesystem, so a compromised process cannot alter its image.",
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    remediation_steps="Set securityContext.readOnlyRootFilesystem: true; mount emptyDir volumes for /tmp and caches.",
    settings=EXEMPTIONS,
    tags=("security",),
)


def policies() -> list[ResourceValidationPolicy]:
    return [
        resource_policy(BASELINE, kube_rule(WORKLOAD_KINDS, _check_baseline)),
        resource_policy(RESTRICTED, kube_rule(WORKLOAD_KINDS, _check_restricted)),
        resource_policy(READ_ONLY_ROOT, kube_rule(WORKLOAD_KINDS, _check_read_only_root)),
    ]
