"""A recording of every resource a program registered under Pulumi's mocks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any]
    parent: str
    provider: str
    depends_on: list[str]
    protect: bool
    options: dict[str, Any] = field(default_factory=dict)
    # The resources each input was computed from (their outputs may be unknown during
    # a preview), by input name.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    @property
    def provider_urn(self) -> str:
        """The provider reference is `urn::id`; the URN part identifies it."""
        return self.provider.rsplit("::", 1)[0] if self.provider else ""

    def input(self, dotted: str) -> Any:
        """`spec.template.spec.containers.0.image` style access into the inputs."""
        node: Any = self.inputs
        for part in dotted.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node


@dataclass
class Graph:
    resources: list[Registered]

    def __iter__(self) -> Iterator[Registered]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def children(self, parent: Registered) -> list[Registered]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, ancestor: Registered) -> list[Registered]:
        found, frontier = [], [ancestor.urn]
        while frontier:
            urn = frontier.pop()
            kids = [r for r in self.resources if r.parent == urn]
            found += kids
            frontier += [k.urn for k in kids]
        return found

    def ancestors(self, resource: Registered) -> list[Registered]:
        chain = []
        while resource.parent and any(r.urn == resource.parent for r in self.resources):
            resource = self.by_urn(resource.parent)
            chain.append(resource)
        return chain

    def kubernetes_objects(self) -> list[Registered]:
        return [r for r in self.resources if r.custom and r.type.startswith("kubernetes:")]
