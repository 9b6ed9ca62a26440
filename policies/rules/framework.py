"""How a rule becomes a CrossGuard policy.

A rule is a plain function over `Resource` views (plain props, UNKNOWN for values
not known during preview) and its config; it yields violation messages. The
factories here wrap it in a `ResourceValidationPolicy` / `StackValidationPolicy` with
its enforcement level, severity and config schema, and fill in the schema defaults
so a rule behaves the same with or without a policy config file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceRemediation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .cache import plain_props

Config = Mapping[str, Any]


@dataclass(frozen=True)
class Setting:
    """One key of a policy's config; its default lives here and nowhere else."""

    key: str
    description: str
    default: Any
    # JSON schema type; arrays hold `items` (a JSON schema type) elements.
    type: str = "array"
    items: str | None = "string"
    enum: tuple[str, ...] = ()

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type, "description": self.description, "default": self.default}
        if self.type == "array" and self.items:
            item: dict[str, Any] = {"type": self.items}
            if self.enum:
                item["enum"] = list(self.enum)
            schema["items"] = item
        elif self.enum:
            schema["enum"] = list(self.enum)
        return schema


@dataclass(frozen=True)
class Resource:
    """A resource as rules see it. `props` are the inputs for resource rules and the
    outputs for stack rules (what the engine passes to each)."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    provider_props: dict[str, Any] | None = None
    ignore_changes: tuple[str, ...] = ()
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @staticmethod
    def from_validation_args(args: ResourceValidationArgs | PolicyResource) -> Resource:
        """What a resource policy sees; a stack policy's resources add their links."""
        return Resource(
            type=args.resource_type,
            name=args.name,
            urn=args.urn,
            props=plain_props(args.props),
            provider_props=plain_props(args.provider.props) if args.provider is not None else None,
            ignore_changes=tuple(args.opts.ignore_changes or ()),
        )

    @staticmethod
    def from_policy_resource(resource: PolicyResource) -> Resource:
        return replace(
            Resource.from_validation_args(resource),
            parent=resource.parent.urn if resource.parent is not None else None,
            dependencies=tuple(dependency.urn for dependency in resource.dependencies),
            property_dependencies={
                key: tuple(dependency.urn for dependency in dependencies)
                for key, dependencies in resource.property_dependencies.items()
            },
        )


class NotApplicable(Exception):
    """Raised by a rule for a resource it does not govern (other type, exempt namespace)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Violation:
    message: str
    urn: str | None = None


ResourceCheck = Callable[[Resource, Config], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Config], Iterable[Violation]]
Remediation = Callable[[ResourceValidationArgs, Config], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Rule:
    """What every policy states about itself, whatever it checks."""

    name: str
    description: str
    enforcement: EnforcementLevel
    severity: Severity
    remediation_steps: str
    settings: tuple[Setting, ...] = ()
    url: str | None = None
    framework: PolicyComplianceFramework | None = None
    tags: tuple[str, ...] = ()

    def config(self, given: Config | None) -> dict[str, Any]:
        """Schema defaults overlaid with the given config (the engine applies the same
        defaults; the unit harness and a config-less run rely on these)."""
        merged = {setting.key: setting.default for setting in self.settings}
        merged.update(given or {})
        return merged

    def _schema(self) -> PolicyConfigSchema | None:
        if not self.settings:
            return None
        return PolicyConfigSchema(properties={setting.key: setting.schema() for setting in self.settings})

    def _metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "enforcement_level": self.enforcement,
            "config_schema": self._schema(),
            "severity": self.severity,
            "framework": self.framework,
            "tags": list(self.tags) or None,
            "remediation_steps": self.remediation_steps,
            "url": self.url,
        }


def resource_policy(
    rule: Rule,
    check: ResourceCheck,
    remediate: Remediation | None = None,
    resource_types: frozenset[str] | None = None,
) -> ResourceValidationPolicy:
    """`resource_types`: the only types the rule governs; every other resource is not
    applicable before its props or config are looked at (the engine calls every
    policy for every resource)."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if resource_types is not None and args.resource_type not in resource_types:
            args.not_applicable("not a resource type this policy governs")
            return
        config = rule.config(args.get_config())
        try:
            messages = list(check(Resource.from_validation_args(args), config))
        except NotApplicable as reason:
            args.not_applicable(reason.reason)
            return
        for message in messages:
            report(message, None)

    def fix(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
        assert remediate is not None
        return remediate(args, rule.config(args.get_config()))

    # The SDK also accepts a plain (non-awaitable) result, though its annotation names only awaitables.
    sdk_fix = cast(ResourceRemediation, fix) if remediate else None
    return ResourceValidationPolicy(validate=validate, remediate=sdk_fix, **rule._metadata())


def stack_policy(rule: Rule, check: StackCheck) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        config = rule.config(args.get_config())
        resources = [Resource.from_policy_resource(resource) for resource in args.resources]
        for violation in check(resources, config):
            report(violation.message, violation.urn)

    return StackValidationPolicy(validate=validate, **rule._metadata())
