"""Blue/Green: a Deployment per colour, the stable Service on the active colour (and
only after that colour is rolled out), the preview Service on the idle one."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, validate_stack_config
from tests.conftest import ProgramRunner
from tests.graph import Graph, Registered
from tests.workload_graph import (
    DEPLOYMENT,
    PDB,
    SERVICE,
    annotations_of,
    container,
    depends_on,
    image,
    obj,
    ours,
    pod_labels,
    run_stack,
    selected_deployments,
    selects,
    stack,
)

IMAGES = {"blue": image("checkout", "4.0.2-b301"), "green": image("checkout", "4.1.0-b318")}
OTHER = {"blue": "green", "green": "blue"}
TRAFFIC = "delivery-platform/traffic-weight"


def checkout(active: str, **strategy: Any) -> dict[str, Any]:
    return {
        "name": "checkout",
        "environment": "prod",
        "replicas": 3,
        "strategy": {
            "type": "blue-green",
            "active": active,
            "blue": {"image": IMAGES["blue"]},
            "green": {"image": IMAGES["green"]},
        }
        | strategy,
    }


def run(run_program: ProgramRunner, app: dict[str, Any]) -> Graph:
    return run_stack(run_program, stack(app, environments=[{"name": "prod"}]))


def selected_by(graph: Graph, budget: Registered) -> list[Registered]:
    return [d for d in ours(graph, DEPLOYMENT) if selects(budget.input("spec.selector.matchLabels"), pod_labels(d))]


@pytest.mark.parametrize("active", ["blue", "green"])
def test_stable_service_follows_the_active_colour_only_once_it_is_rolled_out(
    run_program: ProgramRunner, active: str
) -> None:
    graph = run(run_program, checkout(active))
    idle = OTHER[active]
    colours = {colour: obj(graph, DEPLOYMENT, f"checkout-{colour}") for colour in IMAGES}
    for colour, deployment in colours.items():
        assert container(deployment)["image"] == IMAGES[colour]
        assert deployment.input("metadata.namespace") == "prod"
        assert deployment.input("spec.strategy.rollingUpdate.maxUnavailable") == 0

    stable = obj(graph, SERVICE, "checkout")
    preview = obj(graph, SERVICE, "checkout-preview")
    assert selected_deployments(graph, stable) == [colours[active]]
    assert selected_deployments(graph, preview) == [colours[idle]]
    # The switch waits for the active colour; the idle one changes only after it.
    assert depends_on(stable, colours[active])
    assert not depends_on(stable, colours[idle])
    assert depends_on(colours[idle], stable)
    assert depends_on(preview, colours[idle])


def test_a_switch_changes_both_colours_so_the_target_is_awaited_healthy_first(run_program: ProgramRunner) -> None:
    """A rollback flips only `active`: neither colour's image or size changes. Pulumi
    awaits a Deployment only when it updates it, so the colour taking the traffic must
    change too (its traffic annotation), or the Service would move to pods nobody
    checked."""
    before = {colour: obj(run(run_program, checkout("blue")), DEPLOYMENT, f"checkout-{colour}") for colour in IMAGES}
    after = {colour: obj(run(run_program, checkout("green")), DEPLOYMENT, f"checkout-{colour}") for colour in IMAGES}
    for colour in IMAGES:
        assert before[colour].input("spec") == after[colour].input("spec"), "nothing but the traffic changes"
        assert annotations_of(before[colour]) != annotations_of(after[colour])
    assert annotations_of(after["green"])[TRAFFIC] == annotations_of(before["blue"])[TRAFFIC] == "100"
    assert annotations_of(after["blue"])[TRAFFIC] == annotations_of(before["green"])[TRAFFIC] == "0"
    # ...and that annotation is what the await condition is attached to.
    assert annotations_of(after["green"])["pulumi.com/waitFor"].startswith("jsonpath=")


def test_promotion_switches_selectors_and_keeps_every_resource_in_place(run_program: ProgramRunner) -> None:
    before = run(run_program, checkout("blue"))
    after = run(run_program, checkout("green"))
    # Same URNs (only inputs change), so promotion is an update, never a replacement.
    assert sorted(r.urn for r in before) == sorted(r.urn for r in after)
    stable_before, stable_after = obj(before, SERVICE, "checkout"), obj(after, SERVICE, "checkout")
    assert selected_deployments(before, stable_before)[0].input("metadata.name") == "checkout-blue"
    assert selected_deployments(after, stable_after)[0].input("metadata.name") == "checkout-green"


@pytest.mark.parametrize(("idle_replicas", "expected"), [(None, 3), (0, 0), (1, 1)])
def test_idle_colour_keeps_full_size_for_instant_rollback_unless_scaled_down(
    run_program: ProgramRunner, idle_replicas: int | None, expected: int
) -> None:
    strategy = {} if idle_replicas is None else {"idleReplicas": idle_replicas}
    graph = run(run_program, checkout("green", **strategy))
    assert obj(graph, DEPLOYMENT, "checkout-green").input("spec.replicas") == 3
    assert obj(graph, DEPLOYMENT, "checkout-blue").input("spec.replicas") == expected
    # Every colour with 2 or more pods has a disruption budget over exactly its pods.
    budgets = {budget.input("metadata.name"): budget for budget in ours(graph, PDB)}
    assert set(budgets) == {"checkout-green"} | ({"checkout-blue"} if expected >= 2 else set())
    for name, budget in budgets.items():
        assert selected_by(graph, budget) == [obj(graph, DEPLOYMENT, name)]


def test_scaling_the_idle_colour_to_zero_warns_that_a_rollback_is_no_longer_instant() -> None:
    def warnings(**strategy: Any) -> list[str]:
        return validate_stack_config(stack(checkout("blue", **strategy), environments=[{"name": "prod"}])).warnings()

    assert warnings(idleReplicas=0) == [
        "apps[0].strategy.idleReplicas is 0: the colour a switch leaves idle is scaled down in the same `pulumi up`, "
        "so rolling back means waiting for cold pods; set it once the new colour has proven itself and remove it "
        "before the next switch"
    ]
    assert warnings(idleReplicas=1) == warnings() == []


def test_component_holds_two_deployments_two_services_their_budgets_and_the_account(
    run_program: ProgramRunner,
) -> None:
    graph = run(run_program, checkout("blue"))
    component = graph.one("delivery-platform:workloads:AppWorkload")
    children = graph.children(component)
    assert sorted(r.type for r in children) == sorted(
        [DEPLOYMENT, DEPLOYMENT, SERVICE, SERVICE, PDB, PDB, "kubernetes:core/v1:ServiceAccount"]
    )
    assert {r.input("metadata.namespace") for r in children} == {"prod"}


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        pytest.param(
            checkout("purple"),
            "delivery-platform:apps[0].strategy.active: must be one of 'blue' or 'green'",
            id="colour",
        ),
        pytest.param(
            checkout("blue") | {"image": IMAGES["blue"]},
            "delivery-platform:apps[0].image: blue-green apps set strategy.blue.image and strategy.green.image",
            id="app-level-image",
        ),
        pytest.param(
            checkout("blue", green={"image": "registry.example.com/shop/checkout:latest"}),
            "delivery-platform:apps[0].strategy.green.image: 'registry.example.com/shop/checkout:latest' uses the "
            "mutable tag 'latest'",
            id="mutable-colour-image",
        ),
        pytest.param(
            checkout("blue", idleReplicas=-1),
            "delivery-platform:apps[0].strategy.idleReplicas: must be >= 0",
            id="idle-replicas",
        ),
    ],
)
def test_bad_blue_green_settings_are_rejected_naming_the_key(app: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config(stack(app, environments=[{"name": "prod"}]))
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems
