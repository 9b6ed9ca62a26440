"""The good and bad examples under corpus/: each case lists resources built from
templates.yaml with a few paths set or removed, and the exact policies it must trip.

    - name: mutable tag
      flags: [image-pinned]            # [] for a good example
      config: {image-pinned: {...}}    # optional policy-pack config
      kit: false                       # optional: leave out the namespace kit
      resources:
        - from: deployment
          type: kubernetes:apps/v1:ReplicaSet  # optional: another type with the same props
          name: web-2                  # optional Pulumi name (default: the template's)
          set: {spec.template.spec.containers[0].image: nginx:latest}
          unset: [spec.replicas]
          provider: {namespace: shop}  # optional provider inputs
          ignoreChanges: [spec.replicas]
          dependsOn: [cluster]         # Pulumi names of other resources in the case

`!unknown` stands for a value the engine does not know during preview.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from tests.policies.harness import Res

CORPUS = Path(__file__).resolve().parent / "corpus"
KIT = ("namespace", "default-deny")
_PATH_PART = re.compile(r'\["([^"]+)"\]|\[(\d+)\]|([^.\[\]]+)')


class _Loader(yaml.SafeLoader):
    """YAML with `!unknown` for values not known during preview."""


def _unknown(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return UNKNOWN_STRING_VALUE


_Loader.add_constructor("!unknown", _unknown)


def load(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)


def parse_path(path: str) -> list[str | int]:
    """`spec.containers[0].image`, `metadata.labels["app.kubernetes.io/name"]`."""
    parts: list[str | int] = []
    for quoted, index, plain in _PATH_PART.findall(path):
        parts.append(int(index) if index else quoted or plain)
    return parts


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = parse_path(path)
    node: Any = target
    for index, part in enumerate(parents):
        following = parents[index + 1] if index + 1 < len(parents) else last
        if isinstance(part, str) and part not in node:
            node[part] = [] if isinstance(following, int) else {}
        node = node[part]
    if isinstance(last, int) and last == len(node):
        node.append(value)
    else:
        node[last] = value


def unset_path(target: dict[str, Any], path: str) -> None:
    *parents, last = parse_path(path)
    node: Any = target
    for part in parents:
        node = node[part]
    del node[last]


@dataclass(frozen=True)
class Case:
    source: str
    name: str
    flags: frozenset[str]
    resources: list[Res]
    config: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.source}: {self.name}"


def templates() -> dict[str, Any]:
    found: dict[str, Any] = load(CORPUS / "templates.yaml")
    return found


def mutable_image_deployment() -> Res:
    """A compliant Deployment but for a `latest` image without an imagePullPolicy: the
    pull-policy rule reports it and its remediation sets `Always`."""
    resource, _ = build(
        {
            "from": "deployment",
            "set": {"spec.template.spec.containers[0].image": "registry.example.com/shop/web:latest"},
            "unset": ["spec.template.spec.containers[0].imagePullPolicy"],
        },
        templates(),
    )
    return resource


def build(spec: dict[str, Any], library: dict[str, Any]) -> tuple[Res, list[str]]:
    """A resource from a case entry, and the Pulumi names it depends on."""
    template = library[spec["from"]]
    props = copy.deepcopy(template["props"])
    for path, value in (spec.get("set") or {}).items():
        set_path(props, path, copy.deepcopy(value))
    for path in spec.get("unset") or ():
        unset_path(props, path)
    resource = Res(
        type=spec.get("type", template["type"]),
        name=spec.get("name", template["name"]),
        props=props,
        provider=spec.get("provider"),
        ignore_changes=tuple(spec.get("ignoreChanges", ())),
    )
    return resource, list(spec.get("dependsOn", template.get("dependsOn", ())))


def build_case(source: str, entry: dict[str, Any], library: dict[str, Any]) -> Case:
    specs = list(entry["resources"])
    if entry.get("kit", True):
        specs = [{"from": name} for name in KIT] + specs
    built = [build(spec, library) for spec in specs]
    urns = {resource.name: resource.urn for resource, _ in built}
    resources = [
        Res(
            type=resource.type,
            name=resource.name,
            props=resource.props,
            provider=resource.provider,
            ignore_changes=resource.ignore_changes,
            depends_on=tuple(urns[name] for name in depends_on),
        )
        for resource, depends_on in built
    ]
    assert len(urns) == len(resources), f"{source}: {entry['name']}: duplicate resource names"
    return Case(source, entry["name"], frozenset(entry["flags"]), resources, dict(entry.get("config") or {}))


def cases() -> list[Case]:
    library = templates()
    found = []
    for path in sorted(CORPUS.glob("*.yaml")):
        if path.name == "templates.yaml":
            continue
        found += [build_case(path.stem, entry, library) for entry in load(path)]
    return found
