"""The ``[dataset]`` section: how ``mrfm dataset`` draws its items (read by :mod:`mrfm.imaging`).

Also the phantom kinds and :class:`PhantomRanges`, the parameter ranges the
phantom generator (:mod:`mrfm.imaging.phantoms`) draws from.

Example
-------
.. code-block:: toml

    [dataset]
    phantoms = ["rods", "blobs"]        # drawn per item with `weights`
    weights = [0.7, 0.3]
    grid = [24, 24, 6]                  # object voxels (nx, ny, nz); voxel = sample.voxel
    density = ["4e28 m^-3", "6e28 m^-3"]
    count = [1, 3]
    seed = 2009
    [dataset.vary]                      # experiment keys drawn uniformly per item
    "scan.height" = ["20 nm", "30 nm"]
    "cantilever.Q" = [1e4, 3e4]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mrfm.config.schema import parse_section, spec, suggest
from mrfm.config.sections import TOP_LEVEL_KEYS
from mrfm.units import parse_si

#: Phantom kinds drawn by :func:`mrfm.imaging.phantoms.make_phantom`.
PHANTOM_KINDS = ("rods", "film", "defects", "blobs", "file")


def _range(
    dimension: str, default: tuple[float, float], *, low: float, high: float
) -> tuple[float, float]:
    """A (low, high) pair of quantities of ``dimension``, each within [low, high]."""
    return field(default=default, metadata=spec("vector", dimension=dimension, length=2,
                                                min=low, max=high))


@dataclass(frozen=True)
class PhantomRanges:
    """Ranges ``(low, high)`` from which phantom parameters are drawn uniformly (SI).

    Attributes
    ----------
    density : (float, float)
        Spin density of a feature, m^-3.
    count : (int, int)
        Number of features (rods, blobs, defects, layers), inclusive.
    rod_radius, rod_length, blob_radius, layer_thickness : (float, float)
        Sizes, m.
    substrate_density : float
        Density of an adsorbed layer one voxel thick on the substrate (rods only), m^-3.
    files : tuple of str
        ``.npy`` files for kind ``file`` (one is drawn per item).
    """

    density: tuple[float, float] = (4e28, 6e28)
    count: tuple[int, int] = (1, 3)
    rod_radius: tuple[float, float] = (9e-9, 9e-9)
    rod_length: tuple[float, float] = (40e-9, 300e-9)
    blob_radius: tuple[float, float] = (3e-9, 10e-9)
    layer_thickness: tuple[float, float] = (2e-9, 10e-9)
    substrate_density: float = 0.0
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetSettings:
    """Phantom distribution, parameter ranges, noise and seed of a synthetic dataset (SI).

    Attributes
    ----------
    phantoms : tuple of str
        Phantom kinds (``rods``, ``film``, ``defects``, ``blobs``, ``file``).
    weights : tuple of float or None
        Relative probabilities of ``phantoms`` (default: equal).
    grid : tuple of 3 int
        Object voxels (nx, ny, nz); the voxel edge is the experiment's ``sample.voxel``.
    heights : int or None
        Tip heights per item (step = voxel depth, from ``scan.height``); default nz.
    margin : int
        Extra tip positions on each lateral side of the object.
    density, count, rod_radius, rod_length, blob_radius, layer_thickness : (low, high)
        Phantom parameter ranges (m^-3, count, m).
    substrate_density : float
        Adsorbed layer on the substrate under rods, m^-3.
    files : tuple of str
        ``.npy`` densities for phantom ``file`` (relative to the experiment file).
    vary : dict
        Dotted experiment keys -> (low, high) in SI, drawn uniformly per item.
    forward : str
        ``convolution`` (FFT with the experiment's point-spread function; exact for the
        aligned grid) or ``solver`` (``mrfm.solver.simulate`` on the phantom).
    snr : float or None
        If set, white noise of standard deviation peak/snr replaces the physical noise.
    lockin_order : int
        Lock-in low-pass order; its time constant gives ENBW = ``protocol.bandwidth``.
    dwell : float or None
        Time per scan point, s (default 5 lock-in time constants).
    drift_rate : float or None
        Tip-sample drift speed, m/s; default (None): the experiment's stage law,
        :attr:`mrfm.physics.Stage.drift_rate` (thermal expansion under the stage's
        temperature fluctuation plus its residual creep); 0 turns drift off.
    spin_noise : bool
        Include statistical spin noise.
    seed : int
        Seed of the set; item ``i`` uses ``SeedSequence(seed, spawn_key=(i,))``.
    """

    phantoms: tuple[str, ...] = field(default=("rods",), metadata=spec("str_list"))
    weights: tuple[float, ...] | None = field(
        default=None, metadata=spec("quantity_list", min=0.0)
    )
    grid: tuple[int, int, int] = field(default=(24, 24, 6), metadata=spec("raw"))
    heights: int | None = field(default=None, metadata=spec("int", min=1, max=1024))
    margin: int = field(default=0, metadata=spec("int", min=0, max=1024))
    density: tuple[float, float] = _range("number_density", (4e28, 6e28), low=0.0, high=1e31)
    count: tuple[int, int] = field(default=(1, 3), metadata=spec("raw"))
    rod_radius: tuple[float, float] = _range("length", (9e-9, 9e-9), low=0.0, high=1e-5)
    rod_length: tuple[float, float] = _range("length", (40e-9, 300e-9), low=0.0, high=1e-4)
    blob_radius: tuple[float, float] = _range("length", (3e-9, 10e-9), low=0.0, high=1e-5)
    layer_thickness: tuple[float, float] = _range("length", (2e-9, 10e-9), low=0.0, high=1e-5)
    substrate_density: float = field(
        default=0.0, metadata=spec("quantity", dimension="number_density", min=0.0, max=1e31)
    )
    files: tuple[str, ...] = field(default=(), metadata=spec("str_list"))
    vary: Mapping[str, tuple[float, float]] = field(default_factory=dict, metadata=spec("raw"))
    forward: str = field(
        default="convolution", metadata=spec("choice", choices=("convolution", "solver"))
    )
    snr: float | None = field(
        default=None, metadata=spec("quantity", min=0.0, min_exclusive=True, max=1e12)
    )
    lockin_order: int = field(default=2, metadata=spec("int", min=1, max=4))
    dwell: float | None = field(
        default=None, metadata=spec("quantity", dimension="time", min=0.0, min_exclusive=True)
    )
    drift_rate: float | None = field(
        default=None, metadata=spec("quantity", dimension="velocity", min=0.0, max=1e-3)
    )
    spin_noise: bool = field(default=True, metadata=spec("bool"))
    seed: int = field(default=0, metadata=spec("int", min=0, max=2**63 - 1))

    def __post_init__(self) -> None:
        for kind in self.phantoms:
            if kind not in PHANTOM_KINDS:
                raise ValueError(
                    f"phantoms: unknown phantom type {kind!r}{suggest(kind, PHANTOM_KINDS)}; "
                    f"known: {', '.join(PHANTOM_KINDS)}"
                )
        if self.weights is not None:
            if len(self.weights) != len(self.phantoms):
                raise ValueError(
                    f"weights: {len(self.weights)} weights for {len(self.phantoms)} phantoms"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights: at least one weight must be > 0")
        grid: object = self.grid
        if (not isinstance(grid, (list, tuple)) or len(grid) != 3
                or not all(isinstance(n, int) and not isinstance(n, bool) for n in grid)
                or min(grid) < 1 or max(grid) > 4096):
            raise ValueError(f"grid: expected three voxel counts in [1, 4096], got {grid!r}")
        object.__setattr__(self, "grid", tuple(int(n) for n in grid))
        count: object = self.count
        if (not isinstance(count, (list, tuple)) or len(count) != 2
                or not all(isinstance(n, int) and not isinstance(n, bool) for n in count)):
            raise ValueError(f"count: expected [low, high] integers, got {count!r}")
        object.__setattr__(self, "count", (int(count[0]), int(count[1])))
        ranges = {"density": self.density, "count": self.count, "rod_radius": self.rod_radius,
                  "rod_length": self.rod_length, "blob_radius": self.blob_radius,
                  "layer_thickness": self.layer_thickness}
        for name, (lo, hi) in ranges.items():
            if lo > hi:
                raise ValueError(f"{name}: impossible range, low {lo:g} > high {hi:g}")
        if self.count[0] < 0:
            raise ValueError(f"count: low {self.count[0]} must be >= 0")
        if "file" in self.phantoms and not self.files:
            raise ValueError("files: phantom 'file' needs files = [\"density.npy\", ...]")
        object.__setattr__(self, "vary", _parse_vary(self.vary))

    @classmethod
    def from_config(cls, table: object, path: str = "dataset") -> DatasetSettings:
        """Validate the ``[dataset]`` table into settings."""
        return parse_section(cls, table, path)

    @property
    def ranges(self) -> PhantomRanges:
        """The phantom parameter ranges."""
        return PhantomRanges(
            density=self.density, count=self.count, rod_radius=self.rod_radius,
            rod_length=self.rod_length, blob_radius=self.blob_radius,
            layer_thickness=self.layer_thickness, substrate_density=self.substrate_density,
            files=self.files,
        )

    def probabilities(self) -> list[float]:
        """Normalized probabilities of the phantom kinds."""
        w = list(self.weights) if self.weights is not None else [1.0] * len(self.phantoms)
        total = float(sum(w))
        return [x / total for x in w]


def _si(value: object, where: str) -> float:
    """A number or a unit string, in SI base units (any dimension)."""
    return parse_si(value, where)[0]


def _parse_vary(table: object) -> dict[str, tuple[float, float]]:
    if isinstance(table, dict) and all(
        isinstance(v, tuple) and len(v) == 2 and all(isinstance(x, float) for x in v)
        for v in table.values()
    ):
        return dict(table)
    if not isinstance(table, Mapping):
        raise ValueError(f"vary: expected a table of \"section.key\" = [low, high], got {table!r}")
    out: dict[str, tuple[float, float]] = {}
    for key, bounds in table.items():
        where = f"vary.{key}"
        if not isinstance(key, str) or "." not in key or key.split(".")[0] not in TOP_LEVEL_KEYS:
            raise ValueError(f"{where}: expected a dotted experiment key such as scan.height")
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ValueError(f"{where}: expected [low, high], got {bounds!r}")
        lo, hi = _si(bounds[0], where), _si(bounds[1], where)
        if lo > hi:
            raise ValueError(f"{where}: impossible range, low {bounds[0]!r} > high {bounds[1]!r}")
        out[key] = (lo, hi)
    return out


__all__ = ["PHANTOM_KINDS", "DatasetSettings", "PhantomRanges"]
