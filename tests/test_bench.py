"""Fast checks of the benchmark harness (bench/); the benchmarks themselves run with
`python -m bench`, never as tests. The fleet is a valid stack mixing every strategy,
and the raw baseline registers exactly what the components register - the premise
of comparing their timings."""

from __future__ import annotations

import copy

import pytest

from bench.check import custom_resources, differences, registered
from bench.fleet import STACK, fleet
from bench.report import Figure, Measurement, Results, render
from components.config import (
    AppConfig,
    BlueGreenStrategy,
    CanaryStrategy,
    RecreateStrategy,
    RenderCluster,
    RollingStrategy,
    validate_stack_config,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STRATEGY_TYPES = {"recreate", "rolling", "blue-green", "canary"}


def deployments_of(app: AppConfig) -> int:
    """Blue/Green runs both colours; a canary with a canary image runs both tracks."""
    strategy = app.strategy
    if isinstance(strategy, BlueGreenStrategy):
        return 2
    if isinstance(strategy, CanaryStrategy) and strategy.canary_image is not None:
        return 2
    return 1


@pytest.mark.parametrize("apps", [1, 8, 200])
def test_fleet_is_a_valid_stack_of_that_many_apps_without_ci_cd(apps: int) -> None:
    config = validate_stack_config(fleet(apps))

    assert len(config.apps) == apps
    assert isinstance(config.cluster, RenderCluster)
    assert not config.jenkins.enabled
    assert not config.argocd.enabled


def test_fleet_puts_every_strategy_in_every_environment() -> None:
    config = validate_stack_config(fleet(24))

    placed = {(app.environment, app.strategy.type) for app in config.apps}

    assert placed == {(env.name, kind) for env in config.environments for kind in STRATEGY_TYPES}


def test_fleet_has_both_forms_of_each_strategy() -> None:
    config = validate_stack_config(fleet(8))
    strategies = [app.strategy for app in config.apps]

    assert {s.migration is not None for s in strategies if isinstance(s, RecreateStrategy)} == {True, False}
    assert {s.autoscaling is not None for s in strategies if isinstance(s, RollingStrategy)} == {True, False}
    assert {s.active for s in strategies if isinstance(s, BlueGreenStrategy)} == {"blue", "green"}
    assert {bool(s.match.headers) for s in strategies if isinstance(s, CanaryStrategy)} == {True, False}


def test_components_and_raw_baseline_register_the_same_resources() -> None:
    stack = fleet(8)
    components = custom_resources(registered("components", stack))
    raw = custom_resources(registered("raw", stack))

    assert differences(components, raw) == []
    # Not vacuous: every app's Deployments are in the compared set.
    for app in validate_stack_config(stack).apps:
        prefix = f"{STACK}-{app.environment}-{app.name}-"
        found = [name for type_, name in components if type_ == DEPLOYMENT and name.startswith(prefix)]
        assert len(found) == deployments_of(app), app.name


def test_a_changed_input_is_reported_with_its_path_and_both_values() -> None:
    stack = fleet(8)
    changed = copy.deepcopy(stack)
    index = next(i for i, app in enumerate(stack["apps"]) if app["strategy"]["type"] == "recreate")
    app = stack["apps"][index]
    changed["apps"][index]["replicas"] = app["replicas"] + 1

    problems = differences(
        custom_resources(registered("components", stack)), custom_resources(registered("raw", changed))
    )

    key = (DEPLOYMENT, f"{STACK}-{app['environment']}-{app['name']}-deployment")
    # Numbers reach the engine as floats (protobuf Struct).
    before, after = float(app["replicas"]), float(app["replicas"] + 1)
    assert f"{key} input spec.replicas: {before} != {after}" in problems


def measured(*seconds: float) -> list[Measurement]:
    return [Measurement(value, value) for value in seconds]


def test_a_figure_is_the_median_of_paired_ratios_and_misses_above_its_target() -> None:
    samples = {"ours": measured(2.4, 2.0, 9.0), "theirs": measured(2.0, 2.0, 3.0), "fast": measured(2.1, 2.0, 3.1)}
    slow = Figure("P9", "ours / theirs", "ours", "theirs", 1.1)
    fine = Figure("P8", "fast / theirs", "fast", "theirs", 1.1)

    # Per-repetition ratios 1.2, 1.0, 3.0: the load spike of the third run is outvoted.
    assert slow.ratio(samples) == pytest.approx(1.2)
    assert slow.met(samples) is False
    assert fine.met(samples) is True
    page = render(Results(samples=samples, figures=[slow, fine]))
    assert "| P9 | ours / theirs | 2.40 / 2.00 | 1.20 | 1.20 | <= 1.10 | **no** |" in page
    assert "| P8 | fast / theirs | 2.10 / 2.00 | 1.03 | 1.03 | <= 1.10 | yes |" in page
