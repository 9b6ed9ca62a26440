"""The Pulumi program: validate the stack config, then build the platform."""

from __future__ import annotations

import gc

import pulumi
from pulumi.runtime import config as runtime_config

from .config import PROJECT, ConfigError, StackConfig, load_stack_config
from .platform import Platform

# The cyclic garbage collector's thresholds for the program's process. Pulumi's SDK
# allocates heavily for every resource it registers (futures, tasks, Outputs); at the
# interpreter's defaults (700, 10, 10) the collector runs every few registrations and
# repeatedly walks the whole growing heap, about 40% of a large stack's run
# (docs/benchmarks.md). Young objects are collected every 10,000 allocations instead
# and the whole heap seldom: a few MiB more peak memory, a third less time.
COLLECTOR_THRESHOLDS = (10_000, 50, 100)


def tune_collector() -> None:
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def _stack_config_values() -> tuple[dict[str, str], set[str]]:
    """Every config value of the stack and the keys that are secrets, wherever the
    runtime holds them (explicitly set values win over the PULUMI_CONFIG environment).
    The SDK exposes no public way to list config keys, and unknown keys must be
    reported, so this reads the runtime's own store."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secrets = set(runtime_config.get_config_secret_keys_env()) | runtime_config._SECRET_KEYS.get()
    return values, secrets


def load() -> StackConfig:
    """Validate the stack config; a bad config ends the run with one message that
    names every bad key, before any resource is registered."""
    try:
        config = load_stack_config(*_stack_config_values())
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
    for warning in config.warnings():
        pulumi.log.warn(warning)
    return config


def main() -> Platform:
    tune_collector()
    config = load()
    stack_config = pulumi.Config(PROJECT)
    password = None
    if config.registry is not None and config.registry.create_pull_secret:
        password = stack_config.get_secret(config.registry.password_key)
    # Present and secret: load() checked them. Known during preview, so values built
    # from them (Argo CD's bcrypt hash) never hide a chart's objects from the preview.
    secrets = {key: stack_config.require_secret(key) for key in config.required_secrets()}
    platform = Platform(pulumi.get_stack(), config, registry_password=password, secrets=secrets)
    for key, value in platform.outputs.items():
        pulumi.export(key, value)
    return platform
