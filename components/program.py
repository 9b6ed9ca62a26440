"""The Pulumi program: validate the stack config, then build the platform."""

from __future__ import annotations

import pulumi

from .config import PROJECT, ConfigError, StackConfig, load_stack_config
from .platform import Platform


def load() -> StackConfig:
    """Validate the stack config; a bad config ends the run with one message that
    names every bad key, before any resource is registered."""
    try:
        config = load_stack_config(pulumi.Config(PROJECT).get_object)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    for warning in config.warnings():
        pulumi.log.warn(warning)
    return config


def main() -> Platform:
    config = load()
    password = None
    if config.registry is not None and config.registry.create_pull_secret:
        password = pulumi.Config(PROJECT).get_secret(config.registry.password_key)
    return Platform(pulumi.get_stack(), config, registry_password=password)
