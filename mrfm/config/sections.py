"""The sections of the experiment file (API.md "Experiment file"), as validated dataclasses.

Each dataclass lists its keys with a :func:`~mrfm.config.schema.spec`: kind,
physical dimension and allowed range. Informative keys that the catalogue
carries (``source``, ``material``, ...) are accepted and kept as metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

from mrfm.config.schema import TomlValue, spec
from mrfm.config.schema import quantity as _q

PROTOCOLS = ("CAI", "OSCAR", "iOSCAR", "CERMIT", "force-gradient")
SHAPES = ("sphere", "cuboid", "cylinder")
SAMPLE_SHAPES = ("slab", "sphere", "cylinder", "film", "points", "file")

#: The sections every experiment has (each may be empty or a catalogue name).
CORE_SECTIONS = ("cantilever", "stage", "magnet", "field", "rf", "sample", "protocol", "scan")
#: The optional sections, each parsed into the :class:`~mrfm.config.Experiment` attribute of
#: the same name (settings classes in mrfm.config.timeseries, .plan, .dataset, .reconstruction).
OPTIONAL_SECTIONS = ("timeseries", "plan", "dataset", "reconstruction")
#: Every key allowed at the top level of an experiment file.
TOP_LEVEL_KEYS = ("name", "description", *CORE_SECTIONS, *OPTIONAL_SECTIONS)

#: A TOML value not yet validated (the builder of the physics object checks it).
RawValue: TypeAlias = "TomlValue | None"


def _text(default: str = "") -> str:
    """A free-text field (kept as metadata)."""
    return field(default=default, metadata=spec("str"))


@dataclass(frozen=True)
class CantileverSection:
    """``[cantilever]``: the oscillator (k, f0, Q) and its peak amplitude x_pk along x."""

    k: float | None = _q("spring_constant", min=0, min_exclusive=True, max=1e3,
                          doc="spring constant")
    f0: float | None = _q("frequency", min=0, min_exclusive=True, max=1e9,
                          doc="resonance frequency")
    Q: float | None = _q("dimensionless", min=0.5, max=1e9, doc="quality factor")
    amplitude: float = _q("length", 0.0, min=0, max=1e-4, doc="peak amplitude x_pk")
    thickness: float | None = _q("length", min=0, min_exclusive=True, max=1e-2)
    width: float | None = _q("length", min=0, min_exclusive=True, max=1e-2)
    length: float | None = _q("length", min=0, min_exclusive=True, max=1e-1)
    density: float | None = _q("mass_density", min=0, min_exclusive=True, max=1e5,
                               doc="material density, for gas damping (default Si)")
    Q_tip: float | None = _q("dimensionless", min=0.5, max=1e12,
                             doc="Q of the dissipation in the tip magnet alone")
    Q_noncontact: float | None = _q("dimensionless", min=0.5, max=1e12,
                                    doc="non-contact-friction Q at noncontact_gap")
    noncontact_gap: float | None = _q("length", min=0, min_exclusive=True, max=1e-3,
                                      doc="tip-sample gap at which Q_noncontact was measured")
    noncontact_exponent: float = _q("dimensionless", 2.0, min=0, max=10,
                                    doc="n in Gamma(d) ~ d^-n (Stipe et al. 2001)")
    effective_length: float | None = _q(
        "length", min=0, min_exclusive=True, max=1e-1,
        doc="L_e of the tip's rotation; set it to add the magnetic spring of a tip magnet "
            "on the cantilever in B0 (Stipe et al., PRL 86, 2874 (2001))")
    tip_anisotropy_field: float | None = _q(
        "magnetic_field", min=0, min_exclusive=True, max=100.0,
        doc="anisotropy field B_K of the tip for the magnetic spring (default: rigid moment)")
    temperature_measured: float | None = _q("temperature", min=0, min_exclusive=True, max=1e3)
    material: str = _text()
    source: str = _text()
    notes: str = _text()


@dataclass(frozen=True)
class StageSection:
    """``[stage]``: the cryostat (temperature, vacuum) and the scan piezos."""

    temperature: float = _q("temperature", 4.2, min=0, min_exclusive=True, max=1000.0)
    pressure: float = _q("pressure", 1e-5, min=0, max=2e5)
    piezo_range_300K: float | None = _q("length", min=0, min_exclusive=True, max=1e-2)
    # the drift law (Stage.drift_rate); None: the Stage defaults
    loop_length: float | None = _q("length", min=0, min_exclusive=True, max=10.0)
    temperature_rate: float | None = _q("temperature_rate", min=0, max=1.0)
    residual_drift: float | None = _q("velocity", min=0, max=1e-3)
    source: str = _text()
    notes: str = _text()


@dataclass(frozen=True)
class MagnetSection:
    """``[magnet]``: the tip magnet's shape, size and polarization J = mu0 M."""

    shape: str | None = field(default=None, metadata=spec("choice", choices=SHAPES))
    radius: float | None = _q("length", min=0, min_exclusive=True, max=1e-3)
    dimension: tuple[float, float, float] | None = field(
        default=None,
        metadata=spec("vector", dimension="length", length=3, min=0, min_exclusive=True, max=1e-3),
    )
    diameter: float | None = _q("length", min=0, min_exclusive=True, max=1e-3)
    height: float | None = _q("length", min=0, min_exclusive=True, max=1e-3)
    polarization: tuple[float, float, float] | None = field(
        default=None,
        metadata=spec("quantity_or_vector", dimension="magnetic_field", min=0, max=5.0),
    )
    gradient_reported: float | None = _q("field_gradient", min=0)
    spacing_reported: float | None = _q("length", min=0)
    material: str = _text()
    source: str = _text()
    notes: str = _text()


@dataclass(frozen=True)
class FieldSection:
    """``[field]``: the applied field B0 along +z."""

    B0: float = _q("magnetic_field", 0.0, min=-30.0, max=30.0, doc="applied field along +z")


@dataclass(frozen=True)
class RFSection:
    """``[rf]``: the RF/microwave irradiation and its frequency modulation (field units)."""

    frequency: float = _q("frequency", 0.0, min=0, max=1e12)
    B1: float = _q("magnetic_field", 0.0, min=0, max=1.0)
    fm_depth: float = _q("magnetic_field", 0.0, min=0, max=10.0,
                         doc="frequency-modulation depth in field units")


@dataclass(frozen=True)
class SampleSection:
    """``[sample]``: spin species, shape and density on a voxel grid."""

    species: tuple[str, ...] = field(default=("1H",), metadata=spec("str_list"))
    shape: str = field(default="slab", metadata=spec("choice", choices=SAMPLE_SHAPES))
    thickness: float | None = _q("length", min=0, min_exclusive=True, max=1e-3)
    size: tuple[float, ...] | None = field(
        default=None,
        metadata=spec("vector", dimension="length", length=2, min=0, min_exclusive=True, max=1e-3),
    )
    density: RawValue = field(default=None, metadata=spec("raw"))
    voxel: RawValue = field(default=None, metadata=spec("raw"))
    radius: float | None = _q("length", min=0, min_exclusive=True, max=1e-3)
    length: float | None = _q("length", min=0, min_exclusive=True, max=1e-3)
    axis: str = field(default="x", metadata=spec("choice", choices=("x", "y")))
    center: tuple[float, ...] | None = field(
        default=None, metadata=spec("vector", dimension="length", length=3, min=-1e-3, max=1e-3)
    )
    layers: RawValue = field(default=None, metadata=spec("raw"))
    positions: RawValue = field(default=None, metadata=spec("raw"))
    file: str | None = field(default=None, metadata=spec("str"))
    dataset: str | None = field(default=None, metadata=spec("str"))
    origin: tuple[float, ...] | None = field(
        default=None, metadata=spec("vector", dimension="length", length=3, min=-1e-3, max=1e-3)
    )
    source: str = _text()
    notes: str = _text()


@dataclass(frozen=True)
class Protocol:
    """``[protocol]``: the detection protocol and how the spins are polarized.

    Attributes
    ----------
    name : str
        CAI | OSCAR | iOSCAR | CERMIT | force-gradient.
    polarization : str
        "curie" (thermal mean moment) or "statistical" (random net moment, variance).
    high_field : bool
        Use |B| ~ B0 + B_z instead of the exact |B0 z + B_tip|.
    cermit_mode : str
        "saturate" (Delta mu_z = -mu_z) or "invert" (Delta mu_z = -2 mu_z).
    T1rho : float
        Rotating-frame relaxation time, s (limits spin locking in OSCAR).
    bandwidth : float
        Detection bandwidth, Hz (sets the thermal force noise in the protocol).
    tau_m : float or None
        Correlation time of statistical polarization, s.
    slice_profile : str
        "auto" (CAI: "fundamental", other protocols: "hard"), "fundamental" (CAI's lock-in
        weight (4/pi) sqrt(1 - (dB/fm_depth)^2)), "hard" (|dB| < fm_depth counts fully) or
        "cos2" (weight cos^2(pi dB / 2 fm_depth), the profile of the Marohn group's mrfmsim).
    adiabatic : str
        "landau-zener" (each voxel's signal carries its Landau-Zener inversion efficiency)
        or "ideal" (every passage inverts, as most published estimates assume).
    """

    name: str = field(default="CAI", metadata=spec("choice", choices=PROTOCOLS))
    polarization: str = field(
        default="curie", metadata=spec("choice", choices=("curie", "statistical"))
    )
    high_field: bool = field(default=False, metadata=spec("bool"))
    cermit_mode: str = field(
        default="saturate", metadata=spec("choice", choices=("saturate", "invert"))
    )
    T1rho: float = _q("time", 1.0, min=0, min_exclusive=True, max=1e6)
    bandwidth: float = _q("frequency", 1.0, min=0, min_exclusive=True, max=1e6)
    tau_m: float | None = _q("time", min=0, min_exclusive=True, max=1e6)
    slice_profile: str = field(
        default="auto", metadata=spec("choice", choices=("auto", "fundamental", "hard", "cos2"),
                                      doc="resonant-slice weighting across fm_depth"))
    adiabatic: str = field(
        default="landau-zener", metadata=spec("choice", choices=("landau-zener", "ideal"),
                                              doc="inversion efficiency of the passages"))


@dataclass(frozen=True)
class RF:
    """RF irradiation: frequency (Hz), B1 (T), frequency-modulation depth in field units (T)."""

    frequency: float
    B1: float
    fm_depth: float


@dataclass(frozen=True)
class ScanSection:
    """``[scan]``: the tip-position grid; each axis a value or [start, stop, count]."""

    x: np.ndarray = field(
        default_factory=lambda: np.zeros(1),
        metadata=spec("axis", dimension="length", min=-1e-2, max=1e-2, max_count=4096),
    )
    y: np.ndarray = field(
        default_factory=lambda: np.zeros(1),
        metadata=spec("axis", dimension="length", min=-1e-2, max=1e-2, max_count=4096),
    )
    height: np.ndarray | None = field(
        default=None,
        metadata=spec("axis", dimension="length", min=0, min_exclusive=True, max=1e-3,
                      max_count=1024, doc="gap between the sample surface and the magnet"),
    )


@dataclass(frozen=True)
class ScanGrid:
    """Tip positions: 1-D axes x, y (m) and tip heights above the surface (m)."""

    x: np.ndarray
    y: np.ndarray
    height: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """(nx, ny, nz)."""
        return (self.x.size, self.y.size, self.height.size)

    def points(self) -> np.ndarray:
        """All tip positions as an array of shape (nx, ny, nz, 3): (x, y, height), m."""
        gx, gy, gz = np.meshgrid(self.x, self.y, self.height, indexing="ij")
        return np.stack([gx, gy, gz], axis=-1)
