"""The physics objects of an experiment, built from its validated sections.

:func:`build_cantilever`, :func:`build_stage`, :func:`build_magnet` and
:func:`build_sample` turn the dataclasses of :mod:`mrfm.config.sections` into
:mod:`mrfm.physics` objects (SI). Settings that only make sense together (a magnet's
shape and its sizes, a sample's shape and its geometry, one density per species) are
checked here; every error is a :class:`~mrfm.errors.ConfigError` naming the field.
The physics classes are imported when an object is built, so importing
``mrfm.config`` stays light (the magnets compile numba kernels).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import numpy as np

from mrfm.config.schema import reject_unknown
from mrfm.config.sections import (
    CantileverSection,
    MagnetSection,
    SampleSection,
    StageSection,
)
from mrfm.errors import ConfigError
from mrfm.units import parse_quantity

if TYPE_CHECKING:
    from mrfm.physics import Cantilever, Sample, Stage
    from mrfm.physics.magnets import CuboidMagnet, CylinderMagnet, SphereMagnet

#: The tip magnet of an experiment: one of the analytic shapes of :mod:`mrfm.physics.magnets`.
Magnet: TypeAlias = "SphereMagnet | CuboidMagnet | CylinderMagnet"

T = TypeVar("T")


def _require(value: T | None, where: str, what: str) -> T:
    if value is None:
        raise ConfigError(f"{where}: required setting is missing ({what})")
    return value


def build_cantilever(cant: CantileverSection, stage_s: StageSection,
                     gap: float | None = None) -> Cantilever:
    """The cantilever at the stage temperature; its Q is the total of the loss channels.

    ``cantilever.Q`` is the intrinsic Q; the gas (stage pressure, the cantilever's
    thickness and density), the optional non-contact friction at the tip-sample ``gap``
    (m; the smallest scan height) and the optional tip dissipation add to the damping
    (:class:`mrfm.physics.cantilever.Damping`).
    """
    from mrfm.physics import Cantilever
    from mrfm.physics.cantilever import Damping, noncontact_q

    k = _require(cant.k, "cantilever.k", "spring constant, e.g. '110 uN/m'")
    f0 = _require(cant.f0, "cantilever.f0", "resonance frequency, e.g. '5.5 kHz'")
    q = _require(cant.Q, "cantilever.Q", "quality factor, e.g. 2e4")
    q_nc = math.inf
    if cant.Q_noncontact is not None:
        d_ref = _require(cant.noncontact_gap, "cantilever.noncontact_gap",
                         "gap at which Q_noncontact was measured, e.g. '50 nm'")
        if gap is not None:
            q_nc = noncontact_q(cant.Q_noncontact, d_ref, cant.noncontact_exponent, gap)
    q_tip = math.inf if cant.Q_tip is None else cant.Q_tip
    damping = Damping(intrinsic=q, gas=build_stage(stage_s, cant).gas_q(f0),
                      noncontact=q_nc, tip=q_tip)
    return Cantilever.with_damping(k=k, f0=f0, T=stage_s.temperature, damping=damping)


def with_magnetic_spring(cantilever: Cantilever, cant: CantileverSection, magnet: Magnet,
                         b0: float) -> Cantilever:
    """The cantilever stiffened by the magnetic spring of its tip magnet (optional term).

    Only when ``cantilever.effective_length`` is set (a magnet on the cantilever): the
    moment |m| of the tip along the applied field B0 z adds
    dk = (|m| B / L_e^2) B_K / (B + B_K), B = B0 sign(m_z) (Stipe et al., PRL 86, 2874
    (2001), Eq. 2; :func:`mrfm.physics.cantilever.magnetic_spring_constant`); k -> k + dk
    and f0 -> f0 sqrt(1 + dk/k), the quality factors unchanged (their shift, dk/2k, is
    neglected). Otherwise the cantilever is returned unchanged.
    """
    from mrfm.physics.cantilever import magnetic_spring_constant

    if cant.effective_length is None:
        return cantilever
    m = magnet.moment
    b = float(b0) * (1.0 if m[2] >= 0.0 else -1.0)
    bk = math.inf if cant.tip_anisotropy_field is None else cant.tip_anisotropy_field
    try:
        dk = magnetic_spring_constant(float(np.linalg.norm(m)), b, cant.effective_length, bk)
        return cantilever.stiffened(dk)
    except ValueError as exc:
        raise ConfigError(f"cantilever.effective_length: magnetic spring: {exc}") from None


def build_stage(stage_s: StageSection, cant: CantileverSection | None = None) -> Stage:
    """The cryostat stage (temperature, pressure, piezo range; the cantilever's thickness,
    density and f0 for gas damping when ``cant`` gives them)."""
    from mrfm.physics import Stage

    extra: dict[str, float] = {}
    for key in ("piezo_range_300K", "loop_length", "temperature_rate", "residual_drift"):
        if getattr(stage_s, key) is not None:
            extra[key] = getattr(stage_s, key)
    if cant is not None:
        if cant.thickness is not None:
            extra["cantilever_thickness"] = cant.thickness
        if cant.density is not None:
            extra["cantilever_density"] = cant.density
        if cant.f0 is not None:
            extra["cantilever_f0"] = cant.f0
    try:
        return Stage(temperature=stage_s.temperature, pressure=stage_s.pressure, **extra)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"stage: {exc}") from None


def build_magnet(m: MagnetSection) -> Magnet:
    """The tip magnet (sphere, cuboid or cylinder), centred at the origin."""
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


def _voxel(value: object) -> np.ndarray:
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


def _merge_species(samples: list[Sample]) -> Sample:
    """One Sample holding the densities/points of several single-species samples."""
    first = samples[0]
    densities: dict[str, np.ndarray] = {}
    points: dict[str, np.ndarray] = {}
    for s in samples:
        densities.update(s.densities)
        points.update(s.points)
    return dataclasses.replace(first, densities=densities, points=points)


def build_sample(s: SampleSection) -> Sample:
    """The sample: spin densities on a voxel grid, or point spins."""
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
    given = {"size": s.size, "thickness": s.thickness, "radius": s.radius, "length": s.length,
             "layers": s.layers, "positions": s.positions, "file": s.file}
    for key in needs:
        _require(given[key], f"sample.{key}", f"needed for a {s.shape} sample")
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


def _positions(raw: object) -> np.ndarray:
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


def _layers(raw: object) -> list[tuple[float, float, str]]:
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


__all__ = ["Magnet", "build_cantilever", "build_magnet", "build_sample", "build_stage",
           "with_magnetic_spring"]
