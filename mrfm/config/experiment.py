"""Load an experiment file (TOML, API.md "Experiment file") into an :class:`Experiment`.

Every quantity accepts a unit string (``"110 uN/m"``) or a bare SI number.
A section may name a catalogue entry, either as a string (``cantilever =
"ibm-2004"``) or with ``model = "ibm-2004"`` inside the table; keys given
beside it override the entry's. Every field is validated (type, physical
dimension, range); unknown keys are rejected with a "did you mean" hint. All
errors are :class:`~mrfm.errors.ConfigError` naming the field path, the value
and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from mrfm.config import catalogue as cat
from mrfm.config.schema import parse_section, reject_unknown, spec, suggest
from mrfm.config.sections import (
    RF,
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
from mrfm.errors import ConfigError
from mrfm.units import parse_quantity

#: Optional sections owned by other subpackages: name -> "module:Class". The class is a
#: dataclass with spec'd fields (parsed with parse_section) or has a classmethod
#: ``from_config(table, path)``. Imported only when the section is present.
EXTRA_SECTIONS: dict[str, str] = {
    "timeseries": "mrfm.timedomain.settings:TimeseriesSettings",
    "plan": "mrfm.scan.plan:ScanPlan",
    "dataset": "mrfm.imaging.dataset_settings:DatasetSettings",
    "reconstruction": "mrfm.imaging.reconstruct:ReconstructionSettings",
}

CORE_SECTIONS = ("cantilever", "stage", "magnet", "field", "rf", "sample", "protocol", "scan")
TOP_LEVEL_KEYS = ("name", "description", *CORE_SECTIONS, *EXTRA_SECTIONS)


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: physics objects in SI plus the effective TOML text.

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
    sections : dict
        Parsed optional sections (``timeseries``, ``plan``, ``dataset``, ...), by name.
    """

    name: str
    cantilever: Any
    amplitude: float
    stage: Any
    magnet: Any
    B0: float
    rf: RF
    sample: Any
    protocol: Protocol
    scan: ScanGrid
    source_text: str
    sections: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def section(self, name: str) -> Any:
        """Return the parsed optional section ``name``, or None if the file has none."""
        return self.sections.get(name)

    def as_dict(self) -> dict[str, Any]:
        """The effective configuration as a plain dict (the TOML text parsed back)."""
        return tomllib.loads(self.source_text)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Experiment:
        """Return a new Experiment with dotted-key overrides applied (validated again)."""
        return loads(self.source_text, overrides=overrides)


def load(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Experiment:
    """Read and validate an experiment file.

    Parameters
    ----------
    path : str or Path
        TOML experiment file.
    overrides : mapping, optional
        Dotted keys to replace, e.g. ``{"cantilever.Q": 3e4, "scan.height": "40 nm"}``.

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
    text: str, overrides: Mapping[str, Any] | None = None, *, origin: str = "<string>"
) -> Experiment:
    """Validate an experiment given as TOML text (see :func:`load`)."""
    try:
        raw = tomllib.loads(text)
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


def parse_override_value(text: str) -> Any:
    """Interpret a command-line override value: a TOML value if it parses, else a string.

    ``"3e4"`` -> 3e4, ``"[1, 2]"`` -> [1, 2], ``"true"`` -> True, ``"110 uN/m"`` -> "110 uN/m".
    """
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def apply_overrides(raw: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Return a deep copy of ``raw`` with dotted-key ``overrides`` applied."""
    result = copy.deepcopy(dict(raw))
    for dotted, value in overrides.items():
        if not isinstance(dotted, str) or not dotted or any(not p for p in dotted.split(".")):
            raise ConfigError(f"override {dotted!r}: expected a dotted key such as cantilever.Q")
        parts = dotted.split(".")
        if parts[0] not in TOP_LEVEL_KEYS:
            raise ConfigError(
                f"{dotted}: unknown section {parts[0]!r}{suggest(parts[0], TOP_LEVEL_KEYS)}"
            )
        node: dict[str, Any] = result
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if isinstance(child, str) and i == 0:  # `cantilever = "ibm-2004"` shorthand
                child = {"model": child}
            if child is None:
                child = {}
            if not isinstance(child, dict):
                raise ConfigError(f"{dotted}: {'.'.join(parts[: i + 1])} is not a table")
            node[part] = child
            node = child
        node[parts[-1]] = value
    return result


def _merged_section(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
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


def build(raw: Mapping[str, Any]) -> Experiment:
    """Validate a parsed experiment dict and build the :class:`Experiment`."""
    if not isinstance(raw, Mapping):
        raise ConfigError("experiment: expected a TOML document of tables")
    reject_unknown(raw, TOP_LEVEL_KEYS, "")
    name = raw.get("name", "unnamed experiment")
    if not isinstance(name, str):
        raise ConfigError(f"name: expected a string, got {name!r}")
    if "description" in raw and not isinstance(raw["description"], str):
        raise ConfigError(f"description: expected a string, got {raw['description']!r}")

    tables = {section: _merged_section(raw, section) for section in CORE_SECTIONS}

    cant = parse_section(CantileverSection, tables["cantilever"], "cantilever")
    stage_s = parse_section(StageSection, tables["stage"], "stage")
    magnet_s = parse_section(MagnetSection, tables["magnet"], "magnet")
    field_s = parse_section(FieldSection, tables["field"], "field")
    rf_s = parse_section(RFSection, tables["rf"], "rf")
    sample_s = parse_section(SampleSection, tables["sample"], "sample")
    protocol = parse_section(Protocol, tables["protocol"], "protocol")
    scan_s = parse_section(ScanSection, tables["scan"], "scan")

    cantilever = _build_cantilever(cant, stage_s)
    stage = _build_stage(stage_s)
    magnet = _build_magnet(magnet_s)
    sample = _build_sample(sample_s)
    if scan_s.height is None:
        raise ConfigError("scan.height: required setting is missing (tip-sample gap, e.g. '50 nm')")
    scan = ScanGrid(x=scan_s.x, y=scan_s.y, height=scan_s.height)
    rf = RF(frequency=rf_s.frequency, B1=rf_s.B1, fm_depth=rf_s.fm_depth)
    _check_protocol(protocol, rf, cant.amplitude)

    sections = {}
    for section_name, target in EXTRA_SECTIONS.items():
        if section_name in raw:
            sections[section_name] = _parse_extra(section_name, target, raw[section_name])

    effective = {k: v for k, v in raw.items() if k not in CORE_SECTIONS}
    effective.update({k: tables[k] for k in CORE_SECTIONS if tables[k]})
    try:
        source_text = tomli_w.dumps(effective)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"experiment: cannot be written back as TOML ({exc})") from None
    metadata = {
        "cantilever_source": cant.source,
        "magnet_source": magnet_s.source,
        "sample_source": sample_s.source,
        "gradient_reported": magnet_s.gradient_reported,
    }
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
        sections=sections,
        metadata=metadata,
    )


def _require(value: Any, where: str, what: str) -> Any:
    if value is None:
        raise ConfigError(f"{where}: required setting is missing ({what})")
    return value


def _build_cantilever(cant: CantileverSection, stage_s: StageSection) -> Any:
    from mrfm.physics import Cantilever

    k = _require(cant.k, "cantilever.k", "spring constant, e.g. '110 uN/m'")
    f0 = _require(cant.f0, "cantilever.f0", "resonance frequency, e.g. '5.5 kHz'")
    q = _require(cant.Q, "cantilever.Q", "quality factor, e.g. 2e4")
    return Cantilever(k=k, f0=f0, Q=q, T=stage_s.temperature)


def _build_stage(stage_s: StageSection) -> Any:
    from mrfm.physics import Stage

    kwargs: dict[str, Any] = {"temperature": stage_s.temperature, "pressure": stage_s.pressure}
    if stage_s.piezo_range_300K is not None:
        kwargs["piezo_range_300K"] = stage_s.piezo_range_300K
    try:
        return Stage(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"stage: {exc}") from None


def _build_magnet(m: MagnetSection) -> Any:
    from mrfm.physics import CuboidMagnet, CylinderMagnet, SphereMagnet

    shape = _require(m.shape, "magnet.shape", "sphere, cuboid or cylinder")
    pol = np.asarray(_require(m.polarization, "magnet.polarization", "e.g. '1.8 T'"))
    if float(np.linalg.norm(pol)) == 0.0:
        raise ConfigError("magnet.polarization: value 0 T gives no field; must be > 0 T")
    given = {
        "radius": m.radius, "dimension": m.dimension, "diameter": m.diameter, "height": m.height,
    }
    needs = {"sphere": ("radius",), "cuboid": ("dimension",), "cylinder": ("diameter", "height")}
    for key in needs[shape]:
        _require(given[key], f"magnet.{key}", f"needed for a {shape} magnet")
    for key, value in given.items():
        if value is not None and key not in needs[shape]:
            raise ConfigError(
                f"magnet.{key}: not used by a {shape} magnet (it takes {', '.join(needs[shape])})"
            )
    try:
        if shape == "sphere":
            return SphereMagnet(radius=m.radius, polarization=pol)
        if shape == "cuboid":
            return CuboidMagnet(dimension=m.dimension, polarization=pol)
        return CylinderMagnet(diameter=m.diameter, height=m.height, polarization=pol)
    except ValueError as exc:
        raise ConfigError(f"magnet: {exc}") from None


def _voxel(value: Any) -> np.ndarray:
    where = "sample.voxel"
    if value is None:
        raise ConfigError(f"{where}: required setting is missing (voxel edge, e.g. '5 nm')")
    items = value if isinstance(value, list) else [value]
    if len(items) not in (1, 3):
        raise ConfigError(f"{where}: expected one edge length or three, got {value!r}")
    edges = np.array([parse_quantity(v, "length", where) for v in items], dtype=float)
    if np.any(edges <= 0) or np.any(edges > 1e-4):
        raise ConfigError(f"{where}: value {value!r} is out of range; allowed range (0, 1e-04] m")
    return np.repeat(edges, 3) if edges.size == 1 else edges


def _densities(s: SampleSection, species: tuple[str, ...]) -> list[float]:
    where = "sample.density"
    if s.density is None:
        raise ConfigError(f"{where}: required setting is missing (spin density, e.g. '5e28 m^-3')")
    items = s.density if isinstance(s.density, list) else [s.density]
    if len(items) != len(species):
        raise ConfigError(
            f"{where}: {len(items)} densities given for {len(species)} species "
            f"({', '.join(species)}); give one density per species"
        )
    values = []
    for i, item in enumerate(items):
        value = parse_quantity(item, "number_density", f"{where}[{i}]" if len(items) > 1 else where)
        if value < 0 or value > 1e31:
            raise ConfigError(
                f"{where}: value {item!r} is out of range; allowed range [0, 1e+31] 1/m**3"
            )
        values.append(value)
    return values


def _check_species(species: tuple[str, ...]) -> None:
    from mrfm.physics import SpinSpecies

    for name in species:
        try:
            SpinSpecies.from_name(name)
        except (KeyError, ValueError):
            raise ConfigError(
                f"sample.species: unknown spin species {name!r}; known: "
                "electron, 1H, 2H, 13C, 15N, 19F, 29Si, 31P"
            ) from None


def _merge_species(samples: list[Any]) -> Any:
    """One Sample holding the densities/points of several single-species samples."""
    first = samples[0]
    densities: dict[str, np.ndarray] = {}
    points: dict[str, np.ndarray] = {}
    for s in samples:
        densities.update(s.densities)
        points.update(s.points)
    return dataclasses.replace(first, densities=densities, points=points)


def _build_sample(s: SampleSection) -> Any:
    from mrfm.physics import Sample

    species = s.species
    _check_species(species)
    needs = {
        "slab": ("size", "thickness"),
        "sphere": ("radius",),
        "cylinder": ("radius", "length"),
        "film": ("layers", "size"),
        "points": ("positions",),
        "file": ("file",),
    }[s.shape]
    for key in needs:
        _require(getattr(s, key), f"sample.{key}", f"needed for a {s.shape} sample")
    try:
        if s.shape == "points":
            positions = _positions(s.positions)
            if len(species) != 1:
                raise ConfigError("sample.species: a points sample takes exactly one species")
            kwargs = {} if s.voxel is None else {"voxel": _voxel(s.voxel)}
            return Sample.from_points(positions=positions, species=species[0], **kwargs)
        voxel = _voxel(s.voxel)
        if s.shape == "film":
            return Sample.film(layers=_layers(s.layers), size=s.size, voxel=voxel)
        if s.shape == "file":
            if len(species) != 1:
                raise ConfigError("sample.species: a file sample takes exactly one species")
            source = s.file if s.dataset is None else f"{s.file}::{s.dataset}"
            origin = s.origin if s.origin is not None else None
            return Sample.from_array(source, voxel=voxel, origin=origin, species=species[0])
        densities = _densities(s, species)
        parts = []
        for sp, rho in zip(species, densities, strict=True):
            if s.shape == "slab":
                parts.append(Sample.slab(size=s.size, thickness=s.thickness, density=rho,
                                         species=sp, voxel=voxel))
            elif s.shape == "sphere":
                center = s.center if s.center is not None else (0.0, 0.0, -s.radius)
                parts.append(Sample.sphere(radius=s.radius, center=center, density=rho,
                                           species=sp, voxel=voxel))
            else:
                center = s.center if s.center is not None else (0.0, 0.0, -s.radius)
                parts.append(Sample.cylinder(radius=s.radius, length=s.length, axis=s.axis,
                                             center=center, density=rho, species=sp, voxel=voxel))
        return _merge_species(parts)
    except ConfigError:
        raise
    except FileNotFoundError as exc:
        raise ConfigError(f"sample.file: {exc}") from None
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise ConfigError(f"sample: {exc}") from None


def _positions(raw: Any) -> np.ndarray:
    where = "sample.positions"
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: expected a list of [x, y, z] positions, got {raw!r}")
    out = np.empty((len(raw), 3))
    for i, p in enumerate(raw):
        if not isinstance(p, list) or len(p) != 3:
            raise ConfigError(f"{where}[{i}]: expected [x, y, z], got {p!r}")
        out[i] = [parse_quantity(v, "length", f"{where}[{i}]") for v in p]
    if np.any(out[:, 2] > 0):
        bad = int(np.argmax(out[:, 2] > 0))
        raise ConfigError(
            f"{where}[{bad}]: z = {out[bad, 2]:g} m is above the surface; need z <= 0"
        )
    return out


def _layers(raw: Any) -> list[tuple[float, float, str]]:
    where = "sample.layers"
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: expected a list of {{thickness, density, species}} tables")
    layers = []
    for i, layer in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(layer, Mapping):
            raise ConfigError(f"{w}: expected a table {{thickness, density, species}}")
        reject_unknown(layer, ("thickness", "density", "species"), w)
        t = parse_quantity(_require(layer.get("thickness"), f"{w}.thickness", "length"),
                           "length", f"{w}.thickness")
        rho = parse_quantity(_require(layer.get("density"), f"{w}.density", "m^-3"),
                             "number_density", f"{w}.density")
        sp = layer.get("species", "1H")
        _check_species((sp,))
        if t <= 0 or rho < 0 or not math.isfinite(t * rho):
            raise ConfigError(f"{w}: thickness must be > 0 m and density >= 0 m^-3")
        layers.append((t, rho, sp))
    return layers


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


def _parse_extra(name: str, target: str, table: Any) -> Any:
    module_name, _, class_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise ConfigError(
            f"{name}: this installation of mrfm cannot read a [{name}] section"
        ) from None
    if hasattr(cls, "from_config"):
        return cls.from_config(table, name)
    return parse_section(cls, table, name)


__all__ = ["Experiment", "load", "loads", "apply_overrides", "parse_override_value", "spec"]
