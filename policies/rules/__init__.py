"""The delivery-platform policy pack's rules, one module per concern."""

from __future__ import annotations

from pulumi_policy import Policy

from . import gke, gke_operations, images, namespaces, resources, security, services, stack

PACK_NAME = "delivery-platform"


def all_policies() -> list[Policy]:
    """Every policy of the pack, in the order the README lists them."""
    return [
        *images.policies(),
        *namespaces.policies(),
        *resources.policies(),
        *security.policies(),
        *services.policies(),
        *gke.policies(),
        *gke_operations.policies(),
        *stack.policies(),
    ]
