"""Standard clusters' node pools: size, machines, taints and how their nodes upgrade."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import ConfigModel, FieldProblem, check
from .gcp import Duration, GkeName


class Taint(ConfigModel):
    key: str = Field(min_length=1)
    value: str = ""
    effect: Literal["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"] = "NO_SCHEDULE"


class SurgeUpgrade(ConfigModel):
    """Nodes are replaced in place: up to maxSurge extra nodes are added and up to
    maxUnavailable are drained at a time. Cheap; a bad upgrade is only undone by
    another upgrade."""

    strategy: Literal["surge"] = "surge"
    max_surge: int = Field(default=1, ge=0, le=100)
    max_unavailable: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _progresses(self) -> SurgeUpgrade:
        check(
            [FieldProblem("maxSurge", "maxSurge and maxUnavailable cannot both be 0: the upgrade could never progress")]
            if self.max_surge == 0 and self.max_unavailable == 0
            else []
        )
        return self


class BlueGreenUpgrade(ConfigModel):
    """A whole new (green) set of nodes is created, the old (blue) nodes are drained
    in batches, and blue is kept for poolSoak so a bad upgrade is rolled back by
    moving the pods back. Needs quota for twice the pool while it runs."""

    strategy: Literal["blue-green"]
    # Share of the blue nodes drained per batch.
    batch_percentage: float = Field(default=0.25, gt=0, le=1)
    batch_soak: Duration = "300s"
    pool_soak: Duration = "3600s"


NodeUpgrade = Annotated[SurgeUpgrade | BlueGreenUpgrade, Field(discriminator="strategy")]


class NodePoolConfig(ConfigModel):
    """A separately managed node pool; its nodes are always hardened (COS_CONTAINERD,
    shielded with secure boot, GKE metadata server, auto-repair and auto-upgrade)."""

    name: GkeName
    machine_type: str = "e2-standard-4"
    # Per zone, as the GKE API counts them.
    min_nodes: int = Field(default=1, ge=0, le=1000)
    max_nodes: int = Field(default=3, ge=1, le=1000)
    # Nodes per zone when the pool is created (default: minNodes); later the autoscaler decides.
    initial_nodes: int | None = Field(default=None, ge=0, le=1000)
    spot: bool = False
    disk_size_gb: int = Field(default=100, ge=10, le=65536)
    disk_type: Literal["pd-standard", "pd-balanced", "pd-ssd"] = "pd-balanced"
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    upgrade: NodeUpgrade = Field(default_factory=SurgeUpgrade)

    @model_validator(mode="after")
    def _sizes(self) -> NodePoolConfig:
        problems = []
        if self.min_nodes > self.max_nodes:
            problems.append(FieldProblem("minNodes", f"{self.min_nodes} is greater than maxNodes {self.max_nodes}"))
        if self.initial_nodes is not None and not self.min_nodes <= self.initial_nodes <= self.max_nodes:
            problems.append(FieldProblem("initialNodes", "must lie between minNodes and maxNodes"))
        check(problems)
        return self

    @property
    def initial_node_count(self) -> int:
        return self.min_nodes if self.initial_nodes is None else self.initial_nodes
