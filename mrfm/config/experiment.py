"""Load an experiment file (TOML, API.md "Experiment file") into an :class:`Experiment`.

Every quantity accepts a unit string (``"110 uN/m"``) or a bare SI number.
A section may name a catalogue entry, either as a string (``cantilever =
"ibm-2004"``) or with ``model = "ibm-2004"`` inside the table; keys given
beside it override the entry's. Every field is validated (type, physical
dimension, range); unknown keys are rejected with a "did you mean" hint. All
errors are :class:`~mrfm.errors.ConfigError` naming the field path, the value
and what is allowed.

The schema is declared in this package: the core sections in
:mod:`mrfm.config.sections`, the optional ones beside them
(:mod:`mrfm.config.timeseries`, :mod:`mrfm.config.plan`, :mod:`mrfm.config.dataset`,
:mod:`mrfm.config.reconstruction`); each becomes a typed attribute of
:class:`Experiment`. Loading imports none of the subpackages that use the sections.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias, TypeVar, overload

import tomli_w

from mrfm.config import catalogue as cat
from mrfm.config.builders import (
    Magnet,
    build_cantilever,
    build_magnet,
    build_sample,
    build_stage,
    with_magnetic_spring,
)
from mrfm.config.dataset import DatasetSettings
from mrfm.config.overrides import (
    OverrideValue,
    TomlValue,
    apply_overrides,
    parse_override_value,
)
from mrfm.config.plan import ScanPlan
from mrfm.config.reconstruction import ReconstructionSettings
from mrfm.config.schema import parse_section, reject_unknown
from mrfm.config.sections import (
    CORE_SECTIONS,
    OPTIONAL_SECTIONS,
    RF,
    TOP_LEVEL_KEYS,
    CantileverSection,
    FieldSection,
    MagnetSection,
    Protocol,
    RFSection,
    SampleSection,
    ScanGrid,
    ScanSection,
    StageSection,
)
from mrfm.config.timeseries import TimeseriesSettings
from mrfm.errors import ConfigError

if TYPE_CHECKING:
    from mrfm.physics import Cantilever, Sample, Stage

#: The settings of one optional section.
Section: TypeAlias = TimeseriesSettings | ScanPlan | DatasetSettings | ReconstructionSettings
S = TypeVar("S", TimeseriesSettings, ScanPlan, DatasetSettings, ReconstructionSettings)


@dataclass(frozen=True)
class ExperimentMetadata:
    """Informative entries of an experiment that do not enter the physics.

    Attributes
    ----------
    description : str
        The file's ``description``.
    cantilever_source, magnet_source, sample_source : str
        Where the numbers of each part come from (the catalogue's ``source``).
    gradient_reported : float or None
        Field gradient the magnet's source reports, T/m (for comparison only).
    """

    description: str = ""
    cantilever_source: str = ""
    magnet_source: str = ""
    sample_source: str = ""
    gradient_reported: float | None = None


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: physics objects in SI, typed settings and the effective TOML.

    Attributes
    ----------
    name : str
    cantilever : mrfm.physics.Cantilever
        k, f0, Q and T (T is the stage temperature).
    amplitude : float
        Peak cantilever amplitude x_pk along x, m.
    stage : mrfm.physics.Stage
    magnet : SphereMagnet | CuboidMagnet | CylinderMagnet
        Centred at the origin; the solver places it at each tip position.
    B0 : float
        Applied field along +z, T.
    rf : RF
    sample : mrfm.physics.Sample
    protocol : Protocol
    scan : ScanGrid
    source_text : str
        The effective configuration (after catalogue merging and overrides) as TOML.
    timeseries : TimeseriesSettings or None
        The ``[timeseries]`` section (``mrfm timeseries``), if the file has one.
    plan : ScanPlan or None
        The ``[plan]`` section (``mrfm scan``), if the file has one.
    dataset : DatasetSettings or None
        The ``[dataset]`` section (``mrfm dataset``), if the file has one.
    reconstruction : ReconstructionSettings or None
        The ``[reconstruction]`` section (``mrfm reconstruct``), if the file has one.
    metadata : ExperimentMetadata
        Description and sources of the parts.
    """

    name: str
    cantilever: Cantilever
    amplitude: float
    stage: Stage
    magnet: Magnet
    B0: float
    rf: RF
    sample: Sample
    protocol: Protocol
    scan: ScanGrid
    source_text: str
    timeseries: TimeseriesSettings | None = None
    plan: ScanPlan | None = None
    dataset: DatasetSettings | None = None
    reconstruction: ReconstructionSettings | None = None
    metadata: ExperimentMetadata = dataclasses.field(default_factory=ExperimentMetadata)

    @overload
    def section(self, name: Literal["timeseries"]) -> TimeseriesSettings | None: ...
    @overload
    def section(self, name: Literal["plan"]) -> ScanPlan | None: ...
    @overload
    def section(self, name: Literal["dataset"]) -> DatasetSettings | None: ...
    @overload
    def section(self, name: Literal["reconstruction"]) -> ReconstructionSettings | None: ...
    @overload
    def section(self, name: str) -> Section | None: ...

    def section(self, name: str) -> Section | None:
        """The optional section ``name`` (as its attribute), or None if the file has none.

        Raises
        ------
        KeyError
            If ``name`` is not one of :data:`~mrfm.config.sections.OPTIONAL_SECTIONS`.
        """
        sections: dict[str, Section | None] = {
            "timeseries": self.timeseries,
            "plan": self.plan,
            "dataset": self.dataset,
            "reconstruction": self.reconstruction,
        }
        if name not in sections:
            raise KeyError(f"no optional section {name!r}; known: {', '.join(sections)}")
        return sections[name]

    def as_dict(self) -> dict[str, TomlValue]:
        """The effective configuration as a plain dict (the TOML text parsed back)."""
        return tomllib.loads(self.source_text)

    def under_polarization(self, polarization: str) -> Experiment:
        """The same experiment with its protocol's spin ``polarization`` ("curie" or
        "statistical") replaced: e.g. the statistical spin noise that rides on a Curie
        signal. ``source_text`` stays this experiment's."""
        if polarization not in ("curie", "statistical"):
            raise ValueError(f"polarization {polarization!r}: use 'curie' or 'statistical'")
        if polarization == self.protocol.polarization:
            return self
        return dataclasses.replace(self, protocol=dataclasses.replace(
            self.protocol, polarization=polarization))

    def with_overrides(self, overrides: Mapping[str, OverrideValue]) -> Experiment:
        """Return a new Experiment with dotted-key overrides applied (validated again)."""
        return loads(self.source_text, overrides=overrides)


def load(path: str | Path, overrides: Mapping[str, OverrideValue] | None = None) -> Experiment:
    """Read and validate an experiment file.

    Parameters
    ----------
    path : str or Path
        TOML experiment file.
    overrides : mapping, optional
        Dotted keys to replace, e.g. ``{"cantilever.Q": 3e4, "scan.height": "40 nm"}``;
        a value may also be a pint ``Quantity`` of any registry
        (``ureg.Quantity(40, "nm")``).

    Raises
    ------
    ConfigError
        Missing or unreadable file, invalid TOML, or any invalid field.
    """
    from mrfm.data.files import read_text_input
    from mrfm.errors import UserError

    p = Path(path)
    try:  # a regular file of at most 16 MiB, checked before reading (no FIFO, no /dev/zero)
        text = read_text_input(p, "experiment file")
    except UserError as exc:
        raise ConfigError(str(exc)) from None
    return loads(text, overrides=overrides, origin=str(p))


def loads(
    text: str,
    overrides: Mapping[str, OverrideValue] | None = None,
    *,
    origin: str = "<string>",
) -> Experiment:
    """Validate an experiment given as TOML text (see :func:`load`)."""
    try:
        raw: dict[str, TomlValue] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{origin}: invalid TOML (nested too deeply)") from None
    if overrides:
        raw = apply_overrides(raw, overrides)
    sample = raw.get("sample")
    if isinstance(sample, dict) and isinstance(sample.get("file"), str) and Path(origin).is_file():
        # a relative sample.file is relative to the experiment file's folder, not the cwd
        sample["file"] = str(Path(origin).parent / Path(sample["file"]).expanduser())
    return build(raw)


def _merged_section(raw: Mapping[str, TomlValue], name: str) -> dict[str, TomlValue]:
    """The section table with its catalogue entry (if any) merged underneath."""
    value = raw.get(name, {})
    if isinstance(value, str):
        value = {"model": value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}: expected a table or a catalogue name, got {value!r}")
    table = dict(value)
    model = table.pop("model", None)
    if model is None:
        return table
    if name not in cat.CATALOGUE_FILES:
        raise ConfigError(f"{name}.model: section {name!r} has no catalogue")
    base = cat.entry(name, model, f"{name}.model")
    base.update(table)
    return base


def _optional(
    raw: Mapping[str, TomlValue], name: str, parse: Callable[[object, str], S]
) -> S | None:
    """Parse the optional section ``name`` with its class's ``from_config``, if present."""
    return parse(raw[name], name) if name in raw else None


def build(raw: Mapping[str, TomlValue]) -> Experiment:
    """Validate a parsed experiment dict and build the :class:`Experiment`."""
    if not isinstance(raw, Mapping):
        raise ConfigError("experiment: expected a TOML document of tables")
    reject_unknown(raw, TOP_LEVEL_KEYS, "")
    name = raw.get("name", "unnamed experiment")
    if not isinstance(name, str):
        raise ConfigError(f"name: expected a string, got {name!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"description: expected a string, got {description!r}")

    tables = {section: _merged_section(raw, section) for section in CORE_SECTIONS}

    cant = parse_section(CantileverSection, tables["cantilever"], "cantilever")
    stage_s = parse_section(StageSection, tables["stage"], "stage")
    magnet_s = parse_section(MagnetSection, tables["magnet"], "magnet")
    field_s = parse_section(FieldSection, tables["field"], "field")
    rf_s = parse_section(RFSection, tables["rf"], "rf")
    sample_s = parse_section(SampleSection, tables["sample"], "sample")
    protocol = parse_section(Protocol, tables["protocol"], "protocol")
    scan_s = parse_section(ScanSection, tables["scan"], "scan")

    gap = None if scan_s.height is None else float(min(scan_s.height))
    cantilever = build_cantilever(cant, stage_s, gap)
    stage = build_stage(stage_s, cant)
    magnet = build_magnet(magnet_s)
    cantilever = with_magnetic_spring(cantilever, cant, magnet, field_s.B0)
    sample = build_sample(sample_s)
    if scan_s.height is None:
        raise ConfigError("scan.height: required setting is missing (tip-sample gap, e.g. '50 nm')")
    scan = ScanGrid(x=scan_s.x, y=scan_s.y, height=scan_s.height)
    rf = RF(frequency=rf_s.frequency, B1=rf_s.B1, fm_depth=rf_s.fm_depth)
    _check_protocol(protocol, rf, cant.amplitude)

    timeseries = _optional(raw, "timeseries", TimeseriesSettings.from_config)
    plan = _optional(raw, "plan", ScanPlan.from_config)
    dataset = _optional(raw, "dataset", DatasetSettings.from_config)
    reconstruction = _optional(raw, "reconstruction", ReconstructionSettings.from_config)

    effective = {k: v for k, v in raw.items() if k not in CORE_SECTIONS}
    effective.update({k: tables[k] for k in CORE_SECTIONS if tables[k]})
    try:
        source_text = tomli_w.dumps(effective)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"experiment: cannot be written back as TOML ({exc})") from None
    metadata = ExperimentMetadata(
        description=description,
        cantilever_source=cant.source,
        magnet_source=magnet_s.source,
        sample_source=sample_s.source,
        gradient_reported=magnet_s.gradient_reported,
    )
    return Experiment(
        name=name,
        cantilever=cantilever,
        amplitude=cant.amplitude,
        stage=stage,
        magnet=magnet,
        B0=field_s.B0,
        rf=rf,
        sample=sample,
        protocol=protocol,
        scan=scan,
        source_text=source_text,
        timeseries=timeseries,
        plan=plan,
        dataset=dataset,
        reconstruction=reconstruction,
        metadata=metadata,
    )


def _check_protocol(protocol: Protocol, rf: RF, amplitude: float) -> None:
    if protocol.name != "force-gradient" and rf.frequency <= 0:
        raise ConfigError(
            f"rf.frequency: protocol {protocol.name} needs an RF frequency > 0 Hz "
            "(set [rf] frequency, e.g. '2.96 GHz')"
        )
    if protocol.name in ("OSCAR", "iOSCAR") and amplitude <= 0:
        raise ConfigError(
            f"cantilever.amplitude: protocol {protocol.name} needs a peak amplitude > 0 m "
            "(e.g. '16 nm')"
        )
    if protocol.name == "CAI" and rf.fm_depth <= 0:
        raise ConfigError("rf.fm_depth: CAI needs a frequency-modulation depth > 0 T (e.g. '4 mT')")


__all__ = [
    "CORE_SECTIONS",
    "OPTIONAL_SECTIONS",
    "TOP_LEVEL_KEYS",
    "Experiment",
    "ExperimentMetadata",
    "Magnet",
    "Section",
    "apply_overrides",
    "build",
    "load",
    "loads",
    "parse_override_value",
]
