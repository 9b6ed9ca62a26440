"""The release tool (python -m components.release) on the real engine: what it renders
for the release repository holds no Secret and no secret value, the same config always
renders the same bytes, `check` tells an up-to-date release directory from a stale one,
and `deploy` records a build's image in the stack file and renders it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import PROJECT
from tests.e2e.pulumi_cli import REPO, release_tool, toolchain_env

STACK = "release"
# Known plain text of the stack's secrets, so the output can be searched for them.
SECRET_VALUES = {"registryPassword": "s3cr3t-registry-password-0xC0FFEE"}
REGISTRY = "registry.example.com/shop"


def stack_config() -> dict[str, Any]:
    return {
        "cluster": {"kind": "render", "outputDir": "build/manifests"},
        "environments": [{"name": "shop", "allowFromNamespaces": ["gateway"]}],
        "registry": {"server": REGISTRY, "passwordKey": "registryPassword"},
        "jenkins": {"enabled": False},
        "argocd": {"chart": {"skip": True}, "releaseHookApiServerCidrs": ["10.0.0.1/32"]},
        "apps": [
            {
                "name": "checkout",
                "environment": "shop",
                "delivery": "gitops",
                # A Secret referenced by name: the reference is rendered, never its data.
                "env": [{"name": "DB_PASSWORD", "secret": "checkout-db", "key": "password"}],
                "strategy": {
                    "type": "blue-green",
                    "active": "blue",
                    "blue": {"image": f"{REGISTRY}/checkout:4.0.2-b301"},
                    "green": {"image": f"{REGISTRY}/checkout:4.0.2-b301"},
                },
            },
            {
                "name": "storefront",
                "environment": "shop",
                "delivery": "gitops",
                "image": f"{REGISTRY}/storefront:7.2.0-b903",
                "strategy": {"type": "canary"},
            },
            {
                "name": "orders",
                "environment": "shop",
                "delivery": "gitops",
                "image": f"{REGISTRY}/orders:1.8.0-b412",
                "secrets": ["orders-db"],
                "strategy": {"type": "recreate", "migration": {"command": ["/app/migrate"]}},
            },
            {
                "name": "catalog",
                "environment": "shop",
                "delivery": "gitops",
                "image": f"{REGISTRY}/catalog:2.3.1-b77",
                "strategy": {"type": "rolling", "autoscaling": {"minReplicas": 2, "maxReplicas": 6}},
            },
            {
                # Applied by Pulumi: never rendered for Argo CD.
                "name": "search",
                "environment": "shop",
                "image": f"{REGISTRY}/search:1.0.0-b1",
                "strategy": {"type": "rolling"},
            },
        ],
    }


class Tool:
    def __init__(self, project: Path) -> None:
        self.project = project
        self.environment = {**toolchain_env(), "PYTHONPATH": str(REPO)}

    def pulumi(self, *args: str) -> str:
        result = subprocess.run(
            ["pulumi", *args], cwd=self.project, env=self.environment, capture_output=True, text=True, check=True
        )
        return result.stdout

    def run(self, *args: str, stack: str = STACK, project: Path | None = None) -> subprocess.CompletedProcess[str]:
        return release_tool([*args, "--stack", stack, "--project-dir", str(project or self.project)], self.environment)


@pytest.fixture(scope="module")
def tool(tmp_path_factory: pytest.TempPathFactory) -> Tool:
    """A project whose stack file holds the config and its secrets, encrypted by the
    engine with the passphrase provider as a user's would be."""
    project = tmp_path_factory.mktemp("release-project")
    (project / "Pulumi.yaml").write_text(yaml.safe_dump({"name": PROJECT, "runtime": "python"}), encoding="utf-8")
    stack_file = project / f"Pulumi.{STACK}.yaml"
    stack_file.write_text(
        yaml.safe_dump({"config": {f"{PROJECT}:{key}": value for key, value in stack_config().items()}}),
        encoding="utf-8",
    )
    made = Tool(project)
    (project / "state").mkdir()
    made.environment["PULUMI_BACKEND_URL"] = f"file://{project / 'state'}"
    made.pulumi("stack", "init", STACK, "--secrets-provider", "passphrase")
    for key, value in SECRET_VALUES.items():
        made.pulumi("config", "set", "--stack", STACK, "--secret", f"{PROJECT}:{key}", value)
    assert "secure:" in stack_file.read_text(encoding="utf-8")
    return made


def files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_renders_gitops_apps_only_with_no_secret_in_them(tool: Tool, tmp_path: Path) -> None:
    result = tool.run("render", "--release-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)["paths"]) == [
        "shop/catalog",
        "shop/checkout",
        "shop/orders",
        "shop/storefront",
    ]
    assert not (tmp_path / "shop" / "search").exists()
    documents = [
        (name, document)
        for name, content in files(tmp_path).items()
        if name.endswith(".yaml")
        for document in yaml.safe_load_all(content)
    ]
    assert documents
    assert [name for name, document in documents if document["kind"] == "Secret"] == []
    for name, content in files(tmp_path).items():
        for secret in SECRET_VALUES.values():
            assert secret.encode() not in content, f"{name} holds a secret value"
    # Secrets are referenced by name, as pods use them.
    checkout = yaml.safe_load((tmp_path / "shop" / "checkout" / "deployment-checkout-blue.yaml").read_text())
    (container,) = checkout["spec"]["template"]["spec"]["containers"]
    (variable,) = [v for v in container["env"] if v["name"] == "DB_PASSWORD"]
    assert variable["valueFrom"]["secretKeyRef"] == {"name": "checkout-db", "key": "password"}


def test_the_same_config_renders_the_same_bytes_and_check_tells_stale_from_current(tool: Tool, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert tool.run("render", "--release-dir", str(first)).returncode == 0
    assert tool.run("render", "--release-dir", str(second)).returncode == 0
    assert files(first) == files(second)
    current = tool.run("check", "--release-dir", str(first))
    assert current.returncode == 0, current.stdout + current.stderr
    assert json.loads(current.stdout)["outOfDate"] == []
    # A rendered file changed by hand (or a reverted release) is reported by its app.
    route_file = first / "shop" / "storefront" / "httproute-storefront.yaml"
    route = yaml.safe_load(route_file.read_text())
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = 8081
    route_file.write_text(yaml.safe_dump(route))
    stale = tool.run("check", "--release-dir", str(first))
    assert stale.returncode == 1
    assert json.loads(stale.stdout)["outOfDate"] == ["shop/storefront"]


def test_a_directory_of_an_app_taken_out_of_the_config_is_removed(tool: Tool, tmp_path: Path) -> None:
    release = tmp_path / "release"
    assert tool.run("render", "--release-dir", str(release)).returncode == 0
    # Another stack's directory, and a directory nobody rendered, stay.
    (release / "elsewhere" / "app").mkdir(parents=True)
    (release / "elsewhere" / "app" / ".delivery-platform").write_text(json.dumps({"stack": "other"}))
    (release / "shop" / "hand-made").mkdir()
    config_path = tool.project / f"Pulumi.{STACK}.yaml"
    original = config_path.read_text(encoding="utf-8")
    document = yaml.safe_load(original)
    document["config"][f"{PROJECT}:apps"] = [
        app for app in document["config"][f"{PROJECT}:apps"] if app["name"] != "catalog"
    ]
    config_path.write_text(yaml.safe_dump(document), encoding="utf-8")
    try:
        result = tool.run("render", "--release-dir", str(release))
    finally:
        config_path.write_text(original, encoding="utf-8")
    assert result.returncode == 0, result.stderr
    assert "shop/catalog" in json.loads(result.stdout)["paths"]
    assert not (release / "shop" / "catalog").exists()
    assert (release / "elsewhere" / "app").exists()
    assert (release / "shop" / "hand-made").exists()


def test_deploy_records_the_build_in_the_stack_file_and_renders_it(tool: Tool, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    stack_file = project / f"Pulumi.{STACK}.yaml"
    original = (tool.project / f"Pulumi.{STACK}.yaml").read_text(encoding="utf-8")
    stack_file.write_text(original, encoding="utf-8")
    new_image = f"{REGISTRY}/storefront:7.3.0-b921"
    result = tool.run(
        "deploy",
        "--app",
        "storefront",
        "--image",
        new_image,
        "--build",
        "921",
        "--release-dir",
        str(tmp_path / "r"),
        project=project,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["app"] == "storefront"
    assert summary["image"] == new_image
    assert summary["build"] == "921"
    assert summary["setting"] == "apps[1].strategy.canaryImage"
    # The canary slot, and nothing else, changed; the secrets stayed encrypted as they were.
    changed = set(stack_file.read_text(encoding="utf-8").splitlines()) ^ set(original.splitlines())
    assert changed == {next(line for line in stack_file.read_text().splitlines() if new_image in line)}
    canary = yaml.safe_load((tmp_path / "r" / "shop" / "storefront" / "deployment-storefront-canary.yaml").read_text())
    (container,) = canary["spec"]["template"]["spec"]["containers"]
    assert container["image"] == new_image
    # A build for an app Pulumi applies is refused: it has no release directory.
    refused = tool.run(
        "deploy",
        "--app",
        "search",
        "--image",
        f"{REGISTRY}/search:1.0.1-b2",
        "--build",
        "2",
        "--release-dir",
        str(tmp_path / "r"),
        project=project,
    )
    assert refused.returncode == 1
    assert "delivered by Pulumi" in refused.stderr


def test_the_prod_stack_renders_its_apps_where_its_applications_point(tmp_path: Path) -> None:
    prod = Tool(REPO).run("render", "--release-dir", str(tmp_path), stack="prod")
    assert prod.returncode == 0, prod.stderr
    config = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text(encoding="utf-8"))["config"]
    expected = sorted(f"{app['environment']}/{app['name']}" for app in config[f"{PROJECT}:apps"])
    assert sorted(json.loads(prod.stdout)["paths"]) == expected
    for path in expected:
        kinds = {yaml.safe_load(p.read_text())["kind"] for p in (tmp_path / path).glob("*.yaml")}
        assert "Deployment" in kinds
        assert "Secret" not in kinds


def test_ci_release_commits_the_rendered_apps_once(tmp_path: Path) -> None:
    """scripts/ci-release.sh, as CI runs it after an up of the dev stack: one commit with
    the rendered apps, and none when nothing changed."""
    environment = {**toolchain_env(), "GIT_TERMINAL_PROMPT": "0"}

    def git(*args: str, cwd: Path = tmp_path) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, env=environment, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "--quiet", "--bare", "--initial-branch=main", "releases.git")
    git("clone", "--quiet", "releases.git", "checkout")
    checkout = tmp_path / "checkout"
    git(
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t.invalid",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "start",
        cwd=checkout,
    )
    git("push", "--quiet", "origin", "HEAD:main", cwd=checkout)

    def ci_release() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(REPO / "scripts" / "ci-release.sh"), "dev", str(checkout)],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    first = ci_release()
    assert first.returncode == 0, first.stderr
    log = git("log", "--format=%s", "main", cwd=tmp_path / "releases.git").splitlines()
    assert len(log) == 2
    assert log[0].startswith("dev: render the GitOps apps at ")
    rendered = git("ls-tree", "-r", "--name-only", "main", cwd=tmp_path / "releases.git").splitlines()
    dev = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"][f"{PROJECT}:apps"]
    gitops = {f"{app['environment']}/{app['name']}" for app in dev if app.get("delivery") == "gitops"}
    assert {name.rsplit("/", 1)[0] for name in rendered} == gitops
    second = ci_release()
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stderr
    assert len(git("log", "--format=%s", "main", cwd=tmp_path / "releases.git").splitlines()) == 2
