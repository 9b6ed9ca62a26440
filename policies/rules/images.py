"""Container images: pinned to one build, pulled from allowed registries, with an
explicit pull policy that matches how the reference is pinned.

A re-pushed tag does not roll pods (the kubelet only pulls when a pod starts), so a
deploy that only moves a mutable tag silently does nothing, and pods on different
nodes run different builds. The pack runs in its own directory, so it keeps its own
small reference parser; MUTABLE_TAGS mirrors components/config/base.py and a test
keeps the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, ResourceValidationPolicy, Severity

from .framework import Config, NotApplicable, Rule, Setting, resource_policy
from .kube import (
    EXEMPTIONS,
    WORKLOAD_KINDS,
    KubeObject,
    containers,
    exempt_object,
    kube_rule,
    pod_template,
    provider_namespace,
    split_type,
    template_path,
)
from .props import UNKNOWN, or_default, plain, raw_get, raw_mappings, text

MUTABLE_TAGS = frozenset(
    {"latest", "stable", "main", "master", "dev", "develop", "edge", "nightly",
     "head", "canary", "release", "prod", "production", "staging", "test", "current"}
)  # fmt: skip

PULL_POLICIES = ("Always", "IfNotPresent", "Never")

_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PATH = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


@dataclass(frozen=True)
class ImageRef:
    registry: str
    path: str
    tag: str | None
    digest: str | None

    @property
    def location(self) -> str:
        return f"{self.registry}/{self.path}"

    def pinned(self, mutable_tags: frozenset[str]) -> bool:
        return bool(self.digest) or (self.tag is not None and self.tag.lower() not in mutable_tags)


def parse_image(reference: str) -> ImageRef | None:
    """`[registry/]path[:tag][@digest]` as the container runtime reads it; None if malformed."""
    name, at, digest = reference.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        return None
    tag = None
    if name.rfind(":") > name.rfind("/"):
        name, _, tag = name.rpartition(":")
        if not _TAG.fullmatch(tag):
            return None
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), rest
    else:
        registry, path = "docker.io", name if slash else f"library/{name}"
    if registry in _DOCKER_HUB_ALIASES:
        registry = "docker.io"
    if not _PATH.fullmatch(path):
        return None
    return ImageRef(registry=registry, path=path, tag=tag, digest=digest or None)


def mutable_tags(config: Config) -> frozenset[str]:
    return frozenset(tag.lower() for tag in config.get("mutableTags", MUTABLE_TAGS))


def wanted_pull_policy(image: str, config: Config) -> str | None:
    """IfNotPresent for a reference pinned to one build, Always for a moving one."""
    reference = parse_image(image)
    if reference is None:
        return None
    return "IfNotPresent" if reference.pinned(mutable_tags(config)) else "Always"


def _images(found: KubeObject) -> Iterator[tuple[str, str]]:
    """(container description, image) for every container whose image is known."""
    template = pod_template(found)
    if template is None:
        return
    for container in containers(template.spec):
        image = text(container.spec, "image")
        if isinstance(image, str):
            yield f"{found.describe()} {container.describe()}", image


def _check_pinned(found: KubeObject, config: Config) -> Iterator[str]:
    tags = mutable_tags(config)
    for where, image in _images(found):
        reference = parse_image(image)
        if reference is None:
            yield f"{where}: {image!r} is not a valid image reference"
        elif reference.tag is None and reference.digest is None:
            yield (
                f"{where}: image {image!r} has no tag, so Kubernetes pulls whatever 'latest' is at the time; "
                "pin a build-unique tag (build number, commit) or a sha256 digest"
            )
        elif config.get("requireDigest") and reference.digest is None:
            yield f"{where}: image {image!r} is not pinned by digest; this stack requires image@sha256:..."
        elif not reference.pinned(tags):
            yield (
                f"{where}: image {image!r} uses the mutable tag {reference.tag!r}; re-pushing it does not roll "
                "pods and nodes end up running different builds. Use a build-unique tag or a sha256 digest"
            )


def _check_registry(found: KubeObject, config: Config) -> Iterator[str]:
    allowed = [entry.strip().rstrip("/").lower() for entry in config.get("allowedRegistries", [])]
    if not allowed:
        raise NotApplicable("no allowedRegistries configured")
    for where, image in _images(found):
        reference = parse_image(image)
        if reference is None:
            continue
        location = reference.location.lower()
        if not any(location == entry or location.startswith(f"{entry}/") for entry in allowed):
            yield f"{where}: image {image!r} comes from {reference.registry}, which is not one of {allowed}"


def _check_pull_policy(found: KubeObject, config: Config) -> Iterator[str]:
    template = pod_template(found)
    if template is None:
        return
    for container in containers(template.spec):
        where = f"{found.describe()} {container.describe()}"
        image = text(container.spec, "image")
        policy = text(container.spec, "imagePullPolicy")
        wanted = wanted_pull_policy(image, config) if isinstance(image, str) else None
        if policy is UNKNOWN:
            continue
        if policy is None:
            hint = f"; set {wanted}" if wanted else ""
            yield f"{where}: imagePullPolicy is not set, so it depends on the tag implicitly{hint}"
        elif policy not in PULL_POLICIES:
            yield f"{where}: imagePullPolicy {policy!r} is not one of {list(PULL_POLICIES)}"
        elif policy == "Never":
            yield (
                f"{where}: imagePullPolicy Never leaves a pod rescheduled onto a node without the image "
                "unable to start; use IfNotPresent with a pinned image"
            )
        elif wanted == "Always" and policy != "Always":
            yield (
                f"{where}: image {image!r} is a moving reference, so imagePullPolicy must be Always "
                f"(with {policy} nodes keep whatever build they pulled first)"
            )


def _remediate_pull_policy(args: ResourceValidationArgs, config: Config) -> Mapping[str, Any] | None:
    """Sets the pull policy the reference implies where it is missing, and Always for a
    moving reference pulled IfNotPresent. Never and unknown images are left alone."""
    split = split_type(args.resource_type)
    path = template_path(split[1]) if split else None
    namespace = or_default(raw_get(args.props, "metadata", "namespace"), None)
    if namespace is None and args.provider is not None:
        namespace = provider_namespace(plain(args.provider.props))
    exempt = config.get("exemptNamespaces", ())
    if path is None or namespace in exempt or (namespace is UNKNOWN and exempt):
        return None
    if split and exempt_object(config, split[1], namespace, raw_get(args.props, "metadata", "name")):
        return None
    spec = raw_get(args.props, *path, "spec")
    changed = False
    for section in ("initContainers", "containers"):
        for container in raw_mappings(spec, section):
            image, policy = raw_get(container, "image"), raw_get(container, "imagePullPolicy")
            if not isinstance(image, str) or policy is UNKNOWN:
                continue
            wanted = wanted_pull_policy(image, config)
            if wanted and (policy is None or (wanted == "Always" and policy == "IfNotPresent")):
                container["imagePullPolicy"] = wanted
                changed = True
    return args.props if changed else None


PINNED = Rule(
    name="image-pinned",
    description="Container images are pinned to one build: a tag that is never re-pushed, or a sha256 digest.",
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps="Tag images uniquely per build (build number, commit SHA) or pin image@sha256:<digest>.",
    settings=(
        *EXEMPTIONS,
        Setting(
            "requireDigest",
            "Require a sha256 digest on every image, not just an immutable tag.",
            False,
            "boolean",
            None,
        ),
        Setting(
            "mutableTags",
            "Tags that are moved to new images by design and therefore never pin a build (case-insensitive).",
            sorted(MUTABLE_TAGS),
        ),
    ),
    tags=("images",),
)

REGISTRY = Rule(
    name="image-registry-allowed",
    description="Container images come only from the registries (or registry paths) the platform trusts and mirrors.",
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps="Push the image to an allowed registry (or mirror it there) and reference it from there.",
    settings=(
        *EXEMPTIONS,
        Setting(
            "allowedRegistries",
            "Registry hosts or host/path prefixes images may come from, e.g. europe-docker.pkg.dev/acme/apps. "
            "Empty allows every registry.",
            [],
        ),
    ),
    tags=("images", "supply-chain"),
)

PULL_POLICY = Rule(
    name="image-pull-policy",
    description=(
        "Every container sets imagePullPolicy explicitly and consistently with its image: IfNotPresent (or Always) "
        "for pinned images, Always for moving references; never Never."
    ),
    enforcement=EnforcementLevel.REMEDIATE,
    severity=Severity.MEDIUM,
    remediation_steps="Set imagePullPolicy: IfNotPresent for pinned images and Always for mutable tags.",
    settings=(*EXEMPTIONS, PINNED.settings[-1]),
    tags=("images",),
)


def policies() -> list[ResourceValidationPolicy]:
    return [
        resource_policy(PINNED, kube_rule(WORKLOAD_KINDS, _check_pinned)),
        resource_policy(REGISTRY, kube_rule(WORKLOAD_KINDS, _check_registry)),
        resource_policy(PULL_POLICY, kube_rule(WORKLOAD_KINDS, _check_pull_policy), remediate=_remediate_pull_policy),
    ]
