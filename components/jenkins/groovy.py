"""Text the Jenkins controller reads: Groovy string literals, JCasC-safe text, YAML."""

from __future__ import annotations

import yaml


def groovy_string(value: str) -> str:
    """A single-quoted Groovy string literal (no interpolation) holding `value`."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def groovy_multiline(value: str) -> str:
    """A triple-single-quoted Groovy string literal (no interpolation) holding `value`."""
    return "'''" + value.replace("\\", "\\\\").replace("'''", "\\'\\'\\'") + "'''"


def jcasc_literal(text: str) -> str:
    """JCasC replaces ${...} in its files with variables and secrets; ^${ keeps it."""
    return text.replace("${", "^${")


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as | blocks, so the rendered JCasC reads like hand-written YAML."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


def to_yaml(document: object) -> str:
    return yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False, width=120)
