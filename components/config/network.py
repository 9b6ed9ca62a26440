"""The cluster's VPC-native network: the subnet and its secondary ranges, and egress
for private nodes."""

from __future__ import annotations

import ipaddress
from itertools import combinations

from pydantic import model_validator

from .base import ConfigModel, FieldProblem, check
from .gcp import Cidr


class NetworkConfig(ConfigModel):
    """VPC-native networking. With `create` the stack makes the VPC and subnet with
    secondary ranges; otherwise it uses existing ones by name (or self link, for a
    Shared VPC)."""

    create: bool = True
    network: str = "delivery-platform"
    subnetwork: str = "delivery-platform-nodes"
    nodes_cidr: Cidr = "10.10.0.0/20"
    pods_range_name: str = "pods"
    pods_cidr: Cidr = "10.20.0.0/14"
    services_range_name: str = "services"
    services_cidr: Cidr = "10.24.0.0/20"
    # Only for a cluster created with the legacy VPC-peering control plane, which this
    # /28 identifies (GKE cannot change it later). New clusters get a Private Service
    # Connect control plane and leave it unset.
    master_cidr: Cidr | None = None
    # With `create`: a Cloud Router and Cloud NAT, because private nodes have no
    # external address and could not pull images from registries outside Google.
    cloud_nat: bool = True

    @model_validator(mode="after")
    def _ranges(self) -> NetworkConfig:
        problems = []
        if self.master_cidr is not None and not self.master_cidr.endswith("/28"):
            problems.append(FieldProblem("masterCidr", f"must be a /28 block, got {self.master_cidr}"))
        ranges = {
            "nodesCidr": self.nodes_cidr,
            "podsCidr": self.pods_cidr,
            "servicesCidr": self.services_cidr,
            "masterCidr": self.master_cidr,
        }
        named = [(key, cidr) for key, cidr in ranges.items() if cidr is not None]
        for (key_a, cidr_a), (key_b, cidr_b) in combinations(named, 2):
            if ipaddress.ip_network(cidr_a).overlaps(ipaddress.ip_network(cidr_b)):
                problems.append(FieldProblem(key_b, f"{cidr_b} overlaps {key_a} {cidr_a}"))
        if self.pods_range_name == self.services_range_name:
            problems.append(FieldProblem("servicesRangeName", "must differ from podsRangeName"))
        check(problems)
        return self
