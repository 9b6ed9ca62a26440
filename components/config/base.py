"""Building blocks shared by every config model: strict camelCase models, DNS names,
image references, and the error type that carries a field path."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# Tags that are moved to a new image by design. Kubernetes keeps running the old
# image when the tag is re-pushed (pods only pull on creation), so a deploy that
# changes nothing but the image behind such a tag silently does nothing.
MUTABLE_TAGS = frozenset(
    {
        "latest",
        "stable",
        "main",
        "master",
        "dev",
        "develop",
        "edge",
        "nightly",
        "head",
        "canary",
        "release",
        "prod",
        "production",
        "staging",
        "test",
        "current",
    }
)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# A Kubernetes label value has at most this many characters.
LABEL_VALUE_MAX = 63
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REF = re.compile(
    rf"^(?P<repository>(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


class ConfigModel(BaseModel):
    """Config keys are camelCase like every Pulumi config; unknown keys are errors so
    a typo never silently falls back to a default."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


@dataclass(frozen=True)
class FieldProblem:
    """One problem found by a cross-field rule, relative to the model that raised it."""

    path: str
    message: str


class CrossFieldError(ValueError):
    """Raised by model validators so each problem is reported under its own key
    instead of under the model that found it."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


def check(problems: list[FieldProblem]) -> None:
    if problems:
        raise CrossFieldError(problems)


def repeated(path: str, values: Sequence[Any], message: Callable[[Any], str]) -> list[FieldProblem]:
    """A problem at `path` (formatted with the index) for each value already seen earlier
    in `values`, e.g. `repeated("nodePools[{}].name", names, lambda n: f"duplicate {n!r}")`."""
    return [FieldProblem(path.format(i), message(value)) for i, value in enumerate(values) if value in values[:i]]


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a DNS label (lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]


@dataclass(frozen=True)
class ImageRef:
    """A parsed container image reference that is pinned to one build."""

    repository: str
    tag: str | None
    digest: str | None

    @property
    def version(self) -> str:
        """The value for the `app.kubernetes.io/version` label. A tag may be longer than
        a label value and may start or end with `_`, `.` or `-`, which a label value may
        not: it is cut to 63 characters and trimmed to its first and last alphanumeric
        (`1.0.0-` -> `1.0.0`, `_rc1` -> `rc1`). A tag with no letter or digit is
        rejected by parse_image."""
        if self.tag:
            return _label_value(self.tag)
        assert self.digest is not None
        return self.digest.removeprefix("sha256:")[:12]

    def __str__(self) -> str:
        ref = self.repository
        if self.tag:
            ref += f":{self.tag}"
        if self.digest:
            ref += f"@{self.digest}"
        return ref


def _label_value(text: str) -> str:
    return text[:LABEL_VALUE_MAX].strip("-_.")


def parse_image(value: str) -> ImageRef:
    match = _IMAGE_REF.fullmatch(value)
    if not match:
        raise ValueError(f"{value!r} is not a valid image reference")
    tag, digest = match["tag"], match["digest"]
    if not tag and not digest:
        raise ValueError(
            f"{value!r} has no tag or digest; pin an immutable tag (build number, commit) or a sha256 digest"
        )
    if tag and not digest and tag.lower() in MUTABLE_TAGS:
        raise ValueError(
            f"{value!r} uses the mutable tag {tag!r}; re-pushing it does not roll pods. "
            "Use a unique tag per build or a sha256 digest"
        )
    if tag and not _label_value(tag):
        raise ValueError(f"{value!r} has a tag without a letter or digit; it cannot label the pods' version")
    return ImageRef(repository=match["repository"], tag=tag, digest=digest)


def _pinned_image(value: str) -> str:
    return str(parse_image(value))


PinnedImage = Annotated[str, AfterValidator(_pinned_image)]
