"""Typed stack configuration: pydantic v2 models validated before any resource exists."""

from .admission import BinaryAuthorizationConfig
from .backup import BackupConfig
from .base import MUTABLE_TAGS, ImageRef, parse_image
from .cluster import ClusterConfig, GkeAutopilotConfig, GkeConfig, GkeStandardConfig, KubeconfigCluster, RenderCluster
from .delivery import ArgoCDConfig, ChartSource, JenkinsConfig, ManagedCluster
from .maintenance import MaintenanceConfig
from .network import NetworkConfig
from .nodes import NodePoolConfig
from .stack import PROJECT, ConfigError, StackConfig, load_stack_config, validate_stack_config
from .workloads import (
    AppConfig,
    BlueGreenStrategy,
    CanaryStrategy,
    EnvironmentConfig,
    RecreateStrategy,
    RegistryConfig,
    RollingStrategy,
)

__all__ = [
    "MUTABLE_TAGS",
    "PROJECT",
    "AppConfig",
    "ArgoCDConfig",
    "BackupConfig",
    "BinaryAuthorizationConfig",
    "BlueGreenStrategy",
    "CanaryStrategy",
    "ChartSource",
    "ClusterConfig",
    "ConfigError",
    "EnvironmentConfig",
    "GkeAutopilotConfig",
    "GkeConfig",
    "GkeStandardConfig",
    "ImageRef",
    "JenkinsConfig",
    "KubeconfigCluster",
    "MaintenanceConfig",
    "ManagedCluster",
    "NetworkConfig",
    "NodePoolConfig",
    "RecreateStrategy",
    "RegistryConfig",
    "RenderCluster",
    "RollingStrategy",
    "StackConfig",
    "load_stack_config",
    "parse_image",
    "validate_stack_config",
]
