"""The Kubernetes provider of a `kubeconfig` cluster: it gets the file's contents (so
the stack does not depend on the file staying where it was) as a secret, because a
kubeconfig holds client keys or tokens and provider inputs are kept in the state."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ProgramRunner
from tests.workload_graph import run_stack, stack, unwrap_secret


def test_kubeconfig_file_contents_reach_the_provider_as_a_secret(run_program: ProgramRunner, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "users": [{"name": "admin", "user": {"client-key-data": "cHJpdmF0ZS1rZXk="}}],
            }
        ),
        encoding="utf-8",
    )
    cluster = {"kind": "kubeconfig", "path": str(kubeconfig), "context": "e2e"}
    graph = run_stack(run_program, stack(cluster=cluster))

    provider = graph.one("pulumi:providers:kubernetes")
    is_secret, contents = unwrap_secret(provider.inputs["kubeconfig"])
    assert is_secret, provider.inputs["kubeconfig"]
    assert contents == kubeconfig.read_text(encoding="utf-8")
    assert provider.inputs["context"] == "e2e"
