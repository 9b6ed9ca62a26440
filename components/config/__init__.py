"""Typed stack configuration: pydantic v2 models validated before any resource exists."""

from .base import MUTABLE_TAGS, ImageRef, parse_image
from .cluster import (
    BackupConfig,
    ClusterConfig,
    GkeAutopilotConfig,
    GkeStandardConfig,
    KubeconfigCluster,
    NetworkConfig,
    NodePoolConfig,
    RenderCluster,
)
from .delivery import ArgoCDConfig, ChartSource, JenkinsConfig, ManagedCluster
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
    "BlueGreenStrategy",
    "CanaryStrategy",
    "ChartSource",
    "ClusterConfig",
    "ConfigError",
    "EnvironmentConfig",
    "GkeAutopilotConfig",
    "GkeStandardConfig",
    "ImageRef",
    "JenkinsConfig",
    "KubeconfigCluster",
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
