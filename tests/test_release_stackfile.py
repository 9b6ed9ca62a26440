"""The release tool's side of the stack file: it reads the stack's settings without
its secrets, and records a new build's image in the one setting a build may change,
leaving every other byte of the file alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config import ConfigError
from components.release.stackfile import StackFileError, app_index, read_stack_config, set_next_image

STACK_FILE = """\
# The shop's test stack.
config:
  delivery-platform:cluster:
    kind: render
    outputDir: build/manifests
  delivery-platform:environments:
    - name: test
      allowFromNamespaces: [gateway]
  delivery-platform:jenkins:
    enabled: false
  delivery-platform:argocd:
    chart: {skip: true}
  delivery-platform:registryPassword:
    secure: v1:c2VjcmV0:bm90LWRlY3J5cHRlZA==
  delivery-platform:apps:
    - name: catalog   # rolling
      environment: test
      delivery: gitops
      image: "registry.example.com/shop/catalog:2.3.1-b77"
      strategy: {type: rolling}
    - name: checkout
      environment: test
      delivery: gitops
      strategy:
        type: blue-green
        active: blue
        blue: {image: registry.example.com/shop/checkout:4.0.2-b301}
        green: {image: registry.example.com/shop/checkout:4.0.2-b301}
    - name: storefront
      environment: test
      delivery: gitops
      image: registry.example.com/shop/storefront:7.2.0-b903
      strategy:
        type: canary
        weight: 0  # no canary yet
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.test.yaml").write_text(STACK_FILE, encoding="utf-8")
    return tmp_path


def deploy(project: Path, app: str, image: str) -> str:
    config = read_stack_config(project, "test")
    index = app_index(config, app)
    return set_next_image(project, "test", index, config.apps[index], image)


def changed_lines(project: Path) -> list[tuple[str, str]]:
    before = STACK_FILE.splitlines()
    after = (project / "Pulumi.test.yaml").read_text(encoding="utf-8").splitlines()
    assert len(before) == len(after) or len(after) == len(before) + 1
    return [(old, new) for old, new in zip(before, after, strict=False) if old != new]


def test_secure_values_are_dropped_unread(project: Path) -> None:
    # registryPassword is not a config key the models know: read as a plain value it
    # would be an unknown-key error.
    config = read_stack_config(project, "test")
    assert [app.name for app in config.apps] == ["catalog", "checkout", "storefront"]


def test_a_rolling_build_replaces_the_image_and_nothing_else(project: Path) -> None:
    assert deploy(project, "catalog", "registry.example.com/shop/catalog:2.4.0-b80") == "image"
    assert changed_lines(project) == [
        (
            '      image: "registry.example.com/shop/catalog:2.4.0-b80"'.replace("2.4.0-b80", "2.3.1-b77"),
            '      image: "registry.example.com/shop/catalog:2.4.0-b80"',
        )
    ]
    assert read_stack_config(project, "test").apps[0].image == "registry.example.com/shop/catalog:2.4.0-b80"


def test_a_blue_green_build_goes_to_the_idle_colour(project: Path) -> None:
    assert deploy(project, "checkout", "registry.example.com/shop/checkout:4.1.0-b318") == "strategy.green.image"
    strategy = read_stack_config(project, "test").apps[1].strategy
    assert strategy.active == "blue"  # type: ignore[union-attr]
    assert strategy.blue.image.endswith("4.0.2-b301")  # type: ignore[union-attr]
    assert strategy.green.image.endswith("4.1.0-b318")  # type: ignore[union-attr]


def test_a_canary_build_fills_the_canary_slot_and_keeps_comments(project: Path) -> None:
    assert deploy(project, "storefront", "registry.example.com/shop/storefront:7.3.0-b921") == "strategy.canaryImage"
    text = (project / "Pulumi.test.yaml").read_text(encoding="utf-8")
    assert "# The shop's test stack." in text
    assert "weight: 0  # no canary yet" in text
    assert "- name: catalog   # rolling" in text
    strategy = read_stack_config(project, "test").apps[2].strategy
    assert strategy.canary_image == "registry.example.com/shop/storefront:7.3.0-b921"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "image",
    ["registry.example.com/shop/catalog:latest", "registry.example.com/shop/catalog", "not a reference"],
)
def test_an_image_that_is_not_pinned_leaves_the_file_untouched(project: Path, image: str) -> None:
    with pytest.raises((ConfigError, ValueError)):
        deploy(project, "catalog", image)
    assert (project / "Pulumi.test.yaml").read_text(encoding="utf-8") == STACK_FILE


def test_unknown_app_and_missing_stack_are_reported(project: Path) -> None:
    with pytest.raises(StackFileError, match="no app 'basket'"):
        app_index(read_stack_config(project, "test"), "basket")
    with pytest.raises(StackFileError, match="does not exist"):
        read_stack_config(project, "prod")


def test_a_canary_slot_is_added_to_a_flow_style_strategy(tmp_path: Path) -> None:
    flow = STACK_FILE.replace(
        "      strategy:\n        type: canary\n        weight: 0  # no canary yet\n",
        "      strategy: {type: canary, weight: 0}\n",
    )
    (tmp_path / "Pulumi.test.yaml").write_text(flow, encoding="utf-8")
    deploy(tmp_path, "storefront", "registry.example.com/shop/storefront:7.3.0-b921")
    text = (tmp_path / "Pulumi.test.yaml").read_text(encoding="utf-8")
    assert text.endswith(
        "      strategy: {canaryImage: registry.example.com/shop/storefront:7.3.0-b921, type: canary, weight: 0}\n"
    )
