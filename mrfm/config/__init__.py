"""Experiment configuration: TOML files with unit strings, validated into SI physics objects.

``load(path, overrides)`` / ``loads(text, overrides)`` return an :class:`Experiment`;
every bad input raises :class:`ConfigError` (a ``ValueError``) naming the field,
the value and what is allowed.
"""

from mrfm.config.experiment import (
    Experiment,
    apply_overrides,
    load,
    loads,
    parse_override_value,
)
from mrfm.config.schema import parse_section, spec
from mrfm.config.sections import RF, Protocol, ScanGrid
from mrfm.errors import ConfigError

__all__ = [
    "RF",
    "ConfigError",
    "Experiment",
    "Protocol",
    "ScanGrid",
    "apply_overrides",
    "load",
    "loads",
    "parse_override_value",
    "parse_section",
    "spec",
]
