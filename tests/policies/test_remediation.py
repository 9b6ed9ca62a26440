"""image-pull-policy remediation: it sets the pull policy the image reference implies,
only where that is safe, and keeps secrets and unknown values intact, as the engine
runs it (remediations first, then analysis of the remediated props)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from tests.policies.corpus import build, templates
from tests.policies.harness import Pack, Res

CONTAINER = "spec.template.spec.containers[0]"


def _deployment(set_: dict[str, Any] | None = None, unset: list[str] | None = None, **kwargs: Any) -> Res:
    spec: dict[str, Any] = {"from": "deployment", "set": set_ or {}, "unset": unset or [], **kwargs}
    resource, _ = build(spec, templates())
    return resource


def _containers(props: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = props["spec"]["template"]["spec"]["containers"]
    return containers


def test_missing_policy_becomes_if_not_present_for_a_pinned_image() -> None:
    resource = _deployment(unset=[f"{CONTAINER}.imagePullPolicy"])

    remediated = Pack().remediate(resource)

    assert _containers(remediated)[0]["imagePullPolicy"] == "IfNotPresent"


def test_moving_reference_is_pulled_always() -> None:
    resource = _deployment({f"{CONTAINER}.image": "registry.example.com/shop/web:latest"})
    assert _containers(dict(resource.props))[0]["imagePullPolicy"] == "IfNotPresent"

    remediated = Pack().remediate(resource)

    assert _containers(remediated)[0]["imagePullPolicy"] == "Always"


def test_init_containers_and_cron_job_templates_are_remediated() -> None:
    cron, _ = build(
        {"from": "cronjob", "unset": ["spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy"]},
        templates(),
    )
    with_init = _deployment({"spec.template.spec.initContainers[0]": {"name": "wait", "image": "busybox:1.37.0"}})

    cron_spec = Pack().remediate(cron)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    init = Pack().remediate(with_init)["spec"]["template"]["spec"]["initContainers"][0]

    assert cron_spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert init["imagePullPolicy"] == "IfNotPresent"


def test_never_and_unknown_images_are_left_alone() -> None:
    never = _deployment({f"{CONTAINER}.imagePullPolicy": "Never"})
    unknown = _deployment({f"{CONTAINER}.image": UNKNOWN_STRING_VALUE}, unset=[f"{CONTAINER}.imagePullPolicy"])
    pack = Pack()

    assert pack.remediate(never) == never.wire
    assert pack.remediate(unknown) == unknown.wire


def test_exempt_namespaces_are_left_alone() -> None:
    named = _deployment({"metadata.namespace": "kube-system"}, unset=[f"{CONTAINER}.imagePullPolicy"])
    from_provider = _deployment(
        unset=["metadata.namespace", f"{CONTAINER}.imagePullPolicy"], provider={"namespace": "kube-system"}
    )
    pack = Pack()

    assert pack.remediate(named) == named.wire
    assert pack.remediate(from_provider) == from_provider.wire


def test_secrets_survive_remediation() -> None:
    secret = {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": "hunter2"}
    resource = _deployment(
        {f"{CONTAINER}.env": [{"name": "DB_PASSWORD", "value": secret}]}, unset=[f"{CONTAINER}.imagePullPolicy"]
    )

    remediated = Pack().remediate(resource)

    assert _containers(remediated)[0]["env"][0]["value"] == secret
    assert _containers(remediated)[0]["imagePullPolicy"] == "IfNotPresent"


def test_analysis_after_remediation_finds_nothing_to_report() -> None:
    resource = _deployment(unset=[f"{CONTAINER}.imagePullPolicy"])
    pack = Pack()
    assert {finding.policy for finding in pack.analyze(resource)} == {"image-pull-policy"}

    remediated = Res(type=resource.type, name=resource.name, props=pack.remediate(resource))

    assert pack.analyze(remediated) == []


def test_without_the_remediate_level_the_violation_blocks() -> None:
    resource = _deployment(unset=[f"{CONTAINER}.imagePullPolicy"])
    pack = Pack({"image-pull-policy": "mandatory"})

    findings = pack.analyze(resource)

    assert pack.remediate(resource) == resource.wire
    assert [(f.policy, f.enforcement) for f in findings] == [("image-pull-policy", EnforcementLevel.MANDATORY)]
