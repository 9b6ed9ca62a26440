"""Binary Authorization: which container images the cluster admits."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import ConfigModel, FieldProblem, check

# registry/path/to/image, optionally ending in * (one path segment) or ** (any depth),
# as Binary Authorization's admission allow-list takes it.
ImagePattern = Annotated[
    str, Field(pattern=r"^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._-]*)*(/\*\*?|\*\*?)?$", max_length=255)
]
Attestor = Annotated[str, Field(pattern=r"^projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/attestors/[A-Za-z0-9_-]{1,64}$")]


class BinaryAuthorizationConfig(ConfigModel):
    """The cluster evaluates the project's Binary Authorization policy, which this stack
    manages: images from the stack's registry (registry.server) and the `admit`
    patterns run, Google's GKE system images run (the global policy), and every other
    image needs an attestation by `attestors` (none given: it is denied). The policy is
    one per project: let one stack per project manage it."""

    # enforce: blocks and logs; dry-run: only logs what it would block; disabled: no evaluation.
    mode: Literal["enforce", "dry-run", "disabled"] = "enforce"
    manage_policy: bool = True
    admit: list[ImagePattern] = Field(default_factory=list)
    attestors: list[Attestor] = Field(default_factory=list)

    @model_validator(mode="after")
    def _policy_settings_need_the_policy(self) -> BinaryAuthorizationConfig:
        unmanaged = self.mode == "disabled" or not self.manage_policy
        check(
            [
                FieldProblem(key, "only applies to a policy this stack manages (mode enforce or dry-run, managePolicy)")
                for key, value in (("admit", self.admit), ("attestors", self.attestors))
                if value and unmanaged
            ]
        )
        return self

    @property
    def evaluates(self) -> bool:
        return self.mode != "disabled"
