"""Google Cloud names and addresses as the GKE settings use them: regions and zones,
Cloud KMS keys, IPv4 ranges, durations, GKE resource names."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, Field

from .base import DnsLabel

_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
_KMS_KEY = re.compile(r"^projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+$")
# Ranges that are never routed on the internet (RFC 1918, and RFC 6598 shared address
# space): a client using one reaches Google only through a VPC, VPN or Interconnect.
NON_INTERNET_RANGES = tuple(
    ipaddress.IPv4Network(cidr) for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def is_zone(location: str) -> bool:
    return bool(_ZONE.fullmatch(location))


def region_of(location: str) -> str:
    """The region of a region or zone (europe-west1-b -> europe-west1)."""
    return location.rsplit("-", 1)[0] if is_zone(location) else location


def kms_key_location(key: str) -> str:
    """The location of a Cloud KMS key name (validated by KmsKey)."""
    match = _KMS_KEY.fullmatch(key)
    assert match is not None, key
    return match["location"]


def is_non_internet_range(cidr: str) -> bool:
    network = ipaddress.IPv4Network(cidr)
    return any(network.subnet_of(private) for private in NON_INTERNET_RANGES)


def _location(value: str) -> str:
    if not (_REGION.fullmatch(value) or _ZONE.fullmatch(value)):
        raise ValueError(f"{value!r} is neither a GCP region (europe-west1) nor a zone (europe-west1-b)")
    return value


def _region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise ValueError(f"{value!r} is not a GCP region like europe-west1")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        network = None
    if not isinstance(network, ipaddress.IPv4Network) or "/" not in value:
        raise ValueError(f"{value!r} is not an IPv4 CIDR block like 10.0.0.0/24 (no host bits set)")
    return value


def _kms_key(value: str) -> str:
    if not _KMS_KEY.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Cloud KMS key name "
            "(projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>)"
        )
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
Location = Annotated[str, AfterValidator(_location)]
Region = Annotated[str, AfterValidator(_region)]
KmsKey = Annotated[str, AfterValidator(_kms_key)]
# A google.protobuf.Duration in seconds, as the GKE API takes it ("300s", "1.5s").
Duration = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]{1,9})?s$")]
# GKE names (clusters, node pools) are DNS labels of at most 40 characters that start with a letter.
GkeName = Annotated[DnsLabel, Field(max_length=40, pattern=r"^[a-z]")]
ProjectId = Annotated[str, Field(min_length=6, max_length=30, pattern=r"^[a-z][-a-z0-9]*[a-z0-9]$")]
