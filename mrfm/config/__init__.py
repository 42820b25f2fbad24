"""Experiment configuration: TOML files with unit strings, validated into SI physics objects.

``load(path, overrides)`` / ``loads(text, overrides)`` return an :class:`Experiment`
whose attributes are typed: the physics objects (:class:`mrfm.physics.Cantilever`,
:class:`~mrfm.physics.Stage`, the magnet, :class:`~mrfm.physics.Sample`), the
:class:`RF`, :class:`Protocol` and :class:`ScanGrid` settings, and the optional
sections (:class:`TimeseriesSettings`, :class:`ScanPlan`, :class:`DatasetSettings`,
:class:`ReconstructionSettings`, each None when the file has none). Every bad input
raises :class:`ConfigError` (a ``ValueError``) naming the field, the value and what
is allowed. Importing this package loads neither the solver, the time domain, imaging
nor the virtual rig.
"""

from mrfm.config.builders import Magnet
from mrfm.config.dataset import DatasetSettings
from mrfm.config.experiment import (
    Experiment,
    ExperimentMetadata,
    Section,
    load,
    loads,
)
from mrfm.config.overrides import OverrideValue, apply_overrides, parse_override_value
from mrfm.config.plan import ScanPlan
from mrfm.config.reconstruction import ReconstructionSettings
from mrfm.config.schema import parse_section, spec
from mrfm.config.sections import OPTIONAL_SECTIONS, RF, Protocol, ScanGrid
from mrfm.config.timeseries import TimeseriesSettings
from mrfm.errors import ConfigError

__all__ = [
    "OPTIONAL_SECTIONS",
    "RF",
    "ConfigError",
    "DatasetSettings",
    "Experiment",
    "ExperimentMetadata",
    "Magnet",
    "OverrideValue",
    "Protocol",
    "ReconstructionSettings",
    "ScanGrid",
    "ScanPlan",
    "Section",
    "TimeseriesSettings",
    "apply_overrides",
    "load",
    "loads",
    "parse_override_value",
    "parse_section",
    "spec",
]
